/**
 * Focal losses: RetinaNet's, as `torchvision.ops.sigmoid_focal_loss`, and the segmentation
 * one (binary with a sigmoid or multi-class with a softmax), as MONAI's `FocalLoss`.
 * @module
 */
import { ArgumentError, ShapeError } from '../errors.js';
import { sigmoid } from '../ops/unary.js';
import { checkDTypeIn, checkSameDevice, checkTensor } from '../ops/validate.js';
import { tensor } from '../tensor/creation.js';
import { scope } from '../tensor/memory.js';
import type { Tensor } from '../tensor/tensor.js';
import { binaryCrossEntropyWithLogits } from './classification.js';
import { reduce, type Reduction } from './reduction.js';
import { checkNumber, targetAsOneHot } from './segmentation_input.js';

/** Options of {@link sigmoidFocalLoss}. */
export interface SigmoidFocalLossOptions {
  /** Weight of the positive class, `1 - alpha` of the negative; a negative value turns the weighting off (default 0.25). */
  alpha?: number;
  /** Exponent of the modulating factor `(1 - p_t)` that down-weights easy examples (default 2). */
  gamma?: number;
  /** 'none' (default, as torchvision: the loss of each element), 'mean' or 'sum'. */
  reduction?: Reduction;
}

/**
 * Sigmoid focal loss of logits `inputs` against binary `targets` of the same shape (any
 * shape, float32, 1 for the positive class and 0 for the negative), as
 * `torchvision.ops.sigmoid_focal_loss`: `alpha_t * (1 - p_t)^gamma * BCE(inputs, targets)`
 * with `p = sigmoid(inputs)`, `p_t = p t + (1 - p)(1 - t)` and
 * `alpha_t = alpha t + (1 - alpha)(1 - t)` (only when `alpha >= 0`). Differentiable.
 *
 * @example
 * // RetinaNet: logits [anchors, classes] against one-hot targets, summed, over the positives.
 * const loss = sigmoidFocalLoss(logits, oneHotTargets, { reduction: 'sum' }).div(numPositives);
 */
export function sigmoidFocalLoss(inputs: Tensor, targets: Tensor, opts: SigmoidFocalLossOptions = {}): Tensor<'float32'> {
  const op = 'sigmoidFocalLoss';
  checkTensor(op, 'inputs', inputs);
  checkTensor(op, 'targets', targets);
  checkDTypeIn(op, 'inputs', inputs, ['float32']);
  checkDTypeIn(op, 'targets', targets, ['float32']);
  checkSameDevice(op, { inputs, targets });
  if (targets.shape.join(',') !== inputs.shape.join(',')) {
    throw new ShapeError(`${op}: expected targets of the shape of inputs [${inputs.shape.join(', ')}], got [${targets.shape.join(', ')}]`);
  }
  const alpha = opts.alpha ?? 0.25;
  const gamma = opts.gamma ?? 2;
  if (typeof alpha !== 'number' || Number.isNaN(alpha)) throw new ArgumentError(`${op}: expected alpha to be a number (negative: no weighting), got ${String(alpha)}`);
  if (typeof gamma !== 'number' || !Number.isFinite(gamma)) throw new ArgumentError(`${op}: expected gamma to be a finite number, got ${String(gamma)}`);
  // scope frees the temporaries now rather than at garbage collection.
  return scope(() => {
    const p = sigmoid(inputs);
    const ce = binaryCrossEntropyWithLogits(inputs, targets, { reduction: 'none' });
    const notTargets = targets.neg().add(1);
    const pT = p.mul(targets).add(p.neg().add(1).mul(notTargets));
    // x^0 is 1 with gradient 0, as torch's pow; skipping the factor gives exactly that and
    // avoids 0 * 0^-1 where p_t is 1.
    let loss: Tensor = gamma === 0 ? ce : ce.mul(pT.neg().add(1).pow(gamma));
    if (alpha >= 0) loss = targets.mul(alpha).add(notTargets.mul(1 - alpha)).mul(loss);
    // torchvision's mean of no elements is NaN (torch.mean); neocog's mean gives 0 there.
    if (opts.reduction === 'mean' && loss.numel === 0) return loss.sum().div(0) as Tensor<'float32'>;
    return reduce(op, loss, opts.reduction ?? 'none');
  });
}

/** Options of {@link focalLoss}. */
export interface FocalLossOptions {
  /** Multi-class: a softmax over the channels (default false: a sigmoid per channel, binary / multi-label). */
  softmax?: boolean;
  /** Exponent of the modulating factor `(1 - p_t)` (default 2; 0 gives cross entropy; below 1 the softmax form's gradient is unbounded where p_t saturates at 1). */
  gamma?: number;
  /**
   * Class balance in [0, 1] (default: none). Sigmoid: `α` on positives, `1 - α` on negatives.
   * Softmax: `1 - α` on class 0 (the background), `α` on the others.
   */
  alpha?: number | null;
  /** Keep channel 0 (the background); false drops its terms after the activation (default true). */
  includeBackground?: boolean;
  /** 'mean' (default) over every element `[N, C', ...spatial]`, 'sum', or 'none' (that tensor). */
  reduction?: Reduction;
}

/** `log(sigmoid(z))`, stable: `-(relu(-z) + log(1 + e^-|z|))`. */
function logSigmoid(z: Tensor): Tensor {
  return z.neg().relu().add(z.abs().neg().exp().add(1).log()).neg();
}

/**
 * Focal loss for segmentation (Lin et al.), as MONAI's `FocalLoss`, of logits `input`
 * `[N, C, ...spatial]` against int32 class indices `[N, ...spatial]` or a one-hot / binary
 * target of the input's shape. Per element, with `p_t` the probability of the true label:
 * sigmoid (default) `-α_t (1 - p_t)^γ log p_t` on every channel; softmax
 * `-α_c (1 - p_c)^γ t_c log p_c` (zero off the target class). The factor is computed as
 * MONAI's `exp(γ log(1 - p_t))` on logits, so it stays finite for any logit.
 * Differs from MONAI: with `includeBackground: false` the softmax still runs over all
 * classes (as in {@link diceLoss}; MONAI drops the background logits first), and 'sum' is
 * the plain sum (MONAI's averages over the spatial dims first). Keep
 * {@link sigmoidFocalLoss} for torchvision's RetinaNet semantics (alpha 0.25 by default).
 * Differentiable in `input`. A class index outside [0, C) rejects `data()` with an IndexError.
 *
 * @example
 * const loss = focalLoss(logits, masks, { softmax: true, gamma: 2 }); // logits [N, C, H, W], masks int32 [N, H, W]
 */
export function focalLoss(input: Tensor, target: Tensor, opts: FocalLossOptions = {}): Tensor<'float32'> {
  const op = 'focalLoss';
  const gamma = checkNumber(op, 'gamma', opts.gamma ?? 2, 0);
  const alpha = opts.alpha ?? null;
  if (alpha !== null && (typeof alpha !== 'number' || !(alpha >= 0 && alpha <= 1))) {
    throw new ArgumentError(`${op}: expected alpha to be a number in [0, 1] or null (no weighting), got ${String(alpha)}`);
  }
  return scope(() => {
    const truth = targetAsOneHot(op, input, target, { softmax: opts.softmax ?? false, includeBackground: opts.includeBackground ?? true });
    const classes = input.shape[1]!;
    let loss: Tensor;
    if (opts.softmax) {
      const logp = input.logSoftmax(1);
      loss = logp.mul(truth).neg();
      // (1 - p)^γ; γ = 0 skips it (x^0 is 1 with gradient 0, and 0^-1 would appear at p = 1).
      if (gamma !== 0) loss = loss.mul(logp.exp().neg().add(1).pow(gamma));
      if (alpha !== null) {
        const perClass = [1 - alpha, ...new Array<number>(classes - 1).fill(alpha)];
        loss = loss.mul(tensor(perClass, { dtype: 'float32', device: input.device }).reshape([1, classes, ...new Array<number>(input.ndim - 2).fill(1)]));
      }
    } else {
      loss = binaryCrossEntropyWithLogits(input, truth, { reduction: 'none' });
      // log(1 - p_t) = logsigmoid(-x (2t - 1)), as MONAI's invprobs.
      if (gamma !== 0) loss = logSigmoid(input.mul(truth.mul(2).sub(1)).neg()).mul(gamma).exp().mul(loss);
      if (alpha !== null) loss = truth.mul(2 * alpha - 1).add(1 - alpha).mul(loss);
    }
    if (opts.includeBackground === false) loss = loss.slice(1, 1);
    return reduce(op, loss, opts.reduction);
  });
}
