/**
 * Paired transforms for segmentation and detection: one random draw moves an image, its
 * mask and its boxes together. A transform takes a {@link Sample} and returns one of the
 * same shape (other fields, e.g. `labels`, pass through). The image is resampled as the
 * matching image transform does (same draws under the same seed); masks always use
 * nearest sampling and keep their dtype (int32 labels stay labels); boxes follow flips,
 * crops, resizes and affine maps (see box_geometry.ts). SSD's augmentations (randomIoUCrop,
 * randomZoomOut, randomPhotometricDistort) live in detection_augment.ts and are re-exported here.
 *
 * @example
 * const P = data.pairedTransforms;
 * const augment = P.compose([P.randomAffine({ degrees: 10, scale: [0.9, 1.1] }), P.randomHorizontalFlip(), P.imageOnly(normalize)]);
 * const { image, mask } = augment({ image, mask });
 * @module
 */
import { noGrad } from '../autograd/grad_mode.js';
import { ArgumentError, DTypeError, ShapeError } from '../errors.js';
import { where } from '../ops/compare.js';
import type { InterpolateMode } from '../ops/resample.js';
import { interpolate } from '../ops/resample.js';
import { pad } from '../ops/shape.js';
import { checkDTypeIn, checkTensor } from '../ops/validate.js';
import { tensor } from '../tensor/creation.js';
import { scope } from '../tensor/memory.js';
import { describe } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { affineBoxes, cropBoxes, flipBoxesX, flipBoxesY, scaleBoxes } from './box_geometry.js';
import { affineRanges, boxMatrix, centerOffset, drawAffine, drawCropOffset, drawRotation, rotationRange } from './geometry.js';
import { resize as resizeImage, type RandomAffineOptions, type Transform } from './transforms.js';
import {
  affineSettings,
  cropWindow,
  drawFlips,
  elasticSettings,
  flipWhere,
  imageSize,
  sampleWithFill,
  type ElasticOptions,
  type WarpOptions,
  type WarpSettings,
} from './warp.js';

/** An image and what must move with it. */
export interface Sample {
  /** float32 `[C, H, W]`, or a batch `[N, C, H, W]` (one draw per image). */
  image: Tensor;
  /**
   * Dense target of the image's size, any dtype: `[H, W]` or `[K, H, W]` for an image
   * `[C, H, W]`; `[N, H, W]` or `[N, K, H, W]` for a batch. With boxes, a mask `[K, H, W]`
   * with one plane per box (instance masks) loses the planes of the boxes that
   * {@link sanitizeBoxes} and randomIoUCrop drop.
   */
  mask?: Tensor;
  /** float32 `[K, 4]` xyxy boxes in pixels; only with an unbatched image. */
  boxes?: Tensor;
  /** One label per box `[K]`; passes through, and {@link sanitizeBoxes} keeps it in step. */
  labels?: Tensor;
}

/** A transform of samples: returns the input's fields, moved. */
export type PairedTransform = <S extends Sample>(sample: S) => S;

/** The mask option of the resampling and padding transforms. */
export interface MaskFillOption {
  /** Mask value where the output comes from outside the image (default 0, the background). */
  maskFill?: number;
}

/** A sample with its image and mask as batches, and its size. */
interface Parts {
  image: Tensor; // [N, C, H, W]
  mask: Tensor | null; // [N, K, H, W], the caller's dtype
  boxes: Tensor | null;
  n: number;
  h: number;
  w: number;
}

type Moved = Pick<Parts, 'image' | 'mask' | 'boxes'>;

function unpack(op: string, sample: Sample): Parts {
  if (typeof sample !== 'object' || sample === null || !(sample.image instanceof Tensor)) {
    throw new ArgumentError(`${op}: expected a sample { image, mask?, boxes? } with a Tensor image, got ${describe(sample)}`);
  }
  const { image } = sample;
  checkDTypeIn(op, 'image', image, ['float32']);
  const { n, h, w } = imageSize(op, image);
  let mask: Tensor | null = null;
  if (sample.mask !== undefined) {
    const m = checkTensor(op, 'mask', sample.mask);
    const hasChannel = m.ndim === image.ndim;
    if ((!hasChannel && m.ndim !== image.ndim - 1) || m.shape.at(-2) !== h || m.shape.at(-1) !== w || (image.ndim === 4 && m.shape[0] !== n)) {
      throw new ShapeError(
        `${op}: expected mask [H, W] or [K, H, W] (with a batch: [N, H, W] or [N, K, H, W]) matching the image [${image.shape.join(', ')}], got [${m.shape.join(', ')}]`,
      );
    }
    mask = m.reshape(n, hasChannel ? m.shape.at(-3)! : 1, h, w);
  }
  let boxes: Tensor | null = null;
  if (sample.boxes !== undefined) {
    boxes = checkTensor(op, 'boxes', sample.boxes);
    if (image.ndim === 4) throw new ArgumentError(`${op}: boxes need an unbatched image [C, H, W] (each image has its own boxes: transform samples before collating)`);
    if (boxes.dtype !== 'float32') throw new DTypeError(`${op}: expected boxes to have dtype float32, got ${boxes.dtype}`);
    if (boxes.ndim !== 2 || boxes.shape[1] !== 4) throw new ShapeError(`${op}: expected boxes of shape [K, 4] (xyxy), got [${boxes.shape.join(', ')}]`);
  }
  return { image: image.ndim === 4 ? image : image.unsqueeze(0), mask, boxes, n, h, w };
}

/** `moved` in the caller's layout: each tensor gets back its rank, with the new spatial size. */
function pack<S extends Sample>(sample: S, moved: Moved): S {
  const restore = (t: Tensor, like: Tensor) => t.reshape([...like.shape.slice(0, -2), ...t.shape.slice(-2)]);
  return {
    ...sample,
    image: restore(moved.image, sample.image),
    ...(moved.mask && sample.mask ? { mask: restore(moved.mask, sample.mask) } : {}),
    ...(moved.boxes ? { boxes: moved.boxes } : {}),
  };
}

/** A paired transform from `fn`, which moves the batched parts (without recording gradients). */
function paired(op: string, fn: (parts: Parts) => Moved): PairedTransform {
  return <S extends Sample>(sample: S): S => noGrad(() => scope(() => pack(sample, fn(unpack(op, sample)))));
}

/** `fn` applied to `mask` as float32 (what the resampling ops take), with the mask's dtype restored. */
function asFloat(mask: Tensor, fn: (m: Tensor) => Tensor): Tensor {
  const out = fn(mask.dtype === 'float32' ? mask : mask.to('float32'));
  return out.dtype === mask.dtype ? out : out.to(mask.dtype);
}

function checkMaskFill(op: string, opts: MaskFillOption): number {
  const fill = opts.maskFill ?? 0;
  if (typeof fill !== 'number' || !Number.isFinite(fill)) throw new ArgumentError(`${op}: expected maskFill to be a finite number, got ${describe(fill)}`);
  return fill;
}

const FIELDS = ['image', 'mask', 'boxes', 'labels'] as const;

/** Applies paired transforms in order, freeing intermediate tensors. */
export function compose(transforms: readonly PairedTransform[]): PairedTransform {
  return <S extends Sample>(sample: S): S => {
    let current = sample;
    for (const t of transforms) {
      const next = t(current);
      if (current !== sample) {
        for (const key of FIELDS) {
          const old = current[key];
          if (old !== undefined && old !== sample[key] && old !== next[key]) old.dispose();
        }
      }
      current = next;
    }
    return current;
  };
}

/** Lifts an image-only transform (normalize, colorJitter, gaussianNoise, ...): the rest of the sample is unchanged. */
export function imageOnly(transform: Transform): PairedTransform {
  return <S extends Sample>(sample: S): S => {
    if (typeof sample !== 'object' || sample === null || !(sample.image instanceof Tensor)) {
      throw new ArgumentError(`imageOnly: expected a sample { image, ... } with a Tensor image, got ${describe(sample)}`);
    }
    return { ...sample, image: transform(sample.image) };
  };
}

function randomFlip(op: string, axis: 'x' | 'y', p: number): PairedTransform {
  const dim = axis === 'x' ? 3 : 2;
  return paired(op, ({ image, mask, boxes, n, h, w }) => {
    const chosen = drawFlips(n, p, image.device);
    return {
      image: flipWhere(image, chosen, dim),
      mask: mask && flipWhere(mask, chosen, dim),
      // Boxes come with an unbatched image only, so its one draw decides.
      boxes: boxes && where(chosen.reshape(1, 1), axis === 'x' ? flipBoxesX(boxes, w) : flipBoxesY(boxes, h), boxes),
    };
  });
}

/** Mirrors image, mask and boxes left-right with probability `p` (default 0.5), per image. */
export function randomHorizontalFlip(p = 0.5): PairedTransform {
  return randomFlip('randomHorizontalFlip', 'x', p);
}

/** Mirrors image, mask and boxes top-bottom with probability `p` (default 0.5), per image. */
export function randomVerticalFlip(p = 0.5): PairedTransform {
  return randomFlip('randomVerticalFlip', 'y', p);
}

/** Resizes to `size` = [H, W]: the image with `mode` (default 'bilinear'), the mask with 'nearest'; boxes scale along. */
export function resize(size: readonly [number, number], mode: InterpolateMode = 'bilinear'): PairedTransform {
  const image = resizeImage(size, mode);
  return paired('resize', (parts) => ({
    image: image(parts.image),
    mask: parts.mask && asFloat(parts.mask, (m) => interpolate(m, { size, mode: 'nearest' })),
    boxes: parts.boxes && scaleBoxes(parts.boxes, size[1] / parts.w, size[0] / parts.h),
  }));
}

function crop(parts: Parts, top: number, left: number, size: readonly [number, number]): Moved {
  return {
    image: cropWindow(parts.image, top, left, size),
    mask: parts.mask && cropWindow(parts.mask, top, left, size),
    boxes: parts.boxes && cropBoxes(parts.boxes, top, left, size),
  };
}

/** The central `size` = [H, W] window of image and mask; boxes are shifted and clipped to it. */
export function centerCrop(size: readonly [number, number]): PairedTransform {
  return paired('centerCrop', (parts) => {
    if (size[0] > parts.h || size[1] > parts.w) throw new ShapeError(`centerCrop: ${size.join('x')} is larger than the image ${parts.h}x${parts.w}`);
    const [top, left] = centerOffset(parts.h, parts.w, size);
    return crop(parts, top, left, size);
  });
}

/**
 * A random `size` = [H, W] window after padding by `padding` on every side (the image
 * with zeros, the mask with `maskFill`); boxes are shifted and clipped. One window per call.
 */
export function randomCrop(size: readonly [number, number], padding = 0, opts: MaskFillOption = {}): PairedTransform {
  const maskFill = checkMaskFill('randomCrop', opts);
  if (!Number.isInteger(padding) || padding < 0) throw new ArgumentError(`randomCrop: expected padding to be an integer >= 0, got ${describe(padding)}`);
  return paired('randomCrop', (parts) => {
    const sides = [padding, padding, padding, padding];
    const padded: Parts = {
      ...parts,
      image: padding > 0 ? pad(parts.image, sides) : parts.image,
      mask: parts.mask && (padding > 0 ? pad(parts.mask, sides, 'constant', maskFill) : parts.mask),
      boxes: parts.boxes && (padding > 0 ? cropBoxes(parts.boxes, -padding, -padding, [parts.h + 2 * padding, parts.w + 2 * padding]) : parts.boxes),
      h: parts.h + 2 * padding,
      w: parts.w + 2 * padding,
    };
    if (size[0] > padded.h || size[1] > padded.w) throw new ShapeError(`randomCrop: ${size.join('x')} is larger than the padded image ${padded.h}x${padded.w}`);
    const [top, left] = drawCropOffset(padded.h, padded.w, size);
    return crop(padded, top, left, size);
  });
}

/** Resamples image and mask through one draw of `settings`, and moves boxes by its affine map. */
function warpPaired(op: string, settings: WarpSettings, maskFill: number): PairedTransform {
  return paired(op, ({ image, mask, boxes, n, h, w }) => {
    const { grid, params } = settings.draw(n, h, w, image.device);
    if (boxes && params === null) throw new ArgumentError(`${op}: boxes cannot follow this transform; pass image and mask only`);
    return {
      image: sampleWithFill(op, image, grid, settings.mode, settings.fill),
      mask: mask && asFloat(mask, (m) => sampleWithFill(op, m, grid, 'nearest', [maskFill])),
      boxes: boxes && affineBoxes(boxes, boxMatrix(params![0]!, h, w), h, w),
    };
  });
}

/** Options of the paired resampling transforms: the image's, plus the mask fill. */
export type PairedWarpOptions = WarpOptions & MaskFillOption;

/**
 * Rotates image, mask and boxes by one angle per image drawn from `degrees`, counter-clockwise
 * (as the image transform randomRotation); boxes become the box around the rotated corners.
 */
export function randomRotation(degrees: number | readonly [number, number], opts: PairedWarpOptions = {}): PairedTransform {
  const range = rotationRange('randomRotation', degrees);
  return warpPaired('randomRotation', affineSettings('randomRotation', (n) => drawRotation(range, n), opts), checkMaskFill('randomRotation', opts));
}

/** The image transform randomAffine applied to image, mask and boxes with one draw per image. */
export function randomAffine(opts: RandomAffineOptions & MaskFillOption): PairedTransform {
  const ranges = affineRanges('randomAffine', opts);
  return warpPaired('randomAffine', affineSettings('randomAffine', (n, h, w) => drawAffine(ranges, n, h, w), opts), checkMaskFill('randomAffine', opts));
}

/**
 * The image transform elasticTransform applied to image and mask with one field per image.
 * Boxes cannot follow a non-affine deformation: a sample with boxes throws ArgumentError.
 */
export function elasticTransform(opts: ElasticOptions & MaskFillOption = {}): PairedTransform {
  return warpPaired('elasticTransform', elasticSettings('elasticTransform', opts), checkMaskFill('elasticTransform', opts));
}

/**
 * Drops the boxes that are not valid, as torchvision.transforms.v2's SanitizeBoundingBoxes:
 * those narrower or shorter than `minSize` pixels (default 1; at least 1, as there), and
 * those reaching outside the image (a coordinate below 0, an x beyond the width or a y
 * beyond the height). Their labels go with them, and so do their planes of a mask
 * `[K, H, W]` (one per box, as CocoTarget's masks); a mask `[H, W]` stays as it is.
 *
 * @example
 * const { boxes, labels } = sanitizeBoxes()(randomIoUCrop()({ image, boxes, labels }));
 */
export function sanitizeBoxes(opts: { minSize?: number } = {}): PairedTransform {
  const minSize = opts.minSize ?? 1;
  if (typeof minSize !== 'number' || !(minSize >= 1)) throw new ArgumentError(`sanitizeBoxes: expected minSize >= 1 (as torchvision's min_size), got ${describe(opts.minSize)}`);
  return <S extends Sample>(sample: S): S => {
    const { boxes, h, w } = unpack('sanitizeBoxes', sample);
    if (boxes === null) return sample;
    const k = boxes.shape[0]!;
    const labels = sample.labels === undefined ? undefined : checkTensor('sanitizeBoxes', 'labels', sample.labels);
    if (labels !== undefined && (labels.ndim !== 1 || labels.shape[0] !== k)) {
      throw new ShapeError(`sanitizeBoxes: expected labels [${k}] (one per box), got [${labels.shape.join(', ')}]`);
    }
    const mask = sample.mask;
    if (mask !== undefined && mask.ndim === 3 && mask.shape[0] !== k) {
      throw new ShapeError(`sanitizeBoxes: expected mask [${h}, ${w}] or one per box [${k}, ${h}, ${w}], got [${mask.shape.join(', ')}]`);
    }
    const values = boxes.dataSync();
    const keep: number[] = [];
    for (let i = 0; i < k; ++i) {
      const [x1, y1, x2, y2] = values.subarray(4 * i, 4 * i + 4) as unknown as [number, number, number, number];
      const inside = x1 >= 0 && y1 >= 0 && x2 >= 0 && y2 >= 0 && x1 <= w && x2 <= w && y1 <= h && y2 <= h;
      if (inside && x2 - x1 >= minSize && y2 - y1 >= minSize) keep.push(i);
    }
    const index = tensor(keep, { dtype: 'int32', device: boxes.device });
    try {
      return {
        ...sample,
        boxes: boxes.indexSelect(0, index),
        ...(labels ? { labels: labels.indexSelect(0, index) } : {}),
        ...(mask !== undefined && mask.ndim === 3 ? { mask: mask.indexSelect(0, index) } : {}),
      };
    } finally {
      index.dispose();
    }
  };
}

export { randomIoUCrop, randomPhotometricDistort, randomZoomOut, type RandomIoUCropOptions, type RandomZoomOutOptions } from './detection_augment.js';
