/**
 * Image transforms, as torchvision.transforms, on float tensors `[C, H, W]` or batches
 * `[N, C, H, W]`. Random transforms draw from neocog's seeded generator (manualSeed), so
 * augmentation is reproducible; a batch gets one draw per image.
 * @module
 */
import { noGrad } from '../autograd/grad_mode.js';
import { ArgumentError, ShapeError } from '../errors.js';
import { where } from '../ops/compare.js';
import { flip, pad, rot90 } from '../ops/shape.js';
import { interpolate, type InterpolateMode } from '../ops/resample.js';
import { clamp } from '../ops/statistics.js';
import { rand, randn, tensor } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';

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

function batched(op: string, image: Tensor): { batch: Tensor; unbatch: (t: Tensor) => Tensor } {
  if (image.ndim === 3) return { batch: image.unsqueeze(0), unbatch: (t) => t.squeeze(0) };
  if (image.ndim === 4) return { batch: image, unbatch: (t) => t };
  throw new ShapeError(`${op}: expected an image [C, H, W] or a batch [N, C, H, W], got shape [${image.shape.join(', ')}]`);
}

/** One uniform draw per image, shaped `[N, 1, 1, 1]`. */
function perImage(n: number, device: Tensor['device']): Tensor<'float32'> {
  return rand([n, 1, 1, 1], { device });
}

/** `(image - mean[c]) / std[c]` per channel. */
export function normalize(mean: readonly number[], std: readonly number[]): Transform {
  if (mean.length !== std.length || std.some((s) => s === 0)) throw new ArgumentError('normalize: mean and std need one non-zero entry per channel');
  return (image) =>
    noGrad(() => {
      const { batch, unbatch } = batched('normalize', image);
      if (batch.shape[1] !== mean.length) throw new ShapeError(`normalize: ${mean.length} channel statistics for ${batch.shape[1]} channels`);
      const m = tensor(Float32Array.from(mean), { device: image.device }).reshape(1, -1, 1, 1);
      const s = tensor(Float32Array.from(std), { device: image.device }).reshape(1, -1, 1, 1);
      return unbatch(batch.sub(m).div(s));
    });
}

/** Resizes to `size` ([H, W] or the shorter side is not supported: give both). */
export function resize(size: readonly [number, number], mode: InterpolateMode = 'bilinear'): Transform {
  return (image) => {
    const { batch, unbatch } = batched('resize', image);
    return unbatch(interpolate(batch, { size, mode, ...(mode === 'nearest' ? {} : { alignCorners: false }) }));
  };
}

/** The central `[H, W]` window. */
export function centerCrop(size: readonly [number, number]): Transform {
  return (image) => {
    const [h, w] = image.shape.slice(-2) as [number, number];
    if (size[0] > h || size[1] > w) throw new ShapeError(`centerCrop: ${size.join('x')} is larger than the image ${h}x${w}`);
    const top = Math.floor((h - size[0]) / 2);
    const left = Math.floor((w - size[1]) / 2);
    return image.slice(-2, top, top + size[0]).slice(-1, left, left + size[1]);
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
    const draws = Array.from(rand([2]).dataSync());
    const top = Math.min(Math.floor(draws[0]! * (h - size[0] + 1)), h - size[0]);
    const left = Math.min(Math.floor(draws[1]! * (w - size[1] + 1)), w - size[1]);
    const out = padded.slice(-2, top, top + size[0]).slice(-1, left, left + size[1]);
    if (padded !== image) padded.dispose();
    return out;
  };
}

function randomFlip(op: string, dim: number, p: number): Transform {
  return (image) =>
    noGrad(() => {
      const { batch, unbatch } = batched(op, image);
      const flipped = flip(batch, [dim]);
      const chosen = perImage(batch.shape[0]!, image.device).lt(p);
      return unbatch(where(chosen, flipped, batch));
    });
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

/** Scales brightness by a factor in [1 - b, 1 + b] and contrast (around the image mean) by one in [1 - c, 1 + c], per image. */
export function colorJitter(opts: { brightness?: number; contrast?: number }): Transform {
  const b = opts.brightness ?? 0;
  const c = opts.contrast ?? 0;
  return (image) =>
    noGrad(() => {
      const { batch, unbatch } = batched('colorJitter', image);
      const n = batch.shape[0]!;
      let out: Tensor = batch;
      if (b > 0) out = out.mul(perImage(n, image.device).mul(2 * b).add(1 - b));
      if (c > 0) {
        const mean = out.mean([1, 2, 3], { keepdim: true });
        out = out.sub(mean).mul(perImage(n, image.device).mul(2 * c).add(1 - c)).add(mean);
      }
      return unbatch(out === batch ? batch.reshape(batch.shape) : out);
    });
}

/** `image ^ gamma` for images in [0, 1] (values below 0 are clamped first). */
export function adjustGamma(gamma: number): Transform {
  if (!(gamma > 0)) throw new ArgumentError(`adjustGamma: expected gamma > 0, got ${gamma}`);
  return (image) => noGrad(() => clamp(image, 0, null).pow(gamma));
}

/** Adds Gaussian noise with standard deviation `std`. */
export function gaussianNoise(std: number): Transform {
  if (!(std >= 0)) throw new ArgumentError(`gaussianNoise: expected std >= 0, got ${std}`);
  return (image) => noGrad(() => image.add(randn(image.shape, { device: image.device }).mul(std)));
}
