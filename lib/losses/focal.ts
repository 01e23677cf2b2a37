/**
 * The focal loss of RetinaNet, as `torchvision.ops.sigmoid_focal_loss`.
 * @module
 */
import { ArgumentError, ShapeError } from '../errors.js';
import { sigmoid } from '../ops/unary.js';
import { checkDTypeIn, checkSameDevice, checkTensor } from '../ops/validate.js';
import { scope } from '../tensor/memory.js';
import type { Tensor } from '../tensor/tensor.js';
import { binaryCrossEntropyWithLogits } from './classification.js';
import { reduce, type Reduction } from './reduction.js';

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
