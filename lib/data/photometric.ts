/**
 * Colour adjustments of float images in [0, 1], as torchvision.transforms.functional's
 * adjust_brightness / adjust_contrast / adjust_saturation / adjust_hue (the tensor
 * versions, same formulas, same clamping), and SSD's randomPhotometricDistort built on
 * them. Images are `[C, H, W]` or batches `[N, C, H, W]` with 1 or 3 channels (RGB).
 * Re-exported by transforms.ts.
 * @module
 */
import { noGrad } from '../autograd/grad_mode.js';
import { ArgumentError, ShapeError } from '../errors.js';
import { where } from '../ops/compare.js';
import { cat } from '../ops/shape.js';
import { clamp } from '../ops/statistics.js';
import { checkDTypeIn, checkInRange } from '../ops/validate.js';
import { rand, tensor } from '../tensor/creation.js';
import { scope } from '../tensor/memory.js';
import { describe } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Transform } from './transforms.js';
import { batched } from './warp.js';

/** The batch `[N, C, H, W]` of `image` and its channel count, checked as torchvision's `_assert_channels(img, [1, 3])`. */
function rgbOrGray(op: string, image: Tensor): { batch: Tensor; unbatch: (t: Tensor) => Tensor; c: number } {
  checkDTypeIn(op, 'image', image, ['float32']);
  const { batch, unbatch } = batched(op, image);
  const c = batch.shape[1]!;
  if (c !== 1 && c !== 3) throw new ShapeError(`${op}: expected an image with 1 or 3 channels, got ${c} (shape [${image.shape.join(', ')}])`);
  return { batch, unbatch, c };
}

function checkFactor(op: string, name: string, factor: number): void {
  if (typeof factor !== 'number' || !(factor >= 0) || !Number.isFinite(factor)) throw new ArgumentError(`${op}: expected ${name} to be a finite number >= 0, got ${describe(factor)}`);
}

/** torchvision's `_blend`: `ratio * a + (1 - ratio) * b`, clamped to [0, 1]. */
function blend(a: Tensor, b: Tensor, ratio: number): Tensor {
  return clamp(a.mul(ratio).add(b.mul(1 - ratio)), 0, 1);
}

/** Luma `[N, 1, H, W]` of an RGB batch, with torchvision's weights (0.2989, 0.587, 0.114). */
function grayscale(rgb: Tensor): Tensor {
  const [r, g, b] = [0, 1, 2].map((c) => rgb.slice(1, c, c + 1)) as [Tensor, Tensor, Tensor];
  return r.mul(0.2989).add(g.mul(0.587)).add(b.mul(0.114));
}

/**
 * Multiplies by `factor` (0 gives black, 1 the image), clamped to [0, 1], as torchvision's
 * `adjust_brightness`.
 *
 * @example
 * adjustBrightness(image, 1.1) // 10% brighter
 */
export function adjustBrightness(image: Tensor, factor: number): Tensor {
  checkFactor('adjustBrightness', 'factor', factor);
  return noGrad(() =>
    scope(() => {
      const { batch, unbatch } = rgbOrGray('adjustBrightness', image);
      return unbatch(clamp(batch.mul(factor), 0, 1));
    }),
  );
}

/**
 * Blends with the image's mean grey level (of the luma for RGB), as torchvision's
 * `adjust_contrast`: 0 gives a flat grey image, 1 the image; clamped to [0, 1].
 *
 * @example
 * adjustContrast(image, 1.5)
 */
export function adjustContrast(image: Tensor, factor: number): Tensor {
  checkFactor('adjustContrast', 'factor', factor);
  return noGrad(() =>
    scope(() => {
      const { batch, unbatch, c } = rgbOrGray('adjustContrast', image);
      const mean = (c === 3 ? grayscale(batch) : batch).mean([1, 2, 3], { keepdim: true });
      return unbatch(blend(batch, mean, factor));
    }),
  );
}

/**
 * Blends with the image's luma, as torchvision's `adjust_saturation`: 0 gives grey, 1 the
 * image, 2 doubles the saturation; clamped to [0, 1]. One-channel images are returned as they are.
 *
 * @example
 * adjustSaturation(image, 0.5)
 */
export function adjustSaturation(image: Tensor, factor: number): Tensor {
  checkFactor('adjustSaturation', 'factor', factor);
  return noGrad(() =>
    scope(() => {
      const { batch, unbatch, c } = rgbOrGray('adjustSaturation', image);
      return unbatch(c === 1 ? batch.reshape(batch.shape) : blend(batch, grayscale(batch), factor));
    }),
  );
}

/** torchvision's `_rgb2hsv` on a batch: `[h, s, v]` planes `[N, 1, H, W]`, h in [0, 1). */
function rgbToHsv(rgb: Tensor): [Tensor, Tensor, Tensor] {
  const [r, g, b] = [0, 1, 2].map((c) => rgb.slice(1, c, c + 1)) as [Tensor, Tensor, Tensor];
  const maxc = rgb.amax(1, { keepdim: true });
  const minc = rgb.amin(1, { keepdim: true });
  const grey = maxc.eq(minc);
  const chroma = maxc.sub(minc);
  const s = chroma.div(where(grey, 1, maxc));
  const divisor = where(grey, 1, chroma);
  const rc = maxc.sub(r).div(divisor);
  const gc = maxc.sub(g).div(divisor);
  const bc = maxc.sub(b).div(divisor);
  // torchvision sums three masked terms, of which exactly one is non-zero: the same as choosing it.
  const h = where(maxc.eq(r), bc.sub(gc), where(maxc.eq(g), rc.sub(bc).add(2), gc.sub(rc).add(4)));
  const shifted = h.div(6).add(1); // in (0, 2): fmod(x, 1) is x, or x - 1 (exact)
  return [where(shifted.ge(1), shifted.sub(1), shifted), s, maxc];
}

/** torchvision's `_hsv2rgb` on `[h, s, v]` planes: an RGB batch `[N, 3, H, W]`. */
function hsvToRgb(h: Tensor, s: Tensor, v: Tensor): Tensor {
  const sector = h.mul(6).floor();
  const f = h.mul(6).sub(sector);
  const p = clamp(v.mul(s.neg().add(1)), 0, 1);
  const q = clamp(v.mul(s.mul(f).neg().add(1)), 0, 1);
  const t = clamp(v.mul(s.mul(f.neg().add(1)).neg().add(1)), 0, 1);
  // h is below 1, but (h + factor) % 1 can round up to 1 for a tiny negative sum: sector 6 is 0, as torchvision's i % 6.
  const i = where(sector.ge(6), sector.sub(6), sector);
  // Per sector 0..5, the (r, g, b) planes, as torchvision's a1, a2, a3.
  const pick = (planes: readonly Tensor[]) => planes.slice(0, 5).reduceRight((rest, plane, k) => where(i.eq(k), plane, rest), planes[5]!);
  return cat([pick([v, q, p, p, t, v]), pick([t, v, v, q, p, p]), pick([p, p, t, v, v, q])], 1);
}

/**
 * Rotates the hue by `factor` turns (in [-0.5, 0.5]) through HSV, as torchvision's
 * `adjust_hue`. One-channel images are returned as they are.
 *
 * @example
 * adjustHue(image, 0.05)
 */
export function adjustHue(image: Tensor, factor: number): Tensor {
  if (typeof factor !== 'number' || !(factor >= -0.5 && factor <= 0.5)) throw new ArgumentError(`adjustHue: expected factor in [-0.5, 0.5], got ${describe(factor)}`);
  return noGrad(() =>
    scope(() => {
      const { batch, unbatch, c } = rgbOrGray('adjustHue', image);
      if (c === 1) return unbatch(batch.reshape(batch.shape));
      const [h, s, v] = rgbToHsv(batch);
      // Python's (h + factor) % 1.0: the result takes the divisor's sign.
      const moved = h.add(factor);
      const wrapped = where(moved.lt(0), moved.add(1), where(moved.ge(1), moved.sub(1), moved));
      return unbatch(hsvToRgb(wrapped, s, v));
    }),
  );
}

/** Options of {@link randomPhotometricDistort}: each range `[lo, hi]` a factor is drawn from, as torchvision's RandomPhotometricDistort. */
export interface PhotometricDistortOptions {
  /** Brightness factor range (default [0.875, 1.125]); lo >= 0. */
  brightness?: readonly [number, number];
  /** Contrast factor range (default [0.5, 1.5]); lo >= 0. */
  contrast?: readonly [number, number];
  /** Saturation factor range (default [0.5, 1.5]); lo >= 0. */
  saturation?: readonly [number, number];
  /** Hue shift range in turns (default [-0.05, 0.05]); within [-0.5, 0.5]. */
  hue?: readonly [number, number];
  /** Probability of each distortion, and of the channel shuffle (default 0.5). */
  p?: number;
}

/** Checks a `[lo, hi]` option: numbers with min <= lo <= hi <= max (shared with detection_augment.ts). */
export function rangeOption(op: string, name: string, value: unknown, min: number, max: number): [number, number] {
  if (!Array.isArray(value) || value.length !== 2 || !value.every((v) => typeof v === 'number' && v >= min && v <= max) || value[0] > value[1]) {
    throw new ArgumentError(`${op}: expected ${name} to be [lo, hi] with ${min} <= lo <= hi <= ${max}, got ${describe(value)}`);
  }
  return [value[0] as number, value[1] as number];
}

/**
 * SSD's colour augmentation, as torchvision's RandomPhotometricDistort: each with
 * probability `p`, brightness, then contrast either before or after (a fair coin)
 * saturation and hue, each with a factor drawn from its range; finally, with probability
 * `p`, a random permutation of the channels. One draw per call (a batch gets the same
 * distortion).
 *
 * @example
 * const distort = randomPhotometricDistort({ p: 0.5 });
 * const augmented = distort(image); // [3, H, W] in [0, 1]
 */
export function randomPhotometricDistort(opts: PhotometricDistortOptions = {}): Transform {
  const op = 'randomPhotometricDistort';
  const brightness = rangeOption(op, 'brightness', opts.brightness ?? [0.875, 1.125], 0, Infinity);
  const contrast = rangeOption(op, 'contrast', opts.contrast ?? [0.5, 1.5], 0, Infinity);
  const saturation = rangeOption(op, 'saturation', opts.saturation ?? [0.5, 1.5], 0, Infinity);
  const hue = rangeOption(op, 'hue', opts.hue ?? [-0.05, 0.05], -0.5, 0.5);
  for (const [name, [, hi]] of [['brightness', brightness], ['contrast', contrast], ['saturation', saturation]] as const) {
    if (!Number.isFinite(hi)) throw new ArgumentError(`${op}: expected a finite ${name} range, got ${describe(opts[name])}`);
  }
  const p = checkInRange(op, 'p', opts.p ?? 0.5, 0, 1);
  const lerp = ([lo, hi]: readonly [number, number], u: number) => lo + (hi - lo) * u;
  return (image) =>
    noGrad(() =>
      scope(() => {
        const { c } = rgbOrGray(op, image);
        // Seven coin flips as torchvision's torch.rand(7), four factors, and keys whose order is the permutation.
        const drawn = rand([11 + c]);
        const u = drawn.dataSync();
        const contrastStep = (x: Tensor) => adjustContrast(x, lerp(contrast, u[8]!));
        let out = image;
        if (u[0]! < p) out = adjustBrightness(out, lerp(brightness, u[7]!));
        const contrastBefore = u[1]! < 0.5;
        if (contrastBefore && u[2]! < p) out = contrastStep(out);
        if (u[3]! < p) out = adjustSaturation(out, lerp(saturation, u[9]!));
        if (u[4]! < p) out = adjustHue(out, lerp(hue, u[10]!));
        if (!contrastBefore && u[5]! < p) out = contrastStep(out);
        if (u[6]! < p) {
          const keys = Array.from(u.subarray(11));
          const permutation = keys.map((_, i) => i).sort((a, b) => keys[a]! - keys[b]!);
          out = out.indexSelect(out.ndim - 3, tensor(permutation, { dtype: 'int32', device: image.device }));
        }
        return out === image ? image.reshape(image.shape) : out;
      }),
    );
}
