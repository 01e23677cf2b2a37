/**
 * The optimizer base, as torch.optim.Optimizer: parameter groups with their own options,
 * per-parameter state, zeroGrad and step. Updates run without recording a graph and write
 * into the parameters' memory, so modules keep their tensors.
 * @module
 */
import { noGrad } from '../autograd/grad_mode.js';
import { ArgumentError, DisposedError } from '../errors.js';
import { copyInto } from '../ops/copy.js';
import { optimizerStep, zeroStateLike, type OptimizerStepEntry, type OptimizerStepSettings } from '../ops/optimizer_step.js';
import { emptyLike } from '../tensor/creation.js';
import { keep } from '../tensor/memory.js';
import { describe } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';

/** A group of parameters with its own options (lr, weight decay, ...). */
export interface ParamGroup<O> {
  params: Array<Tensor<'float32'>>;
  options: O;
}

/** Parameters, or groups `{ params, ...options }` overriding the defaults. */
export type ParamsArgument<O> = Iterable<Tensor<'float32'>> | Array<{ params: Iterable<Tensor<'float32'>> } & Partial<O>>;

/**
 * What a subclass computes for one parameter's step: the fused kernel's settings and the
 * names of the state tensors in its three slots (null: unused). @internal
 */
export interface FusedUpdate {
  step: OptimizerStepSettings;
  slots: readonly [string | null, string | null, string | null];
}

/** Settings of a step before a subclass fills in its own. @internal */
export function baseStep(kind: OptimizerStepSettings['kind'], lr: number, weightDecay: number): OptimizerStepSettings {
  return {
    kind, lr, weightDecay, decoupledWeightDecay: false, momentum: 0, dampening: 0, nesterov: false, firstStep: false,
    beta1: 0, beta2: 0, biasCorrection1: 1, biasCorrection2Sqrt: 1, alpha: 0, centered: false, eps: 0,
  };
}

/** Every element in one gap-free block (contiguous, channels-last, ...): the fused kernels walk it flat. @internal */
export function isDense(t: Tensor): boolean {
  const dims = t.shape.map((size, d) => ({ size, stride: t.strides[d]! })).filter((d) => d.size !== 1);
  dims.sort((a, b) => a.stride - b.stride);
  let expected = 1;
  for (const d of dims) {
    if (d.stride !== expected) return false;
    expected *= d.size;
  }
  return true;
}

function sameLayout(a: Tensor, b: Tensor): boolean {
  return a.shape.every((size, d) => size === 1 || a.strides[d] === b.strides[d]);
}

/** One hyper-parameter check: its name, its value, whether it passes, and what was expected. @internal */
export type OptionCheck = readonly [name: string, value: unknown, ok: boolean, expected: string];

/** A number >= 0 (torch.optim's "Invalid ... value" checks). @internal */
export function nonNegative(value: unknown): boolean {
  return typeof value === 'number' && value >= 0;
}

/**
 * Base class of the optimizers, as torch.optim.Optimizer: parameter groups, each with its
 * options `O` (defaults from the subclass, overridable per group), per-parameter state,
 * `zeroGrad()`, `step()` and state dicts. Subclasses describe one parameter's fused update.
 */
export abstract class Optimizer<O extends { lr: number }> {
  /** The parameter groups with their options, as torch's `param_groups` (schedulers change `options.lr`). */
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
    for (const p of groups.flatMap((g) => g.params)) {
      if (p.dtype !== 'float32' || !isDense(p)) {
        throw new ArgumentError(`${this.constructor.name}: parameters must be dense float32 tensors (got ${p.dtype} [${p.shape.join(', ')}] with strides [${p.strides.join(', ')}])`);
      }
    }
    this.paramGroups = groups;
  }

  /**
   * Throws ArgumentError naming the option (and the group, when there are several) for the
   * first check that fails in any group, as torch.optim's constructors raise ValueError.
   * Subclasses call it from their constructors with their own rules.
   */
  protected checkOptions(rules: (options: O) => readonly OptionCheck[]): void {
    this.paramGroups.forEach((group, i) => {
      for (const [name, value, ok, expected] of rules(group.options)) {
        if (!ok) {
          const where = this.paramGroups.length > 1 ? ` in parameter group ${i}` : '';
          throw new ArgumentError(`${this.constructor.name}: expected ${name} ${expected}${where}, got ${describe(value)}`);
        }
      }
    });
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

  /**
   * Applies one update from the current gradients (parameters without grad are skipped):
   * one fused kernel (lib/ops/optimizer_step.ts) per device and setting, writing parameters
   * and state in place.
   * A disposed parameter throws DisposedError naming it (index within its group) before
   * anything is updated.
   */
  step(): void {
    noGrad(() => {
      // Parameters whose updates share a device and settings go in one fused call; there are
      // few such batches (one per group, usually), found by comparing the settings' numbers.
      const batches: Array<{ device: string; step: OptimizerStepSettings; entries: OptimizerStepEntry[] }> = [];
      const temporaries: Tensor[] = [];
      this.paramGroups.forEach((group, g) => group.params.forEach((p, i) => {
        // Checked before anything is queued: skipping it would silently stop training that parameter.
        if (p.isDisposed) {
          throw new DisposedError(`${this.constructor.name}.step: parameter ${i} of parameter group ${g} (shape [${p.shape.join(', ')}]) has been disposed`);
        }
      }));
      for (const group of this.paramGroups) {
        for (const p of group.params) {
          if (p.grad === null) continue;
          const state = this.state.get(p) ?? {};
          this.state.set(p, state);
          const { step, slots } = this.fusedUpdate(state, group.options);
          let grad = p.grad;
          if (!sameLayout(grad, p)) {
            grad = emptyLike('optimizer.step', p, p.shape, 'float32');
            copyInto(grad, p.grad);
            temporaries.push(grad);
          }
          const slot = (name: string | null) => (name === null ? null : this.#stateTensor(p, state, name));
          let batch = batches.find((b) => b.device === p.device && sameSettings(b.step, step));
          if (batch === undefined) {
            batch = { device: p.device, step, entries: [] };
            batches.push(batch);
          }
          batch.entries.push({ param: p, grad, slots: [slot(slots[0]), slot(slots[1]), slot(slots[2])] });
        }
      }
      for (const { step, entries } of batches) optimizerStep(step, entries);
      // The queued kernel holds its own references, so these may go now.
      for (const t of temporaries) t.dispose();
    });
  }

  /** The settings of `param`'s fused update; may advance counters in `state` (e.g. Adam's step). */
  protected abstract fusedUpdate(state: Record<string, Tensor | number>, options: O): FusedUpdate;

  /** The state tensor `name` of `p`, created as zeros with `p`'s layout on first use. */
  #stateTensor(p: Tensor, state: Record<string, Tensor | number>, name: string): Tensor {
    const existing = state[name];
    if (typeof existing === 'object') return existing;
    const created = keep(zeroStateLike(p));
    state[name] = created;
    return created;
  }

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
    const params = this.#params();
    const count = params.length;
    if (dict.scalars.groups.length !== this.paramGroups.length) {
      throw new ArgumentError(`${this.constructor.name}.loadStateDict: ${dict.scalars.groups.length} groups saved, ${this.paramGroups.length} here`);
    }
    for (const key of dict.tensors.keys()) {
      const index = Number(key.split('.')[1]);
      if (!(index >= 0 && index < count)) throw new ArgumentError(`${this.constructor.name}.loadStateDict: ${key} names no parameter`);
      const shape = dict.tensors.get(key)!.shape, expected = params[index]!.shape;
      if (shape.join() !== expected.join()) {
        throw new ArgumentError(`${this.constructor.name}.loadStateDict: ${key} has shape [${shape.join(', ')}], its parameter [${expected.join(', ')}]`);
      }
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
      // In the parameter's layout on its device, as the fused kernel needs.
      const restored = keep(emptyLike('optimizer.loadStateDict', p, p.shape, 'float32'));
      const moved = value.to(p.device);
      copyInto(restored, moved);
      if (moved !== value) moved.dispose();
      entries[name!] = restored;
      this.state.set(p, entries);
    }
  }

  #params(): Array<Tensor<'float32'>> {
    return this.paramGroups.flatMap((g) => g.params);
  }
}

/** Whether two updates' settings are equal, field by field (they are flat records of numbers). */
function sameSettings(a: OptimizerStepSettings, b: OptimizerStepSettings): boolean {
  for (const key in a) {
    if (a[key as keyof OptimizerStepSettings] !== b[key as keyof OptimizerStepSettings]) return false;
  }
  return true;
}
