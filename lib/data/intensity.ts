/**
 * Intensity normalisation for images and volumes, as MONAI's intensity transforms: min-max
 * scaling, z-score, range and percentile scaling, CT windowing and histogram equalisation.
 * Each takes a float32 tensor of any shape (channel-first `[C, ...]` where a transform works
 * per channel) and returns a new one; all run as tensor ops on the input's device.
 * @module
 */
import { noGrad } from '../autograd/grad_mode.js';
import { ArgumentError, DTypeError } from '../errors.js';
import { where } from '../ops/compare.js';
import { histc, quantile } from '../ops/sort.js';
import { clamp } from '../ops/statistics.js';
import { gather } from '../ops/indexing.js';
import { cumsum } from '../ops/cumulative.js';
import { scope } from '../tensor/memory.js';
import { describe } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Transform } from './transforms.js';

function checkImage(op: string, image: Tensor): void {
  if (image.dtype !== 'float32') throw new DTypeError(`${op}: expected a float32 image, got ${image.dtype}; convert with .float()`);
}

function checkFinite(op: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new ArgumentError(`${op}: expected ${name} to be a finite number, got ${describe(value)}`);
  return value;
}

/** Runs `fn` without autograd, freeing its temporaries: every transform here is preprocessing. */
const run = (fn: () => Tensor): Tensor => noGrad(() => scope(fn));

/**
 * `(x - aMin) / (aMax - aMin) · (bMax - bMin) + bMin`, as MONAI's ScaleIntensityRange (CT
 * windows, fixed ranges); `clip` clamps the result to [bMin, bMax].
 *
 * @example
 * const hu = data.transforms.scaleIntensityRange({ aMin: -1000, aMax: 1000, bMin: 0, bMax: 1, clip: true });
 * const scaled = hu(ct);
 */
export function scaleIntensityRange(opts: { aMin: number; aMax: number; bMin?: number; bMax?: number; clip?: boolean }): Transform {
  const op = 'scaleIntensityRange';
  const aMin = checkFinite(op, 'aMin', opts.aMin);
  const aMax = checkFinite(op, 'aMax', opts.aMax);
  const bMin = checkFinite(op, 'bMin', opts.bMin ?? 0);
  const bMax = checkFinite(op, 'bMax', opts.bMax ?? 1);
  if (aMax === aMin) throw new ArgumentError(`${op}: expected aMax != aMin, got both ${aMin}`);
  return (image) => {
    checkImage(op, image);
    return run(() => {
      const out = image.sub(aMin).mul((bMax - bMin) / (aMax - aMin)).add(bMin);
      return opts.clip ? clamp(out, Math.min(bMin, bMax), Math.max(bMin, bMax)) : out;
    });
  };
}

/**
 * Min-max scaling of the whole tensor to [min, max] (default [0, 1]), as MONAI's
 * ScaleIntensity; a constant image becomes `min` everywhere.
 *
 * @example
 * const unit = data.transforms.scaleIntensity()(image); // values in [0, 1]
 */
export function scaleIntensity(opts: { min?: number; max?: number } = {}): Transform {
  const op = 'scaleIntensity';
  const lo = checkFinite(op, 'min', opts.min ?? 0);
  const hi = checkFinite(op, 'max', opts.max ?? 1);
  return (image) => {
    checkImage(op, image);
    return run(() => {
      const [xMin, xMax] = [image.amin(), image.amax()];
      const range = xMax.sub(xMin);
      // A constant image has range 0: divide by 1 instead, which maps it to lo.
      return image.sub(xMin).div(where(range.gt(0), range, 1)).mul(hi - lo).add(lo);
    });
  };
}

/**
 * Z-score normalisation `(x - mean) / std` (population std), as MONAI's NormalizeIntensity:
 * over the whole tensor, or per channel (dim 0) with `channelWise`; with `nonzero`, only the
 * non-zero values are normalised and used for the statistics (the background stays 0). A
 * zero std divides by 1. `subtrahend`/`divisor` replace the computed statistics.
 *
 * @example
 * const z = data.transforms.normalizeIntensity({ nonzero: true, channelWise: true })(mri); // [C, D, H, W]
 */
export function normalizeIntensity(opts: { subtrahend?: number; divisor?: number; nonzero?: boolean; channelWise?: boolean } = {}): Transform {
  const op = 'normalizeIntensity';
  if (opts.subtrahend !== undefined) checkFinite(op, 'subtrahend', opts.subtrahend);
  if (opts.divisor !== undefined && !(checkFinite(op, 'divisor', opts.divisor) !== 0)) throw new ArgumentError(`${op}: expected divisor != 0`);
  return (image) => {
    checkImage(op, image);
    if (opts.channelWise && image.ndim < 2) throw new ArgumentError(`${op}: channelWise needs a channel-first image [C, ...], got shape [${image.shape.join(', ')}]`);
    return run(() => {
      // Statistics over every dim but the channel's (dim 0) when channel-wise.
      const dims = opts.channelWise ? [...image.shape.keys()].slice(1) : [...image.shape.keys()];
      const mask = opts.nonzero ? image.ne(0).float() : null;
      const count = mask ? clamp(mask.sum(dims, { keepdim: true }), 1) : image.numel / (opts.channelWise ? image.shape[0]! : 1);
      const sum = (t: Tensor) => (mask ? t.mul(mask) : t).sum(dims, { keepdim: true });
      const dataMean = sum(image).div(count);
      const mean = opts.subtrahend ?? dataMean;
      let std: Tensor | number;
      if (opts.divisor !== undefined) std = opts.divisor;
      else {
        // The population std of the data about its own mean, as MONAI (whatever the subtrahend).
        const computed = sum(image.sub(dataMean).pow(2)).div(count).sqrt();
        std = where(computed.gt(0), computed, 1);
      }
      const out = image.sub(mean).div(std);
      return mask ? where(mask.gt(0), out, 0) : out;
    });
  };
}

/**
 * Scales the range between the `lower` and `upper` percentiles (0–100, linear interpolation
 * as torch.quantile) to [bMin, bMax], as MONAI's ScaleIntensityRangePercentiles; with
 * `clip` (percentile clipping), values beyond are clamped.
 *
 * @example
 * const robust = data.transforms.scaleIntensityRangePercentiles({ lower: 1, upper: 99, clip: true });
 */
export function scaleIntensityRangePercentiles(opts: { lower: number; upper: number; bMin?: number; bMax?: number; clip?: boolean }): Transform {
  const op = 'scaleIntensityRangePercentiles';
  const { lower, upper } = opts;
  if (!(lower >= 0 && upper <= 100 && lower < upper)) throw new ArgumentError(`${op}: expected 0 <= lower < upper <= 100, got lower ${describe(lower)}, upper ${describe(upper)}`);
  const bMin = checkFinite(op, 'bMin', opts.bMin ?? 0);
  const bMax = checkFinite(op, 'bMax', opts.bMax ?? 1);
  return (image) => {
    checkImage(op, image);
    return run(() => {
      const q = quantile(image, [lower / 100, upper / 100]);
      const [aMin, aMax] = [q.slice(0, 0, 1), q.slice(0, 1, 2)];
      const range = aMax.sub(aMin);
      const out = image.sub(aMin).div(where(range.gt(0), range, 1)).mul(bMax - bMin).add(bMin);
      return opts.clip ? clamp(out, Math.min(bMin, bMax), Math.max(bMin, bMax)) : out;
    });
  };
}

/**
 * CT windowing: values in [center − width/2, center + width/2] (Hounsfield units) mapped
 * linearly to [outMin, outMax] (default [0, 1]), values outside clamped.
 *
 * @example
 * const lung = data.transforms.windowIntensity({ center: -600, width: 1500 });
 * const softTissue = data.transforms.windowIntensity({ center: 40, width: 400 });
 */
export function windowIntensity(opts: { center: number; width: number; outMin?: number; outMax?: number }): Transform {
  const op = 'windowIntensity';
  const center = checkFinite(op, 'center', opts.center);
  if (!(checkFinite(op, 'width', opts.width) > 0)) throw new ArgumentError(`${op}: expected width > 0, got ${opts.width}`);
  return scaleIntensityRange({ aMin: center - opts.width / 2, aMax: center + opts.width / 2, bMin: opts.outMin ?? 0, bMax: opts.outMax ?? 1, clip: true });
}

/**
 * Histogram equalisation as scikit-image's `equalize_hist`: the histogram of `bins` equal
 * bins over the data range, its normalised cumulative sum, and each value mapped to it by
 * linear interpolation between bin centres (values before the first or after the last
 * centre take the end values). Output in [0, 1]. Reads the data range back (one sync).
 *
 * @example
 * const flat = data.transforms.equalizeHistogram({ bins: 256 })(image);
 */
export function equalizeHistogram(opts: { bins?: number } = {}): Transform {
  const op = 'equalizeHistogram';
  const bins = opts.bins ?? 256;
  if (!Number.isInteger(bins) || bins < 1) throw new ArgumentError(`${op}: expected bins to be a positive integer, got ${describe(bins)}`);
  return (image) => {
    checkImage(op, image);
    return run(() => {
      const flat = image.reshape(-1);
      const [lo, hi] = [flat.amin().item(), flat.amax().item()];
      if (!(hi > lo) || bins === 1) return image.mul(0).add(1); // one bin: the cdf is 1 everywhere
      const cdf = cumsum(histc(flat, bins, lo, hi), 0);
      const normalised = cdf.div(cdf.slice(0, bins - 1, bins));
      const width = (hi - lo) / bins;
      // Position among the bin centres lo + (k + 1/2) width.
      const position = flat.sub(lo + width / 2).div(width);
      const k = clamp(position.floor(), 0, bins - 2);
      const frac = clamp(position.sub(k), 0, 1);
      const index = k.to('int32');
      const left = gather(normalised, 0, index);
      const right = gather(normalised, 0, index.add(1));
      return left.add(right.sub(left).mul(frac)).reshape(image.shape);
    });
  };
}
