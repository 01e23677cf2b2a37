/**
 * The arguments every explanation takes (saliency, Grad-CAM, occlusion, feature maps):
 * the image, the target whose score is explained, and a baseline image.
 * @module
 */
import { ArgumentError, DTypeError, IndexError, ShapeError } from '../errors.js';
import { stack } from '../ops/shape.js';
import { full } from '../tensor/creation.js';
import { describe } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

/**
 * What an explanation explains: a class index into a classifier's `[1, K]` logits, or a
 * function of the model's output that returns one number as a one-element tensor, so that
 * any score can be explained: a detector's box score, the mean of a segmentation's class
 * region.
 *
 * @example
 * const cls: viz.Target = 3;
 * const region: viz.Target = (logits) => logits.slice(1, 2, 3).mean(); // class 2 of a segmentation [1, K, H, W]
 */
export type Target<Out = Tensor> = number | ((output: Out) => Tensor);

/** Checks an image argument: float32 `[C, H, W]` with C, H, W > 0. */
export function checkImage(op: string, image: unknown, name = 'image'): Tensor<'float32'> {
  if (!(image instanceof Tensor)) throw new ArgumentError(`${op}: expected ${name} to be a Tensor, got ${describe(image)}`);
  if (image.dtype !== 'float32') throw new DTypeError(`${op}: expected ${name} of dtype float32 (normalised as the model expects), got ${image.dtype}`);
  if (image.ndim !== 3 || image.numel === 0) throw new ShapeError(`${op}: expected ${name} of shape [C, H, W] (one image, no batch dim) with C, H, W > 0, got [${image.shape.join(', ')}]`);
  return image as Tensor<'float32'>;
}

/** Checks a target argument: a class index (an integer >= 0) or a function. */
export function checkTarget<Out>(op: string, target: Target<Out>): void {
  if (typeof target === 'function') return;
  if (!Number.isInteger(target) || target < 0) throw new ArgumentError(`${op}: expected target to be a class index (an integer >= 0) or a function of the output returning a scalar tensor, got ${describe(target)}`);
}

/**
 * A baseline image (the "absence of signal" of Integrated Gradients and occlusion): a
 * number fills the image's shape; a tensor must have the image's shape.
 */
export function baselineFor(op: string, image: Tensor, baseline: number | Tensor): Tensor<'float32'> {
  if (typeof baseline === 'number') {
    if (!Number.isFinite(baseline)) throw new ArgumentError(`${op}: expected baseline to be a finite number or a tensor, got ${baseline}`);
    return full(image.shape, baseline, { device: image.device });
  }
  const checked = checkImage(op, baseline, 'baseline');
  if (checked.shape.join(',') !== image.shape.join(',')) throw new ShapeError(`${op}: expected baseline of the image's shape [${image.shape.join(', ')}], got [${checked.shape.join(', ')}]`);
  // A handle of its own, as the filled baseline is: the caller's scope may free either.
  return checked.reshape(checked.shape);
}

/**
 * The target's score for each of the `count` images the output was computed from, `[count]`:
 * column `target` of `[count, K]` logits, or the target function applied to each image's
 * output (the whole output when count is 1; the output's slices along dim 0 otherwise).
 */
export function targetScores<Out>(op: string, output: Out, target: Target<Out>, count: number): Tensor<'float32'> {
  if (typeof target === 'number') {
    if (!(output instanceof Tensor) || output.ndim !== 2 || output.shape[0] !== count) {
      const got = output instanceof Tensor ? `shape [${output.shape.join(', ')}]` : describe(output);
      throw new ArgumentError(`${op}: a class index as target needs a model returning [N, K] logits, got ${got}; give target as a function of the output instead`);
    }
    if (target >= output.shape[1]!) throw new IndexError(`${op}: target ${target} is out of range for ${output.shape[1]} classes`);
    return output.slice(1, target, target + 1).reshape([count]) as Tensor<'float32'>;
  }
  const scalar = (value: unknown): Tensor => {
    if (!(value instanceof Tensor)) throw new ArgumentError(`${op}: expected target to return a Tensor, got ${describe(value)}`);
    if (value.numel !== 1) throw new ShapeError(`${op}: expected target to return a scalar (one-element) tensor, got shape [${value.shape.join(', ')}]`);
    if (value.dtype !== 'float32') throw new DTypeError(`${op}: expected target to return a float32 tensor, got ${value.dtype}`);
    return value.reshape([1]);
  };
  if (count === 1) return scalar(target(output)) as Tensor<'float32'>;
  if (!(output instanceof Tensor)) throw new ArgumentError(`${op}: a target function on a batch needs a model returning a tensor (scored image by image); got ${describe(output)}; use batchSize 1`);
  const slices = Array.from({ length: count }, (_, i) => scalar(target(output.slice(0, i, i + 1) as Out)).reshape([]));
  return stack(slices) as Tensor<'float32'>;
}
