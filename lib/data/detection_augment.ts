/**
 * The SSD recipe's detection augmentations, as torchvision's RandomIoUCrop, RandomZoomOut
 * and RandomPhotometricDistort (references/detection/transforms.py, later
 * transforms.v2): paired transforms on one image `[C, H, W]` with its boxes, labels and
 * masks. The crop and the canvas are drawn per call, so the output size differs from
 * call to call: apply them to samples before collating. Draws come from neocog's seeded
 * generator (manualSeed). Re-exported by paired_transforms.ts.
 *
 * @example
 * const P = data.pairedTransforms;
 * const ssdAugment = P.compose([P.randomPhotometricDistort(), P.randomZoomOut({ fill: [0.485, 0.456, 0.406] }), P.randomIoUCrop(), P.randomHorizontalFlip(), P.sanitizeBoxes()]);
 * @module
 */
import { noGrad } from '../autograd/grad_mode.js';
import { ArgumentError, DTypeError, ShapeError } from '../errors.js';
import { cat, pad } from '../ops/shape.js';
import { checkDTypeIn, checkInRange, checkInt, checkTensor } from '../ops/validate.js';
import { rand, tensor } from '../tensor/creation.js';
import { scope } from '../tensor/memory.js';
import { describe } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { cropBoxes } from './box_geometry.js';
import type { MaskFillOption, PairedTransform, Sample } from './paired_transforms.js';
import { randomPhotometricDistort as distortImage, rangeOption, type PhotometricDistortOptions } from './photometric.js';
import { checkFill, cropWindow, type Fill } from './warp.js';

/** A checked unbatched sample: image `[C, H, W]`, boxes `[K, 4]`, labels `[K]`, mask `[H, W]` or one per box `[K, H, W]`. */
interface Instances {
  image: Tensor;
  boxes: Tensor | null;
  labels: Tensor | null;
  mask: Tensor | null;
  h: number;
  w: number;
}

/** Checks a sample for the transforms here, which take one image and move whole boxes. */
function instances(op: string, sample: Sample): Instances {
  if (typeof sample !== 'object' || sample === null || !(sample.image instanceof Tensor)) {
    throw new ArgumentError(`${op}: expected a sample { image, boxes?, labels?, mask? } with a Tensor image, got ${describe(sample)}`);
  }
  const { image } = sample;
  checkDTypeIn(op, 'image', image, ['float32']);
  if (image.ndim !== 3) throw new ShapeError(`${op}: expected an unbatched image [C, H, W] (the output size is drawn per call), got [${image.shape.join(', ')}]`);
  const [, h, w] = image.shape as [number, number, number];
  let boxes: Tensor | null = null;
  if (sample.boxes !== undefined) {
    boxes = checkTensor(op, 'boxes', sample.boxes);
    if (boxes.dtype !== 'float32') throw new DTypeError(`${op}: expected boxes to have dtype float32, got ${boxes.dtype}`);
    if (boxes.ndim !== 2 || boxes.shape[1] !== 4) throw new ShapeError(`${op}: expected boxes of shape [K, 4] (xyxy), got [${boxes.shape.join(', ')}]`);
  }
  const k = boxes?.shape[0] ?? 0;
  let labels: Tensor | null = null;
  if (sample.labels !== undefined) {
    labels = checkTensor(op, 'labels', sample.labels);
    if (boxes === null || labels.ndim !== 1 || labels.shape[0] !== k) {
      throw new ShapeError(`${op}: expected labels [${k}] (one per box), got [${labels.shape.join(', ')}]${boxes === null ? ' without boxes' : ''}`);
    }
  }
  let mask: Tensor | null = null;
  if (sample.mask !== undefined) {
    mask = checkTensor(op, 'mask', sample.mask);
    const perBox = mask.ndim === 3 && boxes !== null && mask.shape[0] === k;
    if ((mask.ndim !== 2 && !perBox) || mask.shape.at(-2) !== h || mask.shape.at(-1) !== w) {
      throw new ShapeError(`${op}: expected mask [${h}, ${w}] or one per box [${k}, ${h}, ${w}], got [${mask.shape.join(', ')}]`);
    }
  }
  return { image, boxes, labels, mask, h, w };
}

/** `sample` with the moved fields replaced (the others pass through). */
function withMoved<S extends Sample>(sample: S, moved: { image: Tensor; boxes: Tensor | null; labels: Tensor | null; mask: Tensor | null }): S {
  return {
    ...sample,
    image: moved.image,
    ...(moved.boxes ? { boxes: moved.boxes } : {}),
    ...(moved.labels ? { labels: moved.labels } : {}),
    ...(moved.mask ? { mask: moved.mask } : {}),
  };
}

/** `count` uniform draws from the seeded generator, on the host. */
function draws(count: number): Float32Array {
  const u = rand([count]);
  try {
    return u.dataSync();
  } finally {
    u.dispose();
  }
}

/** Options of {@link randomIoUCrop}, as torchvision's RandomIoUCrop. */
export interface RandomIoUCropOptions {
  /** Smallest crop side, as a fraction of the image's (default 0.3); in (0, maxScale]. */
  minScale?: number;
  /** Largest crop side, as a fraction of the image's (default 1); in [minScale, 1]. */
  maxScale?: number;
  /** Smallest crop width / height (default 0.5); in (0, maxAspectRatio]. */
  minAspectRatio?: number;
  /** Largest crop width / height (default 2). */
  maxAspectRatio?: number;
  /**
   * The minimum IoUs to draw from, one per call (default [0, 0.1, 0.3, 0.5, 0.7, 0.9, 1]);
   * a value >= 1 means "leave the sample as it is".
   */
  samplerOptions?: readonly number[];
  /** Crops tried per drawn minimum IoU before another is drawn (default 40). */
  trials?: number;
}

/**
 * Rounds of (minimum IoU, `trials` crops) before the sample is returned unchanged.
 * torchvision keeps drawing forever, which hangs when no option can be met (e.g. tiny
 * boxes and samplerOptions without 1); with the default options a round leaves the sample
 * unchanged with probability 1/7, so this bound is never reached in practice.
 */
const MAX_ROUNDS = 200;

/** An accepted crop window and the boxes whose centres lie in it. */
interface Crop {
  left: number;
  top: number;
  width: number;
  height: number;
  kept: number[];
}

/** IoU of box `b` (xyxy) with the crop. */
function iouWithCrop(b: ArrayLike<number>, left: number, top: number, right: number, bottom: number): number {
  const iw = Math.max(0, Math.min(b[2]!, right) - Math.max(b[0]!, left));
  const ih = Math.max(0, Math.min(b[3]!, bottom) - Math.max(b[1]!, top));
  const inter = iw * ih;
  const union = (b[2]! - b[0]!) * (b[3]! - b[1]!) + (right - left) * (bottom - top) - inter;
  return inter / union;
}

/**
 * Draws a crop as torchvision's RandomIoUCrop: a minimum IoU from `samplerOptions`
 * (>= 1: none), then up to `trials` windows whose sides are `minScale..maxScale` of the
 * image's, within the aspect limits, that contain some box centre, one of those boxes
 * overlapping the window by at least the minimum IoU.
 */
function drawIoUCrop(boxes: Float32Array, h: number, w: number, o: Required<RandomIoUCropOptions>): Crop | null {
  const k = boxes.length / 4;
  for (let round = 0; round < MAX_ROUNDS; ++round) {
    const u = draws(1 + 4 * o.trials);
    const minIoU = o.samplerOptions[Math.min(Math.floor(u[0]! * o.samplerOptions.length), o.samplerOptions.length - 1)]!;
    if (minIoU >= 1) return null;
    for (let trial = 0; trial < o.trials; ++trial) {
      const [r0, r1, r2, r3] = u.subarray(1 + 4 * trial, 5 + 4 * trial);
      const width = Math.trunc(w * (o.minScale + (o.maxScale - o.minScale) * r0!));
      const height = Math.trunc(h * (o.minScale + (o.maxScale - o.minScale) * r1!));
      // torchvision divides by zero here (a ZeroDivisionError) for images under 1 / minScale pixels.
      if (width === 0 || height === 0) continue;
      const aspect = width / height;
      if (!(o.minAspectRatio <= aspect && aspect <= o.maxAspectRatio)) continue;
      const left = Math.trunc((w - width) * r2!);
      const top = Math.trunc((h - height) * r3!);
      const right = left + width;
      const bottom = top + height;
      const kept: number[] = [];
      let best = -1;
      for (let i = 0; i < k; ++i) {
        const b = boxes.subarray(4 * i, 4 * i + 4);
        // Centres in float32, as torchvision computes them.
        const cx = Math.fround(0.5 * Math.fround(b[0]! + b[2]!));
        const cy = Math.fround(0.5 * Math.fround(b[1]! + b[3]!));
        if (!(left < cx && cx < right && top < cy && cy < bottom)) continue;
        kept.push(i);
        best = Math.max(best, iouWithCrop(b, left, top, right, bottom));
      }
      if (kept.length > 0 && best >= minIoU) return { left, top, width, height, kept };
    }
  }
  return null;
}

/**
 * SSD's random crop, as torchvision's RandomIoUCrop: draws a minimum IoU from
 * `samplerOptions` (1 keeps the sample as it is), then tries up to `trials` windows of
 * `minScale..maxScale` of each side within the aspect limits; the first window that holds
 * the centre of some box, one of those boxes having IoU >= the minimum with the window, is
 * taken. Image and mask are cropped to it; the boxes whose centres lie inside are kept
 * (shifted and clipped to the window) and the others dropped, with their labels and, for a
 * mask `[K, H, W]` (one per box, as CocoTarget's masks), their mask planes; a mask `[H, W]`
 * is only cropped. A sample without boxes comes back unchanged (no crop can be accepted).
 *
 * @example
 * const crop = data.pairedTransforms.randomIoUCrop({ minScale: 0.3, trials: 40 });
 * const { image, boxes, labels } = crop({ image, boxes, labels }); // boxes kept inside the crop
 */
export function randomIoUCrop(opts: RandomIoUCropOptions = {}): PairedTransform {
  const op = 'randomIoUCrop';
  const minScale = checkInRange(op, 'minScale', opts.minScale ?? 0.3, 0, 1);
  const maxScale = checkInRange(op, 'maxScale', opts.maxScale ?? 1, minScale, 1);
  if (!(minScale > 0)) throw new ArgumentError(`${op}: expected minScale > 0, got ${describe(minScale)}`);
  const minAspectRatio = opts.minAspectRatio ?? 0.5;
  if (typeof minAspectRatio !== 'number' || !(minAspectRatio > 0)) throw new ArgumentError(`${op}: expected minAspectRatio > 0, got ${describe(minAspectRatio)}`);
  const maxAspectRatio = checkInRange(op, 'maxAspectRatio', opts.maxAspectRatio ?? 2, minAspectRatio, Infinity);
  const samplerOptions = opts.samplerOptions ?? [0, 0.1, 0.3, 0.5, 0.7, 0.9, 1];
  if (!Array.isArray(samplerOptions) || samplerOptions.length === 0 || !samplerOptions.every((v) => typeof v === 'number' && v >= 0 && Number.isFinite(v))) {
    throw new ArgumentError(`${op}: expected samplerOptions to be a non-empty list of minimum IoUs >= 0, got ${describe(samplerOptions)}`);
  }
  const trials = checkInt(op, 'trials', opts.trials ?? 40, 1);
  const options = { minScale, maxScale, minAspectRatio, maxAspectRatio, samplerOptions: [...samplerOptions], trials };
  return <S extends Sample>(sample: S): S => {
    const { image, boxes, labels, mask, h, w } = instances(op, sample);
    if (boxes === null || boxes.shape[0] === 0) return sample;
    const crop = drawIoUCrop(boxes.dataSync() as Float32Array, h, w, options);
    if (crop === null) return sample;
    const size: [number, number] = [crop.height, crop.width];
    return noGrad(() =>
      scope(() => {
        const index = tensor(crop.kept, { dtype: 'int32', device: boxes.device });
        return withMoved(sample, {
          image: cropWindow(image, crop.top, crop.left, size),
          boxes: cropBoxes(boxes.indexSelect(0, index), crop.top, crop.left, size),
          labels: labels && labels.indexSelect(0, index),
          mask: mask && cropWindow(mask.ndim === 3 ? mask.indexSelect(0, index) : mask, crop.top, crop.left, size),
        });
      }),
    );
  };
}

/** Options of {@link randomZoomOut}, as torchvision's RandomZoomOut. */
export interface RandomZoomOutOptions extends MaskFillOption {
  /** The canvas colour: one value, or one per channel (default 0). */
  fill?: Fill;
  /** The canvas side over the image's, drawn from [lo, hi] with 1 <= lo <= hi (default [1, 4]). */
  sideRange?: readonly [number, number];
  /** Probability of zooming out (default 0.5). */
  p?: number;
}

/**
 * SSD's zoom out, as torchvision's RandomZoomOut: with probability `p`, places the image
 * at a random position on a canvas `r` times its size (`r` drawn from `sideRange`, sides
 * truncated to whole pixels) filled with `fill`; boxes shift with the image, a mask is
 * padded with `maskFill` (default 0).
 *
 * @example
 * const zoomOut = data.pairedTransforms.randomZoomOut({ fill: [0.485, 0.456, 0.406], sideRange: [1, 4] });
 * const { image, boxes } = zoomOut({ image, boxes, labels }); // image up to 4x larger, boxes moved
 */
export function randomZoomOut(opts: RandomZoomOutOptions = {}): PairedTransform {
  const op = 'randomZoomOut';
  const fill = checkFill(op, opts.fill ?? 0);
  const [lo, hi] = rangeOption(op, 'sideRange', opts.sideRange ?? [1, 4], 1, Infinity);
  if (!Number.isFinite(hi)) throw new ArgumentError(`${op}: expected a finite sideRange, got ${describe(opts.sideRange)}`);
  const p = checkInRange(op, 'p', opts.p ?? 0.5, 0, 1);
  const maskFill = opts.maskFill ?? 0;
  if (typeof maskFill !== 'number' || !Number.isFinite(maskFill)) throw new ArgumentError(`${op}: expected maskFill to be a finite number, got ${describe(maskFill)}`);
  return <S extends Sample>(sample: S): S => {
    const { image, boxes, labels, mask, h, w } = instances(op, sample);
    const c = image.shape[0]!;
    if (fill.length !== 1 && fill.length !== c) throw new ShapeError(`${op}: fill has ${fill.length} values for ${c} channels`);
    const [u0, u1, u2, u3] = draws(4);
    if (u0! >= p) return sample;
    const r = lo + u1! * (hi - lo);
    const canvasW = Math.trunc(w * r);
    const canvasH = Math.trunc(h * r);
    const left = Math.trunc((canvasW - w) * u2!);
    const top = Math.trunc((canvasH - h) * u3!);
    const sides = [left, canvasW - left - w, top, canvasH - top - h];
    return noGrad(() =>
      scope(() => {
        // One constant pad per channel: exact fill values, whatever they are.
        const canvas = fill.length === 1 ? pad(image, sides, 'constant', fill[0]) : cat(fill.map((v, i) => pad(image.slice(0, i, i + 1), sides, 'constant', v)));
        return withMoved(sample, {
          image: canvas,
          boxes: boxes && boxes.add(tensor(Float32Array.of(left, top, left, top), { device: boxes.device })),
          labels,
          mask: mask && pad(mask, sides, 'constant', maskFill),
        });
      }),
    );
  };
}

/**
 * The image transform randomPhotometricDistort (SSD's colour augmentation, as
 * torchvision's RandomPhotometricDistort) on a sample's image; the rest passes through.
 *
 * @example
 * const distort = data.pairedTransforms.randomPhotometricDistort({ p: 0.5 });
 * const { image, boxes } = distort({ image, boxes }); // boxes unchanged
 */
export function randomPhotometricDistort(opts: PhotometricDistortOptions = {}): PairedTransform {
  const distort = distortImage(opts);
  return <S extends Sample>(sample: S): S => {
    if (typeof sample !== 'object' || sample === null || !(sample.image instanceof Tensor)) {
      throw new ArgumentError(`randomPhotometricDistort: expected a sample { image, ... } with a Tensor image, got ${describe(sample)}`);
    }
    return { ...sample, image: distort(sample.image) };
  };
}
