/**
 * Classification losses, as torch.nn.functional: crossEntropy (class indices or
 * probabilities; class weights, ignoreIndex, label smoothing; per pixel for segmentation),
 * nllLoss and binaryCrossEntropyWithLogits. Composed from differentiable ops in their
 * numerically stable forms.
 * @module
 */
import { ArgumentError, DTypeError, ShapeError } from '../errors.js';
import { crossEntropyPerPosition, type CrossEntropyPerPosition } from '../ops/cross_entropy.js';
import { gather } from '../ops/indexing.js';
import { logSoftmax } from '../ops/softmax.js';
import { checkDTypeIn, checkSameDevice, checkTensor } from '../ops/validate.js';
import { where } from '../ops/compare.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkPairedTarget, reduce, type Reduction } from './reduction.js';

/** Options of {@link nllLoss} and {@link crossEntropy}. */
export interface ClassLossOptions {
  /** Per-class weight `[C]`. */
  weight?: Tensor | null;
  /** Target value that contributes nothing (default -100). */
  ignoreIndex?: number;
  /** Default 'mean': the weighted mean over non-ignored targets, as PyTorch. */
  reduction?: Reduction;
}

/** Options of {@link crossEntropy}. */
export interface CrossEntropyOptions extends ClassLossOptions {
  /** Mix the target with the uniform distribution by this much (default 0). */
  labelSmoothing?: number;
}

/** What class-loss targets may be; float class labels are a common slip. */
const TARGET_HINT = "targets must be int32 class indices (use .to('int32')) or float probabilities of the input's shape";

/** DTypeError unless `target` holds int32 class indices, with the hint for float labels. */
function checkIndexTarget(op: string, target: Tensor, probabilities: boolean): void {
  if (target.dtype !== 'int32') {
    const hint = probabilities ? TARGET_HINT : "targets must be int32 class indices (use .to('int32'))";
    throw new DTypeError(`${op}: expected target to have dtype int32, got ${target.dtype}: ${hint}`);
  }
}

/** A `[C]` vector viewed to broadcast along dim 1 of a rank-`ndim` tensor. */
function alongClasses(v: Tensor, ndim: number): Tensor {
  return v.reshape([1, v.shape[0]!, ...new Array<number>(Math.max(ndim - 2, 0)).fill(1)]);
}

function checkClassInputs(op: string, input: Tensor, target: Tensor, weight: Tensor | null | undefined): number {
  checkTensor(op, 'input', input);
  checkTensor(op, 'target', target);
  checkDTypeIn(op, 'input', input, ['float32']);
  checkSameDevice(op, weight ? { input, target, weight } : { input, target });
  if (input.ndim < 1) throw new ShapeError(`${op}: expected input of rank >= 1 ([N, C, ...] or [C]), got a scalar`);
  const classes = input.ndim === 1 ? input.shape[0]! : input.shape[1]!;
  if (weight) {
    checkTensor(op, 'weight', weight);
    if (weight.ndim !== 1 || weight.shape[0] !== classes) {
      throw new ShapeError(`${op}: expected weight of shape [${classes}], got [${weight.shape.join(', ')}]`);
    }
  }
  return classes;
}

/**
 * Negative log-likelihood of class-index targets given log-probabilities `input`
 * `[N, C, ...]` (or `[C]`) and int32 `target` `[N, ...]` (or `[]`), as `F.nll_loss`.
 */
export function nllLoss(input: Tensor, target: Tensor, opts: ClassLossOptions = {}): Tensor<'float32'> {
  const op = 'nllLoss';
  checkClassInputs(op, input, target, opts.weight);
  checkIndexTarget(op, target, false);
  const batched = input.ndim === 1 ? input.unsqueeze(0) : input;
  const labels = input.ndim === 1 ? target.unsqueeze(0) : target;
  const expected = [batched.shape[0]!, ...batched.shape.slice(2)];
  if (labels.shape.join(',') !== expected.join(',')) {
    throw new ShapeError(`${op}: expected target of shape [${expected.join(', ')}] for input [${input.shape.join(', ')}], got [${target.shape.join(', ')}]`);
  }
  const ignoreIndex = opts.ignoreIndex ?? -100;
  const keep = labels.ne(ignoreIndex);
  // Ignored positions read class 0 and are then zeroed, so gather never sees the sentinel.
  const safe = where(keep, labels, 0);
  const picked = gather(batched, 1, safe.unsqueeze(1)).squeeze(1).neg();
  const keptWeight = opts.weight ? where(keep, gather(opts.weight, 0, safe.flatten()).reshape(safe.shape), 0) : keep.to('float32');
  const losses = picked.mul(keptWeight);
  const reduction = opts.reduction ?? 'mean';
  if (reduction === 'mean') return losses.sum().div(keptWeight.sum()) as Tensor<'float32'>;
  const result = reduce(op, losses, reduction);
  return input.ndim === 1 && reduction === 'none' ? (result.squeeze(0) as Tensor<'float32'>) : result;
}

/**
 * Cross entropy between logits `input` `[N, C, ...]` (or `[C]`) and either int32 class
 * indices `[N, ...]` or class probabilities shaped like `input`, as `F.cross_entropy`.
 * Works per pixel for segmentation (`[N, C, H, W]` logits, `[N, H, W]` targets).
 *
 * @example
 * crossEntropy(logits, labels, { labelSmoothing: 0.1, ignoreIndex: 255 })
 */
export function crossEntropy(input: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor<'float32'> {
  const op = 'crossEntropy';
  const classes = checkClassInputs(op, input, target, opts.weight);
  const smoothing = opts.labelSmoothing ?? 0;
  if (!(smoothing >= 0 && smoothing <= 1)) throw new ArgumentError(`${op}: expected labelSmoothing in [0, 1], got ${smoothing}`);
  const classDim = input.ndim === 1 ? 0 : 1;
  const reduction = opts.reduction ?? 'mean';

  if (target.dtype === 'float32') {
    // Probability targets: -sum_c w_c * q_c * log p_c, with q smoothed towards uniform.
    if (target.shape.join(',') !== input.shape.join(',')) {
      throw new ShapeError(`${op}: float targets are probabilities and must have the input's shape [${input.shape.join(', ')}], got [${target.shape.join(', ')}]: ${TARGET_HINT}`);
    }
    const logp = logSoftmax(input, classDim);
    const q = smoothing > 0 ? target.mul(1 - smoothing).add(smoothing / classes) : target;
    let terms = logp.mul(q);
    if (opts.weight) terms = terms.mul(input.ndim === 1 ? opts.weight : alongClasses(opts.weight, input.ndim));
    return reduce(op, terms.sum(classDim).neg(), reduction);
  }

  checkIndexTarget(op, target, true);
  return fusedCrossEntropy(input, target, opts.weight ?? null, opts.ignoreIndex ?? -100, smoothing, reduction);
}

/**
 * Class-index cross entropy through the fused primitive (lib/ops/cross_entropy.ts), with the
 * unbatched `[C]` form and the reduction on top.
 */
function fusedCrossEntropy(
  input: Tensor,
  target: Tensor,
  weight: Tensor | null,
  ignoreIndex: number,
  labelSmoothing: number,
  reduction: Reduction,
): Tensor<'float32'> {
  const op = 'crossEntropy';
  const logits = input.ndim === 1 ? input.unsqueeze(0) : input;
  const labels = input.ndim === 1 ? target.unsqueeze(0) : target;
  let perPosition: CrossEntropyPerPosition;
  try {
    perPosition = crossEntropyPerPosition(logits, labels, { weight, ignoreIndex, labelSmoothing });
  } finally {
    if (logits !== input) logits.dispose();
    if (labels !== target) labels.dispose();
  }
  const { losses, weights } = perPosition;
  // 'mean' is the weighted mean over kept positions, as PyTorch.
  if (reduction === 'mean') return losses.sum().div(weights.sum()) as Tensor<'float32'>;
  weights.dispose();
  const result = reduce(op, losses, reduction);
  return input.ndim === 1 && reduction === 'none' ? (result.squeeze(0) as Tensor<'float32'>) : result;
}

/** Options of {@link binaryCrossEntropyWithLogits}. */
export interface BceWithLogitsOptions {
  /** Per-element weight, broadcast against the input. */
  weight?: Tensor | null;
  /** Weight of positive examples, broadcast along the last dim (per class). */
  posWeight?: Tensor | null;
  /** 'mean' (default), 'sum' or 'none' (the per-element losses). */
  reduction?: Reduction;
}

/**
 * Binary cross entropy on logits, as `F.binary_cross_entropy_with_logits`, in the stable
 * form `(1 - t) x + (1 + (pw - 1) t) (log(1 + e^-|x|) + max(-x, 0))`.
 */
export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, opts: BceWithLogitsOptions = {}): Tensor<'float32'> {
  const op = 'binaryCrossEntropyWithLogits';
  checkPairedTarget(op, input, target);
  const softplusNeg = input.abs().neg().exp().add(1).log().add(input.neg().relu());
  let losses: Tensor;
  if (opts.posWeight) {
    const factor = opts.posWeight.sub(1).mul(target).add(1);
    losses = target.neg().add(1).mul(input).add(factor.mul(softplusNeg));
  } else {
    losses = target.neg().add(1).mul(input).add(softplusNeg);
  }
  if (opts.weight) losses = losses.mul(opts.weight);
  return reduce(op, losses, opts.reduction);
}
