/**
 * Gradients returned rather than accumulated, as `torch.autograd.grad`: the gradient of a
 * scalar with respect to chosen tensors, leaves or intermediate activations, leaving every
 * `.grad` alone (saliency maps and Grad-CAM need this; DESIGN §5).
 * @module
 */
import { addInFloat32 } from '../amp/autocast.js';
import { ArgumentError, DisposedError, ShapeError } from '../errors.js';
import { onesLike, zeros } from '../tensor/creation.js';
import { scope } from '../tensor/memory.js';
import { describe } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { noGrad } from './grad_mode.js';
import { topologicalOrder, type GradNode } from './graph.js';

/** Options of {@link grad}. */
export interface GradOptions {
  /** Keep the graph's saved tensors so that backward or grad can run through it again (default false). */
  retainGraph?: boolean;
}

/**
 * The gradient of the one-element tensor `output` with respect to each of `inputs`, as
 * `torch.autograd.grad(output, inputs)`. Nothing is accumulated: no `.grad` changes, not
 * even a parameter's. An input may be a leaf that requires grad or any tensor the graph
 * computed (an activation captured by a forward hook); only its place in the graph is
 * used, so it may already have been disposed (Sequential disposes its intermediates). Only
 * the part of the graph between `output` and `inputs` runs backward. An input that
 * `output` does not depend on gets zeros (torch's `allow_unused` with `materialize_grads`).
 * The graph is freed afterwards unless `retainGraph`.
 *
 * @throws ArgumentError when `output` or an input does not require grad
 * @throws ShapeError when `output` has more than one element
 * @example
 * const x = tensor([1, 2, 3], { requiresGrad: true });
 * const h = x.mul(x);
 * const [dx, dh] = grad(h.sum(), [x, h]); // [2, 4, 6] and [1, 1, 1]; x.grad stays null
 */
export function grad(output: Tensor, inputs: readonly Tensor[], options: GradOptions = {}): Array<Tensor<'float32'>> {
  const op = 'grad';
  if (!(output instanceof Tensor)) throw new ArgumentError(`${op}: expected output to be a Tensor, got ${describe(output)}`);
  if (output.isDisposed) throw new DisposedError(`${op}: output has been disposed (shape [${output.shape.join(', ')}])`);
  if (!output.requiresGrad) throw new ArgumentError(`${op}: output does not require grad (it was not computed from a tensor that does)`);
  if (output.numel !== 1) throw new ShapeError(`${op}: expected output with one element, got shape [${output.shape.join(', ')}]`);
  if (!Array.isArray(inputs)) throw new ArgumentError(`${op}: expected inputs to be an array of tensors, got ${describe(inputs)}`);
  inputs.forEach((t, i) => {
    if (!(t instanceof Tensor)) throw new ArgumentError(`${op}: expected inputs[${i}] to be a Tensor, got ${describe(t)}`);
    if (!t.requiresGrad) throw new ArgumentError(`${op}: inputs[${i}] does not require grad: give a leaf made with requiresGrad_() or a tensor computed from one`);
  });

  return noGrad(() => {
    // A wanted tensor's gradient arrives at the tensor itself for a leaf, at the node that produced it otherwise.
    const keyOf = (t: Tensor): Tensor | GradNode => t.gradFn ?? t;
    const keys = new Set(inputs.map(keyOf));
    const arrived = new Map<Tensor | GradNode, Tensor>();
    const deliver = (key: Tensor | GradNode, g: Tensor) => {
      const previous = arrived.get(key);
      arrived.set(key, previous === undefined ? g : addInFloat32(previous, g));
      if (previous !== undefined) {
        previous.dispose();
        g.dispose();
      }
    };
    const root = output.gradFn;
    if (root === null) {
      deliver(output, onesLike(output));
    } else {
      const order = topologicalOrder(root);
      // A node's backward runs only when it leads to a wanted tensor (order has consumers first).
      const leads = new Set<GradNode>();
      const wanted = (t: Tensor | null): t is Tensor => t !== null && (keys.has(keyOf(t)) || (t.gradFn !== null && leads.has(t.gradFn)));
      for (let k = order.length - 1; k >= 0; --k) if (order[k]!.inputs.some(wanted)) leads.add(order[k]!);
      deliver(root, onesLike(output));
      try {
        for (const node of order) {
          const g = arrived.get(node);
          if (g === undefined || !leads.has(node)) continue;
          const inputGrads = scope(() => node.apply(g));
          node.inputs.forEach((input, i) => {
            const ig = inputGrads[i] ?? null;
            if (ig !== null && wanted(input)) deliver(keyOf(input), ig);
            else ig?.dispose();
          });
          if (!keys.has(node)) {
            arrived.delete(node);
            g.dispose();
          }
        }
      } finally {
        if (!options.retainGraph) for (const node of order) node.release();
      }
    }
    const handedOut = new Set<Tensor | GradNode>();
    const result = inputs.map((t) => {
      const key = keyOf(t);
      const g = arrived.get(key);
      if (g === undefined) return zeros(t.shape, { device: t.device });
      // The same tensor asked for twice: each answer is the caller's to dispose.
      if (handedOut.has(key)) return g.clone();
      handedOut.add(key);
      return g;
    });
    for (const [key, g] of arrived) if (!handedOut.has(key)) g.dispose();
    return result as Array<Tensor<'float32'>>;
  });
}
