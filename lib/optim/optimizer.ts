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

  /**
   * The optimizer's state: tensors keyed `state.<param index>.<name>` and a JSON-able
   * record of the numbers (step counts) and every group's options, as torch's state_dict.
   */
  stateDict(): { tensors: Map<string, Tensor>; scalars: { groups: O[]; state: Record<string, Record<string, number>> } } {
    const tensors = new Map<string, Tensor>();
    const state: Record<string, Record<string, number>> = {};
    this.#params().forEach((p, index) => {
      const entries = this.state.get(p);
      if (!entries) return;
      for (const [key, value] of Object.entries(entries)) {
        if (typeof value === 'number') (state[index] ??= {})[key] = value;
        else tensors.set(`state.${index}.${key}`, value);
      }
    });
    return { tensors, scalars: { groups: this.paramGroups.map((g) => ({ ...g.options })), state } };
  }

  /** Throws unless `dict` fits this optimizer's groups and parameters; changes nothing. */
  checkStateDict(dict: { tensors: ReadonlyMap<string, Tensor>; scalars: { groups: O[] } }): void {
    const count = this.#params().length;
    if (dict.scalars.groups.length !== this.paramGroups.length) {
      throw new ArgumentError(`${this.constructor.name}.loadStateDict: ${dict.scalars.groups.length} groups saved, ${this.paramGroups.length} here`);
    }
    for (const key of dict.tensors.keys()) {
      const index = Number(key.split('.')[1]);
      if (!(index >= 0 && index < count)) throw new ArgumentError(`${this.constructor.name}.loadStateDict: ${key} names no parameter`);
    }
  }

  /** Restores {@link stateDict} output; the parameters must be the same, in the same order. */
  loadStateDict(dict: { tensors: ReadonlyMap<string, Tensor>; scalars: { groups: O[]; state: Record<string, Record<string, number>> } }): void {
    this.checkStateDict(dict);
    const params = this.#params();
    this.paramGroups.forEach((g, i) => Object.assign(g.options, dict.scalars.groups[i]));
    for (const entries of this.state.values()) for (const v of Object.values(entries)) if (typeof v === 'object') v.dispose();
    this.state.clear();
    for (const [index, numbers] of Object.entries(dict.scalars.state)) this.state.set(params[Number(index)]!, { ...numbers });
    for (const [key, value] of dict.tensors) {
      const [, index, name] = key.split('.');
      const p = params[Number(index)]!;
      const entries = this.state.get(p) ?? {};
      entries[name!] = keep(value.to(p.device));
      this.state.set(p, entries);
    }
  }

  #params(): Array<Tensor<'float32'>> {
    return this.paramGroups.flatMap((g) => g.params);
  }

  /** Replaces a state tensor, freeing the old one. */
  protected keepState(state: Record<string, Tensor | number>, key: string, value: Tensor): Tensor {
    const previous = state[key];
    if (typeof previous === 'object') previous.dispose();
    state[key] = keep(value);
    return value;
  }
}
