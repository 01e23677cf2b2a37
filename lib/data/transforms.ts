/**
 * Image transforms, as torchvision.transforms, on float tensors `[C, H, W]` or batches
 * `[N, C, H, W]`. Random transforms draw from neocog's seeded generator (manualSeed), so
 * augmentation is reproducible; a batch gets one draw per image, except the crops (one
 * window per call). To move a mask or boxes along with the image, see paired_transforms.ts.
 * @module
 */
import { noGrad } from '../autograd/grad_mode.js';
import { ArgumentError, DTypeError, ShapeError } from '../errors.js';
import { pad, rot90 } from '../ops/shape.js';
import { interpolate, type InterpolateMode } from '../ops/resample.js';
import { clamp } from '../ops/statistics.js';
import { rand, randn, tensor } from '../tensor/creation.js';
import type { DeviceLike } from '../tensor/device.js';
import { scope } from '../tensor/memory.js';
import { describe } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import {
  affineRanges,
  centerOffset,
  drawAffine,
  drawCropOffset,
  drawRotation,
  IDENTITY_AFFINE,
  rotation,
  rotationRange,
  type AffineParams,
  type RandomAffineSpec,
} from './geometry.js';
import {
  affineSettings,
  batched,
  cropWindow,
  drawFlips,
  elasticSettings,
  flipWhere,
  imageSize,
  perImage,
  warp,
  type ElasticOptions,
  type WarpOptions,
  type WarpSettings,
} from './warp.js';

export type { AffineParams, RandomAffineSpec } from './geometry.js';
export type { ElasticOptions, Fill, Interpolation, WarpOptions } from './warp.js';
export {
  equalizeHistogram,
  normalizeIntensity,
  scaleIntensity,
  scaleIntensityRange,
  scaleIntensityRangePercentiles,
  windowIntensity,
} from './intensity.js';
export {
  AUGMENT_OPS,
  randAugment,
  trivialAugmentWide,
  type AugmentOp,
  type AugmentOptions,
  type RandAugmentOptions,
  type TrivialAugmentWideOptions,
} from './auto_augment.js';
export { adjustSharpness, autocontrast, equalize, posterize, solarize } from './auto_augment_ops.js';
export { randomErasing, randomResizedCrop, type RandomErasingOptions, type RandomResizedCropOptions } from './random_window.js';
export { adjustBrightness, adjustContrast, adjustHue, adjustSaturation, randomPhotometricDistort, type PhotometricDistortOptions } from './photometric.js';

/** A function from image (batch) to image (batch). */
export type Transform = (image: Tensor) => Tensor;

/** Applies transforms in order, freeing intermediate images. */
export function compose(transforms: readonly Transform[]): Transform {
  return (image) => {
    let out = image;
    for (const t of transforms) {
      const next = t(out);
      if (out !== image && next !== out) out.dispose();
      out = next;
    }
    return out;
  };
}

/** Decoded pixels, e.g. from an image decoder or a canvas. */
export interface RawImage {
  /** `height * width * channels` values in the layout toTensor is given ('hwc' by default). */
  data: Uint8Array | Uint8ClampedArray | Float32Array;
  width: number;
  height: number;
  /** Default: `data.length / (width * height)`. */
  channels?: number;
}

/** Options of {@link toTensor}. */
export interface ToTensorOptions {
  /** Memory order of the input: 'hwc' (interleaved, as decoders and numpy give; the default) or 'chw' (planar). */
  layout?: 'hwc' | 'chw';
  /** Where the result goes (default: the input tensor's device, or 'cpu' for a RawImage). */
  device?: DeviceLike;
}

function rawToTensor(image: RawImage, layout: 'hwc' | 'chw', device: DeviceLike | undefined): Tensor {
  const { width, height } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new ShapeError(`toTensor: expected positive integer width and height, got ${describe(width)} x ${describe(height)}`);
  }
  const channels = image.channels ?? image.data.length / (width * height);
  if (!Number.isInteger(channels) || channels < 1 || image.data.length !== width * height * channels) {
    throw new ShapeError(`toTensor: ${image.data.length} values do not fill ${height} x ${width} x ${describe(image.channels ?? channels)} channels`);
  }
  const data = image.data instanceof Uint8ClampedArray ? new Uint8Array(image.data.buffer, image.data.byteOffset, image.data.length) : image.data;
  const shape = layout === 'hwc' ? [height, width, channels] : [channels, height, width];
  return tensor(data, { device }).reshape(shape);
}

/**
 * Converts pixels to a float32 image `[C, H, W]`, as torchvision's ToTensor: uint8 values
 * are divided by 255 (to [0, 1]), float32 ones are kept. Takes a {@link RawImage} or a
 * tensor `[H, W, C]` (`[C, H, W]` with layout 'chw'), `[H, W]` (one channel) or a batch
 * `[N, H, W, C]` (-> `[N, C, H, W]`).
 *
 * @example
 * const image = toTensor()({ data: rgbaBytes, width: 32, height: 32 }); // [4, 32, 32] in [0, 1]
 */
export function toTensor(opts: ToTensorOptions = {}): (image: Tensor | RawImage) => Tensor<'float32'> {
  const layout = opts.layout ?? 'hwc';
  if (layout !== 'hwc' && layout !== 'chw') throw new ArgumentError(`toTensor: expected layout 'hwc' or 'chw', got ${describe(layout)}`);
  return (image) =>
    noGrad(() =>
      scope(() => {
        const source = image instanceof Tensor ? image : rawToTensor(image, layout, opts.device);
        if (source.dtype !== 'uint8' && source.dtype !== 'float32') throw new DTypeError(`toTensor: expected image dtype uint8 or float32, got ${source.dtype}`);
        let chw: Tensor;
        if (source.ndim === 2) chw = source.unsqueeze(0);
        else if (source.ndim === 3) chw = layout === 'hwc' ? source.permute(2, 0, 1) : source;
        else if (source.ndim === 4) chw = layout === 'hwc' ? source.permute(0, 3, 1, 2) : source;
        else throw new ShapeError(`toTensor: expected an image [H, W, C], [H, W] or a batch [N, H, W, C], got shape [${source.shape.join(', ')}]`);
        const moved = opts.device !== undefined ? chw.to(opts.device) : chw;
        return (moved.dtype === 'uint8' ? moved.to('float32').div(255) : moved.contiguous()) as Tensor<'float32'>;
      }),
    );
}

/** `(image - mean[c]) / std[c]` per channel. */
export function normalize(mean: readonly number[], std: readonly number[]): Transform {
  if (mean.length !== std.length || std.some((s) => s === 0)) throw new ArgumentError('normalize: mean and std need one non-zero entry per channel');
  return (image) =>
    noGrad(() =>
      scope(() => {
        const { batch, unbatch } = batched('normalize', image);
        if (batch.shape[1] !== mean.length) throw new ShapeError(`normalize: ${mean.length} channel statistics for ${batch.shape[1]} channels`);
        const m = tensor(Float32Array.from(mean), { device: image.device }).reshape(1, -1, 1, 1);
        const s = tensor(Float32Array.from(std), { device: image.device }).reshape(1, -1, 1, 1);
        return unbatch(batch.sub(m).div(s));
      }),
    );
}

/** Resizes to `size` ([H, W] or the shorter side is not supported: give both). */
export function resize(size: readonly [number, number], mode: InterpolateMode = 'bilinear'): Transform {
  return (image) =>
    scope(() => {
      const { batch, unbatch } = batched('resize', image);
      return unbatch(interpolate(batch, { size, mode, ...(mode === 'nearest' ? {} : { alignCorners: false }) }));
    });
}

/** The central `[H, W]` window (offsets rounded as torchvision's center_crop). */
export function centerCrop(size: readonly [number, number]): Transform {
  return (image) => {
    const [h, w] = image.shape.slice(-2) as [number, number];
    if (size[0] > h || size[1] > w) throw new ShapeError(`centerCrop: ${size.join('x')} is larger than the image ${h}x${w}`);
    const [top, left] = centerOffset(h, w, size);
    return cropWindow(image, top, left, size);
  };
}

/**
 * A random `[H, W]` window after zero-padding by `padding` on every side (CIFAR-style
 * augmentation); one offset per call (the same for a whole batch).
 */
export function randomCrop(size: readonly [number, number], padding = 0): Transform {
  return (image) => {
    const padded = padding > 0 ? pad(image, [padding, padding, padding, padding]) : image;
    const [h, w] = padded.shape.slice(-2) as [number, number];
    if (size[0] > h || size[1] > w) throw new ShapeError(`randomCrop: ${size.join('x')} is larger than the padded image ${h}x${w}`);
    const [top, left] = drawCropOffset(h, w, size);
    const out = cropWindow(padded, top, left, size);
    if (padded !== image) padded.dispose();
    return out;
  };
}

function randomFlip(op: string, dim: number, p: number): Transform {
  return (image) =>
    noGrad(() =>
      scope(() => {
        const { batch, unbatch } = batched(op, image);
        return unbatch(flipWhere(batch, drawFlips(batch.shape[0]!, p, image.device), dim));
      }),
    );
}

/** Mirrors each image left-right with probability `p` (default 0.5). */
export function randomHorizontalFlip(p = 0.5): Transform {
  return randomFlip('randomHorizontalFlip', 3, p);
}

/** Mirrors each image top-bottom with probability `p` (default 0.5). */
export function randomVerticalFlip(p = 0.5): Transform {
  return randomFlip('randomVerticalFlip', 2, p);
}

/** Rotates by a random multiple of 90 degrees (square images; one draw per call). */
export function randomRotation90(): Transform {
  return (image) => {
    const [h, w] = image.shape.slice(-2) as [number, number];
    if (h !== w) throw new ShapeError(`randomRotation90: needs square images, got ${h}x${w}`);
    const k = Math.min(Math.floor(rand([1]).item() * 4), 3);
    return rot90(image, k, [-2, -1]);
  };
}

function warpTransform(op: string, settings: WarpSettings): Transform {
  return (image) => {
    const { n, h, w } = imageSize(op, image);
    return scope(() => warp(op, image, settings.draw(n, h, w, image.device).grid, settings.mode, settings.fill));
  };
}

/**
 * Applies one affine map, as `torchvision.transforms.functional.affine` (see
 * {@link AffineParams}: `angle` is clockwise on screen, `translate` in pixels); parameters
 * left out are the identity's.
 *
 * @example
 * affine(image, { angle: 30, scale: 1.2 }, { interpolation: 'bilinear' })
 */
export function affine(image: Tensor, params: Partial<AffineParams>, opts: WarpOptions = {}): Tensor {
  const full: AffineParams = { ...IDENTITY_AFFINE, ...params };
  if (!(full.scale > 0)) throw new ArgumentError(`affine: expected scale > 0, got ${describe(full.scale)}`);
  return warpTransform('affine', affineSettings('affine', (n) => new Array<AffineParams>(n).fill(full), opts))(image);
}

/** Rotates by `angle` degrees counter-clockwise about the center (same size), as `torchvision.transforms.functional.rotate`. */
export function rotate(image: Tensor, angle: number, opts: WarpOptions = {}): Tensor {
  return warpTransform('rotate', affineSettings('rotate', (n) => new Array<AffineParams>(n).fill(rotation(angle)), opts))(image);
}

/**
 * Rotates each image by an angle drawn uniformly from `degrees` (`d` means [-d, d]),
 * counter-clockwise about the center, keeping the size, as torchvision's RandomRotation.
 *
 * @example
 * randomRotation(15, { interpolation: 'bilinear' })
 */
export function randomRotation(degrees: number | readonly [number, number], opts: WarpOptions = {}): Transform {
  const range = rotationRange('randomRotation', degrees);
  return warpTransform('randomRotation', affineSettings('randomRotation', (n) => drawRotation(range, n), opts));
}

/** Options of {@link randomAffine}. */
export interface RandomAffineOptions extends RandomAffineSpec, WarpOptions {}

/**
 * A random affine map per image, as torchvision's RandomAffine: an angle from `degrees`
 * (clockwise on screen, unlike randomRotation, as in torchvision), a whole-pixel shift up
 * to `translate` = [fx * W, fy * H], a scale from `scale` and shears from `shear`, all
 * about the image center.
 *
 * @example
 * randomAffine({ degrees: 10, translate: [0.1, 0.1], scale: [0.9, 1.1], interpolation: 'bilinear' })
 */
export function randomAffine(opts: RandomAffineOptions): Transform {
  const ranges = affineRanges('randomAffine', opts);
  return warpTransform('randomAffine', affineSettings('randomAffine', (n, h, w) => drawAffine(ranges, n, h, w), opts));
}

/**
 * Moves pixels by a random smooth displacement field (one per image), as torchvision's
 * ElasticTransform: uniform noise in [-1, 1] blurred by a Gaussian of `sigma` pixels
 * (kernel about 8 sigma + 1, reflect padding) and scaled by `alpha` over the image size.
 * `alpha: 0` leaves the image unchanged.
 *
 * @example
 * elasticTransform({ alpha: 30, sigma: 4 })
 */
export function elasticTransform(opts: ElasticOptions = {}): Transform {
  return warpTransform('elasticTransform', elasticSettings('elasticTransform', opts));
}

/** Scales brightness by a factor in [1 - b, 1 + b] and contrast (around the image mean) by one in [1 - c, 1 + c], per image. */
export function colorJitter(opts: { brightness?: number; contrast?: number }): Transform {
  const b = opts.brightness ?? 0;
  const c = opts.contrast ?? 0;
  return (image) =>
    noGrad(() =>
      scope(() => {
        const { batch, unbatch } = batched('colorJitter', image);
        const n = batch.shape[0]!;
        let out: Tensor = batch;
        if (b > 0) out = out.mul(perImage(n, image.device).mul(2 * b).add(1 - b));
        if (c > 0) {
          const mean = out.mean([1, 2, 3], { keepdim: true });
          out = out.sub(mean).mul(perImage(n, image.device).mul(2 * c).add(1 - c)).add(mean);
        }
        return unbatch(out === batch ? batch.reshape(batch.shape) : out);
      }),
    );
}

/** `image ^ gamma` for images in [0, 1] (values below 0 are clamped first). */
export function adjustGamma(gamma: number): Transform {
  if (!(gamma > 0)) throw new ArgumentError(`adjustGamma: expected gamma > 0, got ${gamma}`);
  return (image) => noGrad(() => scope(() => clamp(image, 0, null).pow(gamma)));
}

/** Adds Gaussian noise with standard deviation `std`. */
export function gaussianNoise(std: number): Transform {
  if (!(std >= 0)) throw new ArgumentError(`gaussianNoise: expected std >= 0, got ${std}`);
  return (image) => noGrad(() => scope(() => image.add(randn(image.shape, { device: image.device }).mul(std))));
}
