/**
 * Regression losses, as torch.nn.functional: mseLoss, l1Loss, smoothL1Loss, huberLoss.
 * @module
 */
import { ArgumentError } from '../errors.js';
import { where } from '../ops/compare.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkPairedTarget, reduce, type Reduction } from './reduction.js';

function difference(op: string, input: Tensor, target: Tensor): Tensor {
  checkPairedTarget(op, input, target);
  return input.sub(target);
}

/** Mean squared error. */
export function mseLoss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor<'float32'> {
  return reduce('mseLoss', difference('mseLoss', input, target).square(), opts.reduction);
}

/** Mean absolute error. */
export function l1Loss(input: Tensor, target: Tensor, opts: { reduction?: Reduction } = {}): Tensor<'float32'> {
  return reduce('l1Loss', difference('l1Loss', input, target).abs(), opts.reduction);
}

/** Smooth L1: `0.5 d^2 / beta` where |d| < beta, else `|d| - 0.5 beta` (default beta 1). */
export function smoothL1Loss(input: Tensor, target: Tensor, opts: { reduction?: Reduction; beta?: number } = {}): Tensor<'float32'> {
  const beta = opts.beta ?? 1;
  if (!(beta >= 0)) throw new ArgumentError(`smoothL1Loss: expected beta >= 0, got ${beta}`);
  const d = difference('smoothL1Loss', input, target).abs();
  if (beta === 0) return reduce('smoothL1Loss', d, opts.reduction);
  return reduce('smoothL1Loss', where(d.lt(beta), d.square().mul(0.5 / beta), d.sub(0.5 * beta)), opts.reduction);
}

/** Huber: `0.5 d^2` where |d| < delta, else `delta (|d| - 0.5 delta)` (default delta 1). */
export function huberLoss(input: Tensor, target: Tensor, opts: { reduction?: Reduction; delta?: number } = {}): Tensor<'float32'> {
  const delta = opts.delta ?? 1;
  if (!(delta > 0)) throw new ArgumentError(`huberLoss: expected delta > 0, got ${delta}`);
  const d = difference('huberLoss', input, target).abs();
  return reduce('huberLoss', where(d.lt(delta), d.square().mul(0.5), d.sub(0.5 * delta).mul(delta)), opts.reduction);
}
