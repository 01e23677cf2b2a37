/**
 * Transforms that draw a window of random area and aspect ratio, as torchvision 0.14's
 * RandomResizedCrop (the Inception crop) and RandomErasing (Zhong et al. 2017): up to 10
 * attempts with the area fraction uniform in `scale` and the aspect ratio log-uniform in
 * `ratio`, from neocog's seeded generator. One draw per call (a batch shares the window).
 * @module
 */
import { noGrad } from '../autograd/grad_mode.js';
import { ArgumentError, DTypeError, ShapeError } from '../errors.js';
import { where } from '../ops/compare.js';
import { interpolate } from '../ops/resample.js';
import { pad } from '../ops/shape.js';
import { rand, randn, tensor } from '../tensor/creation.js';
import { scope } from '../tensor/memory.js';
import { describe } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { roundHalfEven } from './geometry.js';
import { rangeOption } from './photometric.js';
import { batched, boxMask, checkInterpolation, cropWindow, type Interpolation } from './warp.js';

/** A window `[top, left, height, width]` in pixels. */
type Window = [top: number, left: number, height: number, width: number];

/** Checks scale and ratio (torchvision warns on a reversed range; neocog refuses it). */
function areaRanges(op: string, opts: { scale?: readonly [number, number]; ratio?: readonly [number, number] }, scale: [number, number], ratio: [number, number]) {
  return {
    scale: rangeOption(op, 'scale', opts.scale ?? scale, 0, op === 'randomErasing' ? 1 : Infinity),
    ratio: rangeOption(op, 'ratio', opts.ratio ?? ratio, Number.MIN_VALUE, Infinity),
  };
}

/**
 * Up to 10 draws of a window covering a `scale` fraction of the `h x w` image with aspect
 * ratio from `ratio` (log-uniform); `sides(area, aspect)` turns them into [height, width] and
 * `fits` accepts them. Each attempt takes four uniforms: area, ratio, top, left (the last two
 * used only on success, as torch.randint). Null when all 10 fail.
 */
function drawWindow(
  h: number,
  w: number,
  scale: readonly [number, number],
  ratio: readonly [number, number],
  sides: (area: number, aspect: number) => [number, number],
  fits: (height: number, width: number) => boolean,
): Window | null {
  const draws = rand([10, 4]);
  const u = draws.dataSync();
  draws.dispose();
  const [logLo, logHi] = [Math.log(ratio[0]), Math.log(ratio[1])];
  for (let attempt = 0; attempt < 10; ++attempt) {
    const [a, r, t, l] = u.subarray(4 * attempt, 4 * attempt + 4) as unknown as [number, number, number, number];
    const area = h * w * (scale[0] + a * (scale[1] - scale[0]));
    const aspect = Math.exp(logLo + r * (logHi - logLo));
    const [height, width] = sides(area, aspect);
    if (fits(height, width)) return [Math.min(Math.floor(t * (h - height + 1)), h - height), Math.min(Math.floor(l * (w - width + 1)), w - width), height, width];
  }
  return null;
}

/** The checked `[C, H, W]` or `[N, C, H, W]` float image's height and width. */
function floatImageSize(op: string, image: Tensor): [number, number] {
  if (image.ndim !== 3 && image.ndim !== 4) throw new ShapeError(`${op}: expected an image [C, H, W] or a batch [N, C, H, W], got shape [${image.shape.join(', ')}]`);
  if (image.dtype !== 'float32') throw new DTypeError(`${op}: expected a float32 image, got ${image.dtype}`);
  return image.shape.slice(-2) as [number, number];
}

/** Options of {@link randomResizedCrop}. */
export interface RandomResizedCropOptions {
  /** Range of the crop's area as a fraction of the image's (default [0.08, 1]). */
  scale?: readonly [number, number];
  /** Range of the crop's aspect ratio width / height, drawn log-uniformly (default [3/4, 4/3]). */
  ratio?: readonly [number, number];
  /** Resampling of the crop to `size` (default 'bilinear', without antialiasing as torchvision 0.14's tensors). */
  interpolation?: Interpolation;
}

/**
 * Crops a random window and resizes it to `size` `[H, W]`, as torchvision 0.14's
 * RandomResizedCrop: up to 10 attempts at an area fraction from `scale` and an aspect
 * ratio from `ratio` (sides rounded as Python's round) that fits the image, otherwise the
 * central crop with the aspect ratio clamped to `ratio`. Images `[C, H, W]` or batches
 * `[N, C, H, W]` (one window per call), float32.
 *
 * @example
 * const crop = transforms.randomResizedCrop([224, 224], { scale: [0.08, 1] });
 * const out = crop(image); // [3, 224, 224]
 */
export function randomResizedCrop(size: readonly [number, number], opts: RandomResizedCropOptions = {}): (image: Tensor) => Tensor {
  const op = 'randomResizedCrop';
  if (!Array.isArray(size) || size.length !== 2 || !size.every((s) => Number.isInteger(s) && s >= 1)) {
    throw new ArgumentError(`${op}: expected size to be [H, W] of integers >= 1, got ${describe(size)}`);
  }
  const { scale, ratio } = areaRanges(op, opts, [0.08, 1], [3 / 4, 4 / 3]);
  const mode = checkInterpolation(op, opts.interpolation ?? 'bilinear');
  return (image) => {
    const [h, w] = floatImageSize(op, image);
    const [top, left, height, width] =
      drawWindow(h, w, scale, ratio, (area, aspect) => [roundHalfEven(Math.sqrt(area / aspect)), roundHalfEven(Math.sqrt(area * aspect))], (ch, cw) => ch > 0 && ch <= h && cw > 0 && cw <= w) ??
      centerFallback(h, w, ratio);
    return noGrad(() =>
      scope(() => {
        const { batch, unbatch } = batched(op, cropWindow(image, top, left, [height, width]));
        return unbatch(interpolate(batch, { size, mode, ...(mode === 'nearest' ? {} : { alignCorners: false }) }));
      }),
    );
  };
}

/** torchvision's fallback: the whole image, narrowed to the nearest allowed aspect ratio, centred. */
function centerFallback(h: number, w: number, ratio: readonly [number, number]): Window {
  const inRatio = w / h;
  let [height, width] = [h, w];
  if (inRatio < ratio[0]) height = roundHalfEven(w / ratio[0]);
  else if (inRatio > ratio[1]) width = roundHalfEven(h * ratio[1]);
  return [Math.floor((h - height) / 2), Math.floor((w - width) / 2), height, width];
}

/** Options of {@link randomErasing}. */
export interface RandomErasingOptions {
  /** Probability of erasing (default 0.5). */
  p?: number;
  /** Range of the erased area as a fraction of the image's, within [0, 1] (default [0.02, 0.33]). */
  scale?: readonly [number, number];
  /** Range of the erased box's aspect ratio height / width, drawn log-uniformly (default [0.3, 3.3]). */
  ratio?: readonly [number, number];
  /** Fill: one number, one per channel, or 'random' (standard normal noise per pixel) (default 0). */
  value?: number | readonly number[] | 'random';
}

/**
 * Erases a random box with probability `p`, as torchvision 0.14's RandomErasing: up to 10
 * attempts at an area fraction from `scale` and aspect ratio (height / width) from `ratio`
 * for a box strictly smaller than the image; if none fits, the image is returned as it is.
 * The box is filled with `value`. Images `[C, H, W]` or batches `[N, C, H, W]` (one box per
 * call), float32 (apply after toTensor / normalize, as in torchvision).
 *
 * @example
 * const erase = transforms.randomErasing({ p: 0.5, value: 'random' });
 * const out = erase(image);
 */
export function randomErasing(opts: RandomErasingOptions = {}): (image: Tensor) => Tensor {
  const op = 'randomErasing';
  const p = opts.p ?? 0.5;
  if (!(typeof p === 'number' && p >= 0 && p <= 1)) throw new ArgumentError(`${op}: expected p in [0, 1], got ${describe(opts.p)}`);
  const { scale, ratio } = areaRanges(op, opts, [0.02, 0.33], [0.3, 3.3]);
  const value = opts.value ?? 0;
  const fill = value === 'random' ? null : typeof value === 'number' ? [value] : value;
  if (fill !== null && !(Array.isArray(fill) && fill.length >= 1 && fill.every((v) => typeof v === 'number' && Number.isFinite(v)))) {
    throw new ArgumentError(`${op}: expected value to be a number, an array of numbers or 'random', got ${describe(value)}`);
  }
  return (image) => {
    const [h, w] = floatImageSize(op, image);
    const c = image.shape[image.ndim - 3]!;
    if (fill !== null && fill.length !== 1 && fill.length !== c) {
      throw new ArgumentError(`${op}: expected value to have 1 or ${c} entries (the image's channels), got ${fill.length}`);
    }
    const coin = rand([1]);
    const erase = coin.item() < p;
    coin.dispose();
    if (!erase) return image;
    const box = drawWindow(h, w, scale, ratio, (area, aspect) => [roundHalfEven(Math.sqrt(area * aspect)), roundHalfEven(Math.sqrt(area / aspect))], (bh, bw) => bh < h && bw < w);
    // No box fits, or one of zero area: erasing it would change nothing.
    if (box === null || box[2] === 0 || box[3] === 0) return image;
    const [top, left, height, width] = box;
    return noGrad(() =>
      scope(() => {
        const mask = boxMask(h, w, box, image.device);
        // torchvision draws the noise for the box only: [C, h, w], placed at the box.
        const values =
          fill === null
            ? pad(randn([c, height, width], { device: image.device }), [left, w - left - width, top, h - top - height])
            : tensor(Float32Array.from(fill), { device: image.device }).reshape(fill.length, 1, 1);
        return where(mask, values, image);
      }),
    );
  };
}
