/**
 * The uint8 image operations of AutoAugment-style policies that photometric.ts lacks, as
 * torchvision 0.14's tensor functionals: posterize, solarize, autocontrast, equalize and
 * adjust_sharpness. Images are uint8 `[C, H, W]` or batches `[N, C, H, W]`; results are uint8.
 * Re-exported by transforms.ts.
 * @module
 */
import { noGrad } from '../autograd/grad_mode.js';
import { ArgumentError } from '../errors.js';
import { where } from '../ops/compare.js';
import { conv2d } from '../ops/conv.js';
import { pad } from '../ops/shape.js';
import { clamp } from '../ops/statistics.js';
import { checkDTypeIn } from '../ops/validate.js';
import { ones, tensor } from '../tensor/creation.js';
import { scope } from '../tensor/memory.js';
import { describe } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { batched, imageSize } from './warp.js';

/** Runs `fn` on the float32 batch `[N, C, H, W]` of a checked uint8 image and truncates back to uint8, as torchvision's `.to(uint8)`. */
export function onUint8(op: string, image: Tensor, fn: (batch: Tensor) => Tensor): Tensor<'uint8'> {
  checkDTypeIn(op, 'image', image, ['uint8']);
  return noGrad(() =>
    scope(() => {
      const { batch, unbatch } = batched(op, image);
      return unbatch(fn(batch.float()).to('uint8')) as Tensor<'uint8'>;
    }),
  );
}

/** torchvision's uint8 `_blend`: `ratio * a + (1 - ratio) * b` clamped to [0, 255] (onUint8 truncates it). @internal */
export function blendLevels(a: Tensor, b: Tensor, ratio: number): Tensor {
  return clamp(a.mul(ratio).add(b.mul(1 - ratio)), 0, 255);
}

/**
 * Keeps the `bits` highest bits of every value (an integer in [0, 8]), as torchvision's
 * `posterize`.
 *
 * @example
 * posterize(image, 4) // 16 levels per channel
 */
export function posterize(image: Tensor, bits: number): Tensor<'uint8'> {
  if (!(Number.isInteger(bits) && bits >= 0 && bits <= 8)) throw new ArgumentError(`posterize: expected bits to be an integer in [0, 8], got ${describe(bits)}`);
  // x & ~(2^(8-bits) - 1), exactly, since dividing by a power of two is exact in float32.
  const step = 2 ** (8 - bits);
  return onUint8('posterize', image, (x) => x.div(step).floor().mul(step));
}

/**
 * Inverts (255 - x) every value >= `threshold`, as torchvision's `solarize`.
 *
 * @example
 * solarize(image, 128)
 */
export function solarize(image: Tensor, threshold: number): Tensor<'uint8'> {
  if (!(typeof threshold === 'number' && threshold >= 0 && threshold <= 255)) throw new ArgumentError(`solarize: expected threshold in [0, 255], got ${describe(threshold)}`);
  return onUint8('solarize', image, (x) => where(x.ge(threshold), x.neg().add(255), x));
}

/**
 * Stretches each channel of each image linearly so its minimum becomes 0 and its maximum
 * 255 (a constant channel is left as it is), as torchvision's `autocontrast`.
 *
 * @example
 * autocontrast(image)
 */
export function autocontrast(image: Tensor): Tensor<'uint8'> {
  return onUint8('autocontrast', image, (x) => {
    const min = x.amin([-2, -1], { keepdim: true });
    const max = x.amax([-2, -1], { keepdim: true });
    const flat = max.eq(min);
    const scale = where(flat, 1, ones(min.shape, { device: x.device }).mul(255).div(max.sub(min)));
    return clamp(x.sub(where(flat, 0, min)).mul(scale), 0, 255);
  });
}

/** torchvision's `_scale_channel`: the equalizing lookup table of one channel's 256-bin histogram, applied to its pixels in place. */
function equalizeChannel(pixels: Uint8Array): void {
  const hist = new Array<number>(256).fill(0);
  for (const v of pixels) ++hist[v]!;
  // The last non-empty bin does not count toward the step.
  let last = 255;
  while (last > 0 && hist[last] === 0) --last;
  const step = Math.floor((pixels.length - hist[last]!) / 255);
  if (step === 0) return;
  const lut = new Uint8Array(256);
  let cumulative = 0;
  for (let v = 0; v < 256; ++v) {
    // lut[v] uses the count below v (torchvision pads the cumulative sum by one).
    lut[v] = Math.min(255, Math.floor((cumulative + Math.floor(step / 2)) / step));
    cumulative += hist[v]!;
  }
  for (let i = 0; i < pixels.length; ++i) pixels[i] = lut[pixels[i]!]!;
}

/**
 * Equalizes each channel's histogram, as torchvision's `equalize` (its lookup table,
 * computed per channel of each image on the host).
 *
 * @example
 * equalize(image)
 */
export function equalize(image: Tensor): Tensor<'uint8'> {
  checkDTypeIn('equalize', 'image', image, ['uint8']);
  const { h, w } = imageSize('equalize', image);
  const values = scope(() => Uint8Array.from(image.contiguous().dataSync() as Uint8Array));
  for (let offset = 0; offset < values.length; offset += h * w) equalizeChannel(values.subarray(offset, offset + h * w));
  return scope(() => tensor(values, { device: image.device }).reshape(image.shape) as Tensor<'uint8'>);
}

/**
 * Blends with a smoothed copy (the 3x3 kernel [[1, 1, 1], [1, 5, 1], [1, 1, 1]] / 13 on the
 * interior, rounded; the border kept), as torchvision's `adjust_sharpness`: 0 gives the
 * smoothed image, 1 the image, 2 sharpens. Images of height or width <= 2 come back unchanged.
 *
 * @example
 * adjustSharpness(image, 1.5)
 */
export function adjustSharpness(image: Tensor, factor: number): Tensor<'uint8'> {
  if (!(typeof factor === 'number' && factor >= 0 && Number.isFinite(factor))) {
    throw new ArgumentError(`adjustSharpness: expected factor to be a finite number >= 0, got ${describe(factor)}`);
  }
  return onUint8('adjustSharpness', image, (x) => {
    const [, c, h, w] = x.shape as [number, number, number, number];
    if (h <= 2 || w <= 2) return x;
    const kernel = tensor(Float32Array.from([1, 1, 1, 1, 5, 1, 1, 1, 1], (v) => v / 13), { device: x.device }).reshape(1, 1, 3, 3).expand([c, 1, 3, 3]).contiguous();
    const smooth = pad(conv2d(x, kernel, null, { groups: c }).round(), [1, 1, 1, 1]);
    const interior = pad(ones([1, 1, h - 2, w - 2], { device: x.device }), [1, 1, 1, 1]).gt(0);
    const degenerate = where(interior, smooth, x);
    return blendLevels(x, degenerate, factor);
  });
}
