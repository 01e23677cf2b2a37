/**
 * Gradient clipping, as torch.nn.utils.clip_grad_norm_ / clip_grad_value_ (in place on
 * the parameters' .grad).
 * @module
 */
import { noGrad } from '../autograd/grad_mode.js';
import { ArgumentError } from '../errors.js';
import { clamp } from '../ops/statistics.js';
import { keep } from '../tensor/memory.js';
import type { Tensor } from '../tensor/tensor.js';

function replaceGrad(p: Tensor<'float32'>, grad: Tensor): void {
  p.grad!.dispose();
  p.grad = keep(grad) as Tensor<'float32'>;
}

/**
 * Scales all gradients together so their global L2 norm is at most `maxNorm`; returns the
 * norm before clipping (a blocking read).
 */
export function clipGradNorm(parameters: Iterable<Tensor<'float32'>>, maxNorm: number): number {
  if (!(maxNorm > 0)) throw new ArgumentError(`clipGradNorm: expected maxNorm > 0, got ${maxNorm}`);
  const withGrad = [...parameters].filter((p) => p.grad !== null);
  return noGrad(() => {
    const total = Math.sqrt(withGrad.reduce((sum, p) => sum + p.grad!.square().sum().item(), 0));
    const factor = maxNorm / (total + 1e-6);
    if (factor < 1) for (const p of withGrad) replaceGrad(p, p.grad!.mul(factor));
    return total;
  });
}

/** Clamps every gradient element into [-clipValue, clipValue]. */
export function clipGradValue(parameters: Iterable<Tensor<'float32'>>, clipValue: number): void {
  if (!(clipValue > 0)) throw new ArgumentError(`clipGradValue: expected clipValue > 0, got ${clipValue}`);
  noGrad(() => {
    for (const p of parameters) if (p.grad) replaceGrad(p, clamp(p.grad, -clipValue, clipValue));
  });
}
