/**
 * Classification metrics, as torchmetrics' multiclass ones and the PyTorch reference
 * scripts compute them: top-k accuracy and the confusion matrix, per sample or per pixel
 * (segmentation). Results stay tensors on the input's device: reading them is the
 * caller's `await data()`, never a hidden blocking read.
 * @module
 */
import { noGrad } from '../autograd/grad_mode.js';
import { ArgumentError, DTypeError, ShapeError } from '../errors.js';
import { where } from '../ops/compare.js';
import { scatterAdd } from '../ops/resample.js';
import { topk } from '../ops/sort.js';
import { argmax, clamp } from '../ops/statistics.js';
import { checkSameDevice, checkTensor } from '../ops/validate.js';
import { zeros } from '../tensor/creation.js';
import { scope } from '../tensor/memory.js';
import { isFloatingPoint } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';

/** Options of {@link accuracy}. */
export interface AccuracyOptions {
  /** A sample counts as correct when its target is among the `topk` highest scores (default 1). */
  topk?: number;
}

/** True when `output` holds class scores `[N, C, ...]` for `target` `[N, ...]`, false when labels shaped like `target`. */
function checkPrediction(op: string, output: Tensor, target: Tensor): boolean {
  checkTensor(op, 'output', output);
  checkTensor(op, 'target', target);
  checkSameDevice(op, { output, target });
  if (target.dtype !== 'int32') throw new DTypeError(`${op}: expected target to have dtype int32 (class indices), got ${target.dtype}`);
  const labels = target.shape.join(', ');
  const scores = [target.shape[0] ?? '', 'C', ...target.shape.slice(1)].join(', ');
  if (output.dtype === 'int32') {
    if (output.shape.join(',') === target.shape.join(',')) return false;
    throw new ShapeError(`${op}: expected int32 output (predicted labels) of the target's shape [${labels}], got [${output.shape.join(', ')}]`);
  }
  if (!isFloatingPoint(output.dtype)) {
    throw new DTypeError(`${op}: expected output to be float class scores or int32 predicted labels, got ${output.dtype}`);
  }
  const ok = target.ndim >= 1 && output.ndim === target.ndim + 1 && [output.shape[0], ...output.shape.slice(2)].join(',') === target.shape.join(',');
  if (!ok) throw new ShapeError(`${op}: expected output scores of shape [${scores}] for target [${labels}], got [${output.shape.join(', ')}]`);
  return true;
}

/**
 * Whether each sample's target is among its `k` highest scores: float32 0/1 of shape
 * `[N, k, ...]`, where entry j along dim 1 says whether the j-th highest score is the
 * target's (so its sum over dim 1 is the top-k hit, and entry 0 the top-1 hit). `scores`
 * `[N, C, ...]`, `target` int32 `[N, ...]`, both checked; no gradient.
 * @internal
 */
export function topkHits(op: string, scores: Tensor, target: Tensor, k: number): Tensor<'float32'> {
  if (!checkPrediction(op, scores, target)) throw new DTypeError(`${op}: expected float class scores [N, C, ...], got int32 labels`);
  const classes = scores.shape[1]!;
  if (!Number.isInteger(k) || k < 1 || k > classes) throw new ArgumentError(`${op}: expected topk to be an integer in [1, ${classes}] (the number of classes), got ${k}`);
  return scope(() =>
    noGrad(() => {
      const wide = scores.dtype === 'float32' ? scores : scores.float();
      return topk(wide, k, 1).indices.eq(target.unsqueeze(1)).float();
    }),
  );
}

/**
 * The fraction of samples (or pixels) classified correctly, as torchmetrics'
 * `multiclass_accuracy(..., average='micro', top_k=k)`: a float32 scalar tensor in [0, 1]
 * (NaN for an empty batch). `output` is class scores `[N, C, ...]` (logits or
 * probabilities; any float dtype) or int32 predicted labels of `target`'s shape; `target`
 * is int32 class indices `[N, ...]`. With `topk: k` a sample counts when its target is
 * among its k highest scores (scores only).
 *
 * @example
 * const top1 = metrics.accuracy(logits, labels);
 * const top5 = metrics.accuracy(logits, labels, { topk: 5 });
 * console.log(`${(100 * (await top1.data())[0]!).toFixed(2)}%`);
 */
export function accuracy(output: Tensor, target: Tensor, opts: AccuracyOptions = {}): Tensor<'float32'> {
  const op = 'accuracy';
  const k = opts.topk ?? 1;
  const scores = checkPrediction(op, output, target);
  if (!scores) {
    if (k !== 1) throw new ArgumentError(`${op}: topk needs class scores [N, C, ...]; with predicted labels it must be 1, got ${k}`);
  }
  // Each sample hits at most once among its k distinct indices, so the sum counts samples;
  // 0 / 0 makes an empty batch NaN, as torch.mean of nothing.
  const count = target.shape.reduce((a, b) => a * b, 1);
  return scope(() => noGrad(() => (scores ? topkHits(op, output, target, k) : output.eq(target).float()).sum().div(count) as Tensor<'float32'>));
}

/**
 * The `[numClasses, numClasses]` int32 confusion matrix: entry `[t, p]` counts the samples
 * (or pixels) of target class t predicted as p, as torchmetrics'
 * `multiclass_confusion_matrix` and sklearn (rows are targets). `pred` is int32 predicted
 * labels of `target`'s shape, or class scores `[N, numClasses, ...]` (their argmax over
 * dim 1 is the prediction); `target` is int32 class indices. Pairs whose target or
 * prediction lies outside [0, numClasses) are not counted, as in torchvision's
 * segmentation reference, so a 'void' label such as VOC's 255 drops out.
 *
 * @example
 * const cm = metrics.confusionMatrix(logits, masks, 21); // VOC masks: 255 is left out
 * const pixelsPerClass = cm.sum(1); // rows sum to each target class's count
 */
export function confusionMatrix(pred: Tensor, target: Tensor, numClasses: number): Tensor<'int32'> {
  const op = 'confusionMatrix';
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new ArgumentError(`${op}: expected numClasses to be an integer >= 1, got ${numClasses}`);
  const scores = checkPrediction(op, pred, target);
  if (scores && pred.shape[1] !== numClasses) {
    throw new ShapeError(`${op}: expected scores with numClasses = ${numClasses} entries along dim 1, got [${pred.shape.join(', ')}]`);
  }
  return scope(() =>
    noGrad(() => {
      const labels = (scores ? argmax(pred, 1) : pred).flatten();
      const truth = target.flatten();
      // A value is in range when clamping leaves it unchanged. Each kept pair adds 1 at
      // its (target, prediction) cell; a dropped one adds 0 at cell 0.
      const inRange = (t: Tensor) => t.eq(clamp(t, 0, numClasses - 1)).int();
      const keep = inRange(truth).mul(inRange(labels));
      const index = where(keep.bool(), truth.mul(numClasses).add(labels), 0);
      const counts = scatterAdd(zeros([numClasses * numClasses], { dtype: 'int32', device: target.device }), 0, index, keep);
      return counts.reshape([numClasses, numClasses]);
    }),
  );
}
