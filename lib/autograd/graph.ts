/**
 * The autograd tape (DESIGN §5): each differentiable op records a node holding what its
 * backward needs; `backward()` walks the nodes in reverse topological order and
 * accumulates gradients into the leaves' `.grad`.
 * @module
 */
import { ArgumentError, DisposedError, ShapeError } from '../errors.js';
import { addInFloat32 } from '../amp/autocast.js';
import { onesLike } from '../tensor/creation.js';
import { keep, scope, trackNode } from '../tensor/memory.js';
import type { Tensor } from '../tensor/tensor.js';
import { isGradEnabled, noGrad } from './grad_mode.js';

/** Gradients for a node's inputs, in input order (null: that input gets none). */
export type BackwardFn = (grad: Tensor) => Array<Tensor | null>;

/** One recorded op. */
export class GradNode {
  #saved: Tensor[];
  #backward: BackwardFn | null;

  /** @internal */
  constructor(
    /** The op that produced the output, as shown in errors and `gradFn.name`. */
    readonly name: string,
    /** The op's tensor inputs; entries that need no gradient are null. */
    readonly inputs: ReadonlyArray<Tensor | null>,
    backward: BackwardFn,
    saved: Tensor[],
  ) {
    this.#backward = backward;
    this.#saved = saved;
  }

  /** @internal Runs the op's backward. */
  apply(grad: Tensor): Array<Tensor | null> {
    if (this.#backward === null) {
      throw new ArgumentError(
        `backward: the graph through ${this.name} was already freed by an earlier backward(); ` +
          'pass { retainGraph: true } to backward twice',
      );
    }
    return this.#backward(grad);
  }

  /** @internal Frees the tensors saved for backward. */
  release(): void {
    for (const t of this.#saved) t.dispose();
    this.#saved = [];
    this.#backward = null;
  }
}

/**
 * Holds on to `t` for a backward pass: a new handle on the same memory that no `scope`
 * disposes (the graph frees it after backward). Ops call this for what their backward reads.
 */
export function saveForBackward<T extends Tensor>(t: T): T {
  return keep(t.detach()) as T;
}

/**
 * Records `output` as computed by `name` from `inputs` when grad mode is on and any input
 * requires grad. `saved` are tensors from saveForBackward, freed with the node.
 */
export function record<T extends Tensor>(
  name: string,
  output: T,
  inputs: ReadonlyArray<Tensor | null>,
  backward: BackwardFn,
  saved: Tensor[] = [],
): T {
  const needed = inputs.map((t) => (t !== null && t.requiresGrad ? t : null));
  if (!isGradEnabled() || needed.every((t) => t === null)) {
    for (const t of saved) t.dispose();
    return output;
  }
  const node = new GradNode(name, needed, backward, saved);
  trackNode(node);
  output._setGradFn(node);
  return output;
}

/** True when record() would keep a graph for these inputs (lets ops skip saving). */
export function needsGrad(...inputs: Array<Tensor | number | null | undefined>): boolean {
  // The inputs first: reading the grad mode is an AsyncLocalStorage lookup, which every op
  // on tensors that need no grad (inference, a loop's temporaries) can skip (issue 11).
  for (const t of inputs) {
    if (typeof t === 'object' && t !== null && t.requiresGrad) return isGradEnabled();
  }
  return false;
}

/** Options of {@link backward}. */
export interface BackwardOptions {
  /** Keep the saved tensors so backward can run through the graph again. */
  retainGraph?: boolean;
}

/**
 * Computes the gradient of `root` with respect to every leaf that requires grad and adds
 * it to their `.grad`, as `tensor.backward()`. `grad` defaults to 1 for a one-element root.
 */
export function backward(root: Tensor, grad?: Tensor, options: BackwardOptions = {}): void {
  // Checked first: a disposed tensor may still carry its graph, and walking it would read freed memory.
  if (root.isDisposed) throw new DisposedError(`backward: the tensor has been disposed (shape [${root.shape.join(', ')}]); call backward() before dispose() or outside the scope that freed it`);
  if (grad?.isDisposed) throw new DisposedError(`backward: grad has been disposed (shape [${grad.shape.join(', ')}])`);
  if (!root.requiresGrad) {
    throw new ArgumentError('backward: the tensor does not require grad and has no grad_fn');
  }
  if (grad === undefined && root.numel !== 1) {
    throw new ShapeError(`backward: grad can be implicit only for one-element outputs, got shape [${root.shape.join(', ')}]`);
  }
  if (grad !== undefined && grad.shape.join(',') !== root.shape.join(',')) {
    throw new ShapeError(`backward: expected grad of shape [${root.shape.join(', ')}], got [${grad.shape.join(', ')}]`);
  }
  noGrad(() => {
    const seed = grad === undefined ? onesLike(root) : grad.detach();
    const rootNode = root.gradFn;
    if (rootNode === null) {
      accumulate(root, seed);
      for (const hook of [...(root._postAccumulateGradHooks ?? [])]) hook(root);
      return;
    }
    const order = topologicalOrder(rootNode);
    const hooked = hookedLeafUses(order);
    const pending = new Map<GradNode, Tensor>([[rootNode, seed]]);
    for (const node of order) {
      const g = pending.get(node);
      pending.delete(node);
      if (g === undefined) {
        if (hooked.size > 0) settleHookedLeaves(node, hooked);
        continue;
      }
      const inputGrads = scope(() => node.apply(g));
      g.dispose();
      node.inputs.forEach((input, i) => {
        const ig = inputGrads[i] ?? null;
        if (input === null || ig === null) {
          ig?.dispose();
          return;
        }
        if (input.gradFn === null) {
          accumulate(input, ig);
        } else {
          const previous = pending.get(input.gradFn);
          if (previous === undefined) {
            pending.set(input.gradFn, ig);
          } else {
            pending.set(input.gradFn, addInFloat32(previous, ig));
            previous.dispose();
            ig.dispose();
          }
        }
      });
      if (hooked.size > 0) settleHookedLeaves(node, hooked);
      if (!options.retainGraph) node.release();
    }
  });
}

/**
 * For each leaf with post-accumulate-grad hooks, how many edges of the graph lead into it:
 * its hooks run once the last one has been walked, when `.grad` holds the whole pass's
 * gradient (a leaf used twice receives two contributions).
 */
function hookedLeafUses(order: readonly GradNode[]): Map<Tensor, number> {
  const uses = new Map<Tensor, number>();
  for (const node of order) {
    for (const input of node.inputs) {
      if (input !== null && input.gradFn === null && input._postAccumulateGradHooks?.size) uses.set(input, (uses.get(input) ?? 0) + 1);
    }
  }
  return uses;
}

/** Counts `node`'s edges into hooked leaves as walked; runs the hooks of leaves now complete. */
function settleHookedLeaves(node: GradNode, uses: Map<Tensor, number>): void {
  for (const input of node.inputs) {
    const left = input === null ? undefined : uses.get(input);
    if (left === undefined) continue;
    if (left > 1) {
      uses.set(input!, left - 1);
      continue;
    }
    uses.delete(input!);
    if (input!.grad !== null) for (const hook of [...input!._postAccumulateGradHooks!]) hook(input!);
  }
}

/** Adds into a leaf's .grad (owned by the leaf: kept out of every scope). */
function accumulate(leaf: Tensor, g: Tensor): void {
  const grad = g.shape.join(',') === leaf.shape.join(',') ? g : g.reshape(leaf.shape);
  if (grad !== g) g.dispose();
  if (leaf.grad === null) {
    leaf.grad = keep(grad) as Tensor<'float32'>;
  } else {
    const sum = keep(leaf.grad.add(grad));
    leaf.grad.dispose();
    grad.dispose();
    leaf.grad = sum;
  }
}

/** @internal The nodes reachable from `root`, each before every node it feeds (root first). */
export function topologicalOrder(root: GradNode): GradNode[] {
  const visited = new Set<GradNode>();
  const postOrder: GradNode[] = [];
  // Iterative DFS: graphs of deep networks would overflow the call stack.
  const stack: Array<{ node: GradNode; next: number }> = [{ node: root, next: 0 }];
  visited.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const inputs = top.node.inputs;
    if (top.next < inputs.length) {
      const child = inputs[top.next++]?.gradFn;
      if (child && !visited.has(child)) {
        visited.add(child);
        stack.push({ node: child, next: 0 });
      }
    } else {
      postOrder.push(top.node);
      stack.pop();
    }
  }
  return postOrder.reverse();
}
