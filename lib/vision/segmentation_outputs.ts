/**
 * From a segmentation network's output to a mask or a label map, as MONAI's
 * `AsDiscrete(threshold=...)` / `AsDiscrete(argmax=True)` and torchvision's segmentation
 * models (which resize their logits bilinearly to the input size before the argmax).
 * Composed of existing ops, on the input's device; nothing is read back.
 * @module
 */
import { noGrad } from '../autograd/grad_mode.js';
import { ArgumentError, ShapeError } from '../errors.js';
import { interpolate } from '../ops/resample.js';
import { checkDTypeIn, checkInRange, checkTensor, FLOAT_DTYPES } from '../ops/validate.js';
import { scope } from '../tensor/memory.js';
import type { Tensor } from '../tensor/tensor.js';

/** Resizing of scores `[N, C, *spatial]` before they are turned into a mask or labels. */
export interface ResizeScoresOptions {
  /**
   * Output spatial size, e.g. the input image's `[H, W]`: the scores are resized first,
   * bilinearly (2-D) or trilinearly (3-D), as `F.interpolate(..., align_corners=False)`
   * (torchvision's segmentation models). Default: no resizing.
   */
  size?: readonly number[];
  /** Align corner pixels' centers when resizing (default false). */
  alignCorners?: boolean;
}

/** Options of {@link thresholdMask}. */
export interface ThresholdMaskOptions extends ResizeScoresOptions {
  /** Probabilities at or above it are foreground (default 0.5, as MONAI's AsDiscrete). */
  threshold?: number;
  /**
   * The input holds logits: they are compared with `log(t / (1 - t))`, which is where
   * sigmoid reaches the threshold t, so no sigmoid is computed (default false). The threshold
   * must then lie strictly between 0 and 1.
   */
  logits?: boolean;
}

/** Float32 scores, resized to `opts.size` when it is given. */
function resized(op: string, scores: Tensor, opts: ResizeScoresOptions): Tensor {
  const x = scores.dtype === 'float32' ? scores : scores.to('float32');
  if (opts.size === undefined) return x;
  if (scores.ndim !== 4 && scores.ndim !== 5) {
    throw new ShapeError(`${op}: expected scores [N, C, H, W] or [N, C, D, H, W] to resize, got [${scores.shape.join(', ')}]`);
  }
  const spatial = scores.ndim - 2;
  if (!Array.isArray(opts.size) || opts.size.length !== spatial) {
    throw new ArgumentError(`${op}: expected size with ${spatial} entries (the spatial dims of [${scores.shape.join(', ')}]), got ${JSON.stringify(opts.size)}`);
  }
  return interpolate(x, { size: opts.size, mode: spatial === 2 ? 'bilinear' : 'trilinear', alignCorners: opts.alignCorners ?? false });
}

/**
 * A bool mask of where `scores` (probabilities, or logits with `logits: true`) reach the
 * threshold, optionally after resizing them to `size`. Any shape without `size`; with it,
 * `[N, C, H, W]` or `[N, C, D, H, W]`. Not differentiable.
 * @example thresholdMask(model.forward(x), { logits: true, size: x.shape.slice(2) }) // [N, 1, H, W] bool
 */
export function thresholdMask(scores: Tensor, opts: ThresholdMaskOptions = {}): Tensor<'bool'> {
  const op = 'thresholdMask';
  checkTensor(op, 'scores', scores);
  checkDTypeIn(op, 'scores', scores, FLOAT_DTYPES);
  const threshold = opts.threshold ?? 0.5;
  const logits = opts.logits ?? false;
  if (logits) {
    if (typeof threshold !== 'number' || !(threshold > 0 && threshold < 1)) {
      throw new ArgumentError(`${op}: expected threshold in (0, 1) for logits, got ${String(threshold)}`);
    }
  } else {
    checkInRange(op, 'threshold', threshold, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY);
  }
  const cut = logits ? Math.log(threshold / (1 - threshold)) : threshold;
  return noGrad(() => scope(() => resized(op, scores, opts).ge(cut)));
}

/**
 * The label map of `scores` `[N, C, *spatial]` (logits or probabilities of C >= 2 classes):
 * the argmax over dim 1, int32 `[N, *spatial]`, optionally after resizing the scores to
 * `size` (resize, then argmax, as torchvision's segmentation models and reference scripts
 * do: this keeps boundaries smooth, which resizing the labels would not). Ties take the
 * lower class. Not differentiable.
 * @example labelMap(model.forward(x)['out'], { size: [height, width] }) // [N, height, width] int32
 */
export function labelMap(scores: Tensor, opts: ResizeScoresOptions = {}): Tensor<'int32'> {
  const op = 'labelMap';
  checkTensor(op, 'scores', scores);
  checkDTypeIn(op, 'scores', scores, FLOAT_DTYPES);
  if (scores.ndim < 2 || scores.shape[1]! < 2) {
    throw new ShapeError(`${op}: expected scores [N, C, *spatial] with C >= 2 classes (thresholdMask reads one-channel scores), got [${scores.shape.join(', ')}]`);
  }
  return noGrad(() => scope(() => resized(op, scores, opts).argmax(1)));
}
