/**
 * Making a module use given tensors as its parameters and buffers, rather than copying
 * their values in as loadStateDict does: how a worker thread runs a model on weights that
 * live in a SharedArrayBuffer that other threads read too (infer.WorkerPool).
 * @internal
 * @module
 */
import { KeyError, ShapeError, DTypeError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { parameter, type AnyModule } from './module.js';

/** A module's own (not its children's) parameters and buffers, by their local names. */
function ownEntries(module: AnyModule): Array<[name: string, tensor: Tensor, kind: 'parameter' | 'buffer']> {
  // A child's names are dotted ('child.weight'); the module's own never are.
  const own = <T extends Tensor>(entries: Iterable<[string, T]>): Array<[string, T]> => [...entries].filter(([name]) => !name.includes('.'));
  return [
    ...own(module.namedParameters()).map(([n, t]): [string, Tensor, 'parameter'] => [n, t, 'parameter']),
    ...own(module.namedBuffers()).map(([n, t]): [string, Tensor, 'buffer'] => [n, t, 'buffer']),
  ];
}

/**
 * @internal Replaces every parameter and buffer of `module` by the tensor of the same
 * state-dict name in `dict` (same shape and dtype), without copying: parameters become
 * `parameter(t, false)` (no gradient: the weights are for inference), buffers `t` itself.
 * The module's previous tensors are disposed. Names must match exactly; nothing changes on
 * error. Modules registered under several names are handled once.
 * @throws KeyError when a name is missing from `dict` or `dict` has names the module lacks
 * @throws ShapeError, DTypeError when a tensor differs from the one it replaces
 */
export function useWeights(root: AnyModule, dict: ReadonlyMap<string, Tensor>): void {
  const plan: Array<{ owner: AnyModule; name: string; old: Tensor; next: Tensor; kind: 'parameter' | 'buffer' }> = [];
  const seen = new Set<AnyModule>();
  const used = new Set<string>();
  for (const [prefix, owner] of root.namedModules()) {
    if (seen.has(owner)) continue;
    seen.add(owner);
    for (const [name, old, kind] of ownEntries(owner)) {
      const key = prefix ? `${prefix}.${name}` : name;
      const next = dict.get(key);
      if (!next) throw new KeyError(`useWeights: the weights have no ${key}`);
      if (next.shape.join(',') !== old.shape.join(',')) {
        throw new ShapeError(`useWeights: ${key} has shape [${next.shape.join(', ')}], the module expects [${old.shape.join(', ')}]`);
      }
      if (next.dtype !== old.dtype) throw new DTypeError(`useWeights: ${key} is ${next.dtype}, the module expects ${old.dtype}`);
      used.add(key);
      plan.push({ owner, name, old, next, kind });
    }
  }
  const unexpected = [...dict.keys()].filter((k) => !used.has(k));
  if (unexpected.length > 0) throw new KeyError(`useWeights: the module has no ${unexpected.slice(0, 5).join(', ')}${unexpected.length > 5 ? ', ...' : ''}`);
  for (const { owner, name, old, next, kind } of plan) {
    // Assigning through the module's proxy keeps its registry and its typed field in step.
    (owner as unknown as Record<string, unknown>)[name] = kind === 'parameter' ? parameter(next, false) : next;
    old.dispose();
  }
}
