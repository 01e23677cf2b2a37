/**
 * Explanations look at a model without changing it: they run it in eval mode with its
 * parameters frozen, and put back each module's mode, each parameter's requiresGrad and
 * `.grad` afterwards.
 * @module
 */
import type { AnyModule } from '../nn/module.js';

/**
 * Runs `fn` with `model` in eval mode (dropout off, BatchNorm running statistics) and
 * every parameter not requiring grad (so no gradient reaches a parameter and none is
 * computed for one), then restores the mode of each module, each parameter's requiresGrad
 * and `.grad` as they were, also when `fn` throws.
 */
export function withModelFrozen<T>(model: AnyModule, fn: () => T): T {
  const modes = [...model.modules()].map((m) => [m, m.training] as const);
  const params = [...model.parameters()].map((p) => [p, p.requiresGrad, p.grad] as const);
  model.eval();
  for (const [p] of params) p.requiresGrad_(false);
  try {
    return fn();
  } finally {
    for (const [m, training] of modes) m.training = training;
    for (const [p, requiresGrad, grad] of params) {
      p.requiresGrad_(requiresGrad);
      // Frozen, a parameter gets no gradient from backward; a target function could still assign one.
      if (p.grad !== grad) {
        p.grad?.dispose();
        p.grad = grad;
      }
    }
  }
}
