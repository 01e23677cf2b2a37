/**
 * The Tversky loss (MONAI's `TverskyLoss`) and the focal Tversky loss of Abraham & Khan
 * (2019), which weigh false positives and false negatives separately. Composed from
 * differentiable ops.
 * @module
 */
import { scope } from '../tensor/memory.js';
import type { Tensor } from '../tensor/tensor.js';
import { reduce, type Reduction } from './reduction.js';
import { checkNumber, overlapAxes, segmentationLossPair, type SegmentationLossInputOptions } from './segmentation_input.js';

/** Options of {@link tverskyLoss}. */
export interface TverskyLossOptions extends SegmentationLossInputOptions {
  /** Weight of the false positives (default 0.5; with beta 0.5 the loss is the soft Dice loss). */
  alpha?: number;
  /** Weight of the false negatives (default 0.5). */
  beta?: number;
  /** Added to the numerator (default 1e-5). */
  smoothNr?: number;
  /** Added to the denominator, so empty masks never divide by 0 (default 1e-5). */
  smoothDr?: number;
  /** One index per class over the whole batch instead of one per sample and class (default false). */
  batch?: boolean;
  /** 'mean' (default) or 'sum' over the per-(sample, class) losses, or 'none': `[N, C']` (`[C']` with batch). */
  reduction?: Reduction;
}

/** Options of {@link focalTverskyLoss}. */
export interface FocalTverskyLossOptions extends TverskyLossOptions {
  /** Exponent of each per-(sample, class) Tversky loss before the reduction (default 0.75, Abraham & Khan's 1/γ with γ = 4/3). */
  gamma?: number;
}

/** `1 - TI` per (sample, class), before reduction. */
function tverskyTerms(op: string, input: Tensor, target: Tensor, opts: TverskyLossOptions): Tensor<'float32'> {
  const alpha = checkNumber(op, 'alpha', opts.alpha ?? 0.5, 0);
  const beta = checkNumber(op, 'beta', opts.beta ?? 0.5, 0);
  const smoothNr = checkNumber(op, 'smoothNr', opts.smoothNr ?? 1e-5, 0);
  const smoothDr = checkNumber(op, 'smoothDr', opts.smoothDr ?? 1e-5, 0);
  const { probs, truth } = segmentationLossPair(op, input, target, opts);
  const axes = overlapAxes(probs.ndim, opts.batch ?? false);
  const tp = probs.mul(truth).sum(axes);
  // p (1 - t) and (1 - p) t summed: |p| - tp and |t| - tp.
  const fp = probs.sum(axes).sub(tp).mul(alpha);
  const fn = truth.sum(axes).sub(tp).mul(beta);
  return tp.add(smoothNr).div(tp.add(fp).add(fn).add(smoothDr)).neg().add(1) as Tensor<'float32'>;
}

/**
 * Tversky loss of logits (or probabilities) `input` `[N, C, ...spatial]` against int32
 * class indices `[N, ...spatial]` or a one-hot target of the input's shape, as MONAI's
 * `TverskyLoss`: per sample and class `1 - (TP + smoothNr) / (TP + α FP + β FN + smoothDr)`
 * with soft counts `TP = Σ p t`, `FP = Σ p (1 - t)`, `FN = Σ (1 - p) t`, then reduced.
 * Raise beta above alpha to punish missed foreground harder (small lesions).
 * `sigmoid` / `softmax` / `includeBackground` as {@link diceLoss}. Differentiable in `input`.
 *
 * @example
 * const loss = tverskyLoss(logits, masks, { softmax: true, alpha: 0.3, beta: 0.7 });
 */
export function tverskyLoss(input: Tensor, target: Tensor, opts: TverskyLossOptions = {}): Tensor<'float32'> {
  const op = 'tverskyLoss';
  return scope(() => reduce(op, tverskyTerms(op, input, target, opts), opts.reduction));
}

/**
 * Focal Tversky loss (Abraham & Khan, 2019): each per-(sample, class) Tversky loss of
 * {@link tverskyLoss} raised to `gamma` before the reduction, so that with `gamma < 1`
 * classes already segmented well weigh less than hard ones. Differentiable in `input`
 * (for `gamma < 1` the gradient is unbounded where a class's loss reaches 0 exactly).
 *
 * @example
 * const loss = focalTverskyLoss(logits, masks, { softmax: true, alpha: 0.3, beta: 0.7, gamma: 0.75 });
 */
export function focalTverskyLoss(input: Tensor, target: Tensor, opts: FocalTverskyLossOptions = {}): Tensor<'float32'> {
  const op = 'focalTverskyLoss';
  const gamma = checkNumber(op, 'gamma', opts.gamma ?? 0.75, 0);
  return scope(() => reduce(op, tverskyTerms(op, input, target, opts).pow(gamma), opts.reduction));
}
