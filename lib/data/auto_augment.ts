/**
 * TrivialAugmentWide (Müller & Hutter 2021) and RandAugment (Cubuk et al. 2020) on uint8
 * images, as torchvision 0.14's tensor path: the same op tables, magnitude bins and
 * `_apply_op` arguments, drawing from neocog's seeded generator. Re-exported by transforms.ts.
 * @module
 */
import { ArgumentError } from '../errors.js';
import { affineGrid } from '../ops/grid_sample.js';
import { clamp } from '../ops/statistics.js';
import { checkDTypeIn } from '../ops/validate.js';
import { rand, tensor } from '../tensor/creation.js';
import { describe } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { adjustSharpness, autocontrast, blendLevels, equalize, onUint8, posterize, solarize } from './auto_augment_ops.js';
import { gridTheta, IDENTITY_AFFINE, rotation, roundHalfEven, type AffineParams } from './geometry.js';
import { checkFill, checkInterpolation, imageSize, sampleWithFill, type Fill, type Interpolation } from './warp.js';

/** The ops of both policies, in torchvision's order (the draw picks by index). */
export const AUGMENT_OPS = [
  'Identity', 'ShearX', 'ShearY', 'TranslateX', 'TranslateY', 'Rotate', 'Brightness',
  'Color', 'Contrast', 'Sharpness', 'Posterize', 'Solarize', 'AutoContrast', 'Equalize',
] as const;

/** One op of {@link AUGMENT_OPS}. */
export type AugmentOp = (typeof AUGMENT_OPS)[number];

/** Resampling options of the geometric ops. */
export interface AugmentOptions {
  /** 'nearest' (default, as torchvision) or 'bilinear'. */
  interpolation?: Interpolation;
  /** Value of pixels that come from outside the image: one, or one per channel (default 0). */
  fill?: Fill;
}

/** torch.linspace(start, end, steps) in float32, computed from both ends as torch's CPU kernel. */
function linspace(start: number, end: number, steps: number): number[] {
  const step = Math.fround((end - start) / (steps - 1));
  return Array.from({ length: steps }, (_, i) => (i < steps / 2 ? Math.fround(start + i * step) : Math.fround(end - (steps - 1 - i) * step)));
}

/** Magnitudes per op (one bin table; `null` for the ops without a magnitude) and whether their sign is drawn. */
type Table = Record<AugmentOp, { magnitudes: number[] | null; signed: boolean }>;

function table(bins: number, shear: number, translate: readonly [number, number], rotate: number, enhance: number, posterizeSpan: number): Table {
  const signed = (magnitudes: number[]) => ({ magnitudes, signed: true });
  const none = { magnitudes: null, signed: false };
  const levels = Array.from({ length: bins }, (_, i) => 8 - roundHalfEven(Math.fround(i / Math.fround((bins - 1) / posterizeSpan))));
  return {
    Identity: none,
    ShearX: signed(linspace(0, shear, bins)),
    ShearY: signed(linspace(0, shear, bins)),
    TranslateX: signed(linspace(0, translate[0], bins)),
    TranslateY: signed(linspace(0, translate[1], bins)),
    Rotate: signed(linspace(0, rotate, bins)),
    Brightness: signed(linspace(0, enhance, bins)),
    Color: signed(linspace(0, enhance, bins)),
    Contrast: signed(linspace(0, enhance, bins)),
    Sharpness: signed(linspace(0, enhance, bins)),
    Posterize: { magnitudes: levels, signed: false },
    Solarize: { magnitudes: linspace(255, 0, bins), signed: false },
    AutoContrast: none,
    Equalize: none,
  };
}

/** TrivialAugmentWide's table (`_augmentation_space` of torchvision 0.14). @internal */
export function wideTable(bins: number): Table {
  return table(bins, 0.99, [32, 32], 135, 0.99, 6);
}

/** RandAugment's table for an `h x w` image (translations scale with the image). @internal */
export function randTable(bins: number, h: number, w: number): Table {
  return table(bins, 0.3, [Math.fround((150 / 331) * w), Math.fround((150 / 331) * h)], 30, 0.9, 4);
}

/** An affine map of a uint8 image about the image centre or, as torchvision's shears, its top-left corner. */
function affineUint8(image: Tensor, params: AffineParams, center: 'image' | 'corner', mode: Interpolation, fill: readonly number[]): Tensor {
  return onUint8('augment', image, (x) => {
    const [n, , h, w] = x.shape as [number, number, number, number];
    // torchvision's center=[0, 0] is [-w/2, -h/2] relative to the image centre.
    const theta = gridTheta(params, h, w, center === 'image' ? [0, 0] : [-w / 2, -h / 2]);
    const grid = affineGrid(tensor(Float32Array.from({ length: 6 * n }, (_, i) => theta[i % 6]!), { device: x.device }).reshape(n, 2, 3), [n, 1, h, w]);
    // Nearest samples are whole levels; bilinear ones are rounded, as torchvision's _cast_squeeze_out.
    return sampleWithFill('augment', x, grid, mode, fill).round();
  });
}

/**
 * torchvision's uint8 `rgb_to_grayscale`: the luma truncated to a level (photometric.ts keeps
 * it fractional, which is right for float images but moves uint8 Color and Contrast a level).
 */
function lumaLevels(x: Tensor): Tensor {
  const [r, g, b] = [0, 1, 2].map((c) => x.slice(1, c, c + 1)) as [Tensor, Tensor, Tensor];
  return r.mul(0.2989).add(g.mul(0.587)).add(b.mul(0.114)).floor();
}

/** torchvision's adjust_saturation of a uint8 image (one channel: unchanged). */
function colorUint8(image: Tensor, factor: number): Tensor {
  return onUint8('augment', image, (x) => (x.shape[1] === 3 ? blendLevels(x, lumaLevels(x), factor) : x));
}

/** torchvision's adjust_contrast of a uint8 image: blended with the mean of its luma levels. */
function contrastUint8(image: Tensor, factor: number): Tensor {
  return onUint8('augment', image, (x) => blendLevels(x, (x.shape[1] === 3 ? lumaLevels(x) : x).mean([1, 2, 3], { keepdim: true }), factor));
}

/**
 * One op at a signed `magnitude` on a uint8 image `[C, H, W]` or batch, with torchvision's
 * `_apply_op` arguments (shears as tan(angle) about the top-left corner, whole-pixel
 * translations, factors 1 + magnitude). @internal
 */
export function applyAugmentOp(image: Tensor, op: AugmentOp, magnitude: number, mode: Interpolation, fill: readonly number[]): Tensor {
  const degrees = (Math.atan(magnitude) * 180) / Math.PI;
  switch (op) {
    case 'Identity':
      return image;
    case 'ShearX':
      return affineUint8(image, { ...IDENTITY_AFFINE, shear: [degrees, 0] }, 'corner', mode, fill);
    case 'ShearY':
      return affineUint8(image, { ...IDENTITY_AFFINE, shear: [0, degrees] }, 'corner', mode, fill);
    case 'TranslateX':
      return affineUint8(image, { ...IDENTITY_AFFINE, translate: [Math.trunc(magnitude), 0] }, 'image', mode, fill);
    case 'TranslateY':
      return affineUint8(image, { ...IDENTITY_AFFINE, translate: [0, Math.trunc(magnitude)] }, 'image', mode, fill);
    case 'Rotate':
      return affineUint8(image, rotation(magnitude), 'image', mode, fill);
    case 'Brightness':
      // torchvision's uint8 adjust_brightness: a blend with black. (photometric.ts's works on
      // [0, 1]; scaling there and back can land a hair under a level and truncate one below.)
      return onUint8('augment', image, (x) => clamp(x.mul(1 + magnitude), 0, 255));
    case 'Color':
      return colorUint8(image, 1 + magnitude);
    case 'Contrast':
      return contrastUint8(image, 1 + magnitude);
    case 'Sharpness':
      return adjustSharpness(image, 1 + magnitude);
    case 'Posterize':
      return posterize(image, Math.trunc(magnitude));
    case 'Solarize':
      return solarize(image, magnitude);
    case 'AutoContrast':
      return autocontrast(image);
    case 'Equalize':
      return equalize(image);
  }
}

/** Draws an op and its sign from `u` (three uniforms) and applies it at bin `bin` (or a drawn bin when null). */
function applyDrawn(image: Tensor, ops: Table, u: ArrayLike<number>, bin: number | null, mode: Interpolation, fill: readonly number[]): Tensor {
  const op = AUGMENT_OPS[Math.min(Math.floor(u[0]! * AUGMENT_OPS.length), AUGMENT_OPS.length - 1)]!;
  const { magnitudes, signed } = ops[op];
  const index = bin ?? Math.min(Math.floor(u[1]! * (magnitudes?.length ?? 1)), (magnitudes?.length ?? 1) - 1);
  const magnitude = magnitudes ? magnitudes[index]! : 0;
  return applyAugmentOp(image, op, signed && u[2]! < 0.5 ? -magnitude : magnitude, mode, fill);
}

function settings(op: string, opts: AugmentOptions): { mode: Interpolation; fill: readonly number[] } {
  return { mode: checkInterpolation(op, opts.interpolation ?? 'nearest'), fill: checkFill(op, opts.fill ?? 0) };
}

/** Checked before any draw, so a wrong image names the policy rather than the op drawn. */
function checkImage(op: string, image: Tensor): { h: number; w: number } {
  checkDTypeIn(op, 'image', image, ['uint8']);
  return imageSize(op, image);
}

function checkBins(op: string, bins: number): void {
  if (!(Number.isInteger(bins) && bins >= 2)) throw new ArgumentError(`${op}: expected numMagnitudeBins to be an integer >= 2, got ${describe(bins)}`);
}

/** Options of {@link trivialAugmentWide}. */
export interface TrivialAugmentWideOptions extends AugmentOptions {
  /** Number of magnitude bins (an integer >= 2, default 31). */
  numMagnitudeBins?: number;
}

/**
 * TrivialAugment Wide, as torchvision's TrivialAugmentWide: per call one op drawn uniformly
 * from {@link AUGMENT_OPS}, a magnitude drawn uniformly from its bins and, for signed ops, a
 * fair sign. uint8 images `[C, H, W]` (1 or 3 channels) or batches (one draw per call);
 * apply before toTensor.
 *
 * @example
 * const augment = transforms.compose([transforms.trivialAugmentWide(), transforms.toTensor({ layout: 'chw' })]);
 */
export function trivialAugmentWide(opts: TrivialAugmentWideOptions = {}): (image: Tensor) => Tensor {
  const bins = opts.numMagnitudeBins ?? 31;
  checkBins('trivialAugmentWide', bins);
  const { mode, fill } = settings('trivialAugmentWide', opts);
  const ops = wideTable(bins);
  return (image) => {
    checkImage('trivialAugmentWide', image);
    const draws = rand([3]);
    const u = draws.dataSync();
    draws.dispose();
    return applyDrawn(image, ops, u, null, mode, fill);
  };
}

/** Options of {@link randAugment}. */
export interface RandAugmentOptions extends AugmentOptions {
  /** Ops applied in sequence per call (an integer >= 0, default 2). */
  numOps?: number;
  /** The magnitude bin every op uses (an integer in [0, numMagnitudeBins), default 9). */
  magnitude?: number;
  /** Number of magnitude bins (an integer >= 2, default 31). */
  numMagnitudeBins?: number;
}

/**
 * RandAugment, as torchvision's RandAugment: `numOps` times, an op drawn uniformly from
 * {@link AUGMENT_OPS} at the fixed bin `magnitude` (translations scale with the image:
 * up to 150/331 of its size), with a fair sign for signed ops. uint8 images `[C, H, W]`
 * (1 or 3 channels) or batches (one draw per call).
 *
 * @example
 * const augment = transforms.randAugment({ numOps: 2, magnitude: 9 });
 * const out = augment(uint8Image);
 */
export function randAugment(opts: RandAugmentOptions = {}): (image: Tensor) => Tensor {
  const op = 'randAugment';
  const numOps = opts.numOps ?? 2;
  const bins = opts.numMagnitudeBins ?? 31;
  const magnitude = opts.magnitude ?? 9;
  if (!(Number.isInteger(numOps) && numOps >= 0)) throw new ArgumentError(`${op}: expected numOps to be an integer >= 0, got ${describe(opts.numOps)}`);
  checkBins(op, bins);
  if (!(Number.isInteger(magnitude) && magnitude >= 0 && magnitude < bins)) {
    throw new ArgumentError(`${op}: expected magnitude to be an integer in [0, ${bins}), got ${describe(opts.magnitude)}`);
  }
  const { mode, fill } = settings(op, opts);
  return (image) => {
    const { h, w } = checkImage(op, image);
    const ops = randTable(bins, h, w);
    const draws = rand([numOps, 3]);
    const u = draws.dataSync();
    draws.dispose();
    let out = image;
    for (let i = 0; i < numOps; ++i) {
      const next = applyDrawn(out, ops, u.subarray(3 * i, 3 * i + 3), magnitude, mode, fill);
      if (out !== image && next !== out) out.dispose();
      out = next;
    }
    return out;
  };
}
