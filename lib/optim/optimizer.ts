/**
 * The optimizer base, as torch.optim.Optimizer: parameter groups with their own options,
 * per-parameter state, zeroGrad and step. Updates run without recording a graph and write
 * into the parameters' memory, so modules keep their tensors.
 * @module
 */
import { noGrad } from '../autograd/grad_mode.js';
import { ArgumentError } from '../errors.js';
import { copyInto } from '../ops/copy.js';
import { keep, scope } from '../tensor/memory.js';
import type { Tensor } from '../tensor/tensor.js';

/** A group of parameters with its own options (lr, weight decay, ...). */
export interface ParamGroup<O> {
  params: Array<Tensor<'float32'>>;
  options: O;
}

/** Parameters, or groups `{ params, ...options }` overriding the defaults. */
export type ParamsArgument<O> = Iterable<Tensor<'float32'>> | Array<{ params: Iterable<Tensor<'float32'>> } & Partial<O>>;

export abstract class Optimizer<O extends { lr: number }> {
  readonly paramGroups: Array<ParamGroup<O>>;
  /** Per-parameter state (momentum buffers, moments, step counts). */
  protected readonly state = new Map<Tensor, Record<string, Tensor | number>>();

  constructor(params: ParamsArgument<O>, defaults: O) {
    const list = [...(params as Iterable<unknown>)];
    const grouped = list.length > 0 && typeof list[0] === 'object' && list[0] !== null && 'params' in (list[0] as object);
    const groups = grouped
      ? (list as Array<{ params: Iterable<Tensor<'float32'>> } & Partial<O>>).map(({ params: p, ...rest }) => ({ params: [...p], options: { ...defaults, ...rest } as O }))
      : [{ params: list as Array<Tensor<'float32'>>, options: { ...defaults } }];
    for (const group of groups) {
      if (!(group.options.lr >= 0)) throw new ArgumentError(`${this.constructor.name}: expected lr >= 0, got ${group.options.lr}`);
      if (group.params.length === 0) throw new ArgumentError(`${this.constructor.name}: a parameter group is empty`);
    }
    this.paramGroups = groups;
  }

  /** Clears every parameter's gradient. */
  zeroGrad(): void {
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        p.grad?.dispose();
        p.grad = null;
      }
    }
  }

  /** Applies one update from the current gradients (parameters without grad are skipped). */
  step(): void {
    noGrad(() => {
      for (const group of this.paramGroups) {
        for (const p of group.params) {
          if (p.grad === null) continue;
          const state = this.state.get(p) ?? {};
          this.state.set(p, state);
          // Temporaries of the update are freed by the scope; state tensors are kept.
          const updated = scope(() => this.update(p, p.grad!, state, group.options));
          copyInto(p, updated);
          updated.dispose();
        }
      }
    });
  }

  /** The new value of `param`; may update `state` (store tensors with {@link keepState}). */
  protected abstract update(param: Tensor<'float32'>, grad: Tensor<'float32'>, state: Record<string, Tensor | number>, options: O): Tensor;

  /** Replaces a state tensor, freeing the old one. */
  protected keepState(state: Record<string, Tensor | number>, key: string, value: Tensor): Tensor {
    const previous = state[key];
    if (typeof previous === 'object') previous.dispose();
    state[key] = keep(value);
    return value;
  }
}
