/**
 * Tensor plumbing shared by the image and paired transforms: batching, per-image draws,
 * and resampling through affine or elastic grids with torchvision's fill rule.
 * @module
 */
import { noGrad } from '../autograd/grad_mode.js';
import { ArgumentError, ShapeError } from '../errors.js';
import { where } from '../ops/compare.js';
import { conv2d } from '../ops/conv.js';
import { affineGrid, gridSample } from '../ops/grid_sample.js';
import { cat, flip, pad } from '../ops/shape.js';
import { checkDTypeIn } from '../ops/validate.js';
import { ones, rand, tensor } from '../tensor/creation.js';
import { scope } from '../tensor/memory.js';
import { describe } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { gridTheta, type AffineParams } from './geometry.js';

/** How the geometric transforms read between pixels, as torchvision's InterpolationMode. */
export type Interpolation = 'nearest' | 'bilinear';

/** The value of output pixels that come from outside the image: one number, or one per channel. */
export type Fill = number | readonly number[];

/** `image` as a batch `[N, C, H, W]`, and the function that restores the caller's rank. */
export function batched(op: string, image: Tensor): { batch: Tensor; unbatch: (t: Tensor) => Tensor } {
  if (image.ndim === 3) return { batch: image.unsqueeze(0), unbatch: (t) => t.squeeze(0) };
  if (image.ndim === 4) return { batch: image, unbatch: (t) => t };
  throw new ShapeError(`${op}: expected an image [C, H, W] or a batch [N, C, H, W], got shape [${image.shape.join(', ')}]`);
}

/** One uniform draw per image, shaped `[N, 1, 1, 1]`. */
export function perImage(n: number, device: Tensor['device']): Tensor<'float32'> {
  return rand([n, 1, 1, 1], { device });
}

/** Per image of a batch, whether a random flip happens (probability `p`): bool `[N, 1, 1, 1]`. */
export function drawFlips(n: number, p: number, device: Tensor['device']): Tensor<'bool'> {
  const u = perImage(n, device);
  try {
    return u.lt(p);
  } finally {
    u.dispose();
  }
}

/** `x` (`[N, ...]`) flipped along `dim` where `chosen` (from drawFlips) is set, per image. */
export function flipWhere<T extends Tensor>(x: T, chosen: Tensor, dim: number): T {
  return scope(() => where(chosen, flip(x, [dim]), x) as T);
}

/** Options of the resampling transforms (rotation, affine, elastic). */
export interface WarpOptions {
  /** Default 'nearest' (torchvision's default) for rotations and affine maps, 'bilinear' for elasticTransform. */
  interpolation?: Interpolation;
  /** Value of pixels that come from outside the image (default 0), blended as torchvision does. */
  fill?: Fill;
}

/** Options of elasticTransform, as torchvision's ElasticTransform. */
export interface ElasticOptions extends WarpOptions {
  /** Displacement strength (x, y, or one for both). Default 50. */
  alpha?: number | readonly [number, number];
  /** Smoothness: the Gaussian's standard deviation in pixels (x, y, or one for both). Default 5. */
  sigma?: number | readonly [number, number];
}

/** One draw of a resampling transform for a batch: the grid `[N, H, W, 2]` and, for affine maps, their parameters. */
export interface WarpDraw {
  grid: Tensor;
  /** One per image; null for elastic fields (which boxes cannot follow). */
  params: AffineParams[] | null;
}

/** Validated resampling settings of one transform. */
export interface WarpSettings {
  /** Draws the maps for `n` images of `h x w`. */
  draw: (n: number, h: number, w: number, device: Tensor['device']) => WarpDraw;
  mode: Interpolation;
  fill: readonly number[];
}

/** The validated settings of an affine transform that draws its maps with `draw`. */
export function affineSettings(op: string, draw: (n: number, h: number, w: number) => AffineParams[], opts: WarpOptions): WarpSettings {
  return {
    draw: (n, h, w, device) => {
      const params = draw(n, h, w);
      return { grid: affineGridOf(params, h, w, device), params };
    },
    mode: checkInterpolation(op, opts.interpolation ?? 'nearest'),
    fill: checkFill(op, opts.fill ?? 0),
  };
}

function elasticPair(op: string, name: string, value: number | readonly [number, number]): [number, number] {
  const pair = typeof value === 'number' ? [value, value] : [...value];
  if (pair.length !== 2 || pair.some((v) => !(v >= 0) || !Number.isFinite(v))) {
    throw new ArgumentError(`${op}: expected ${name} to be a number >= 0 or an [x, y] pair of them, got ${describe(value)}`);
  }
  return pair as [number, number];
}

/** The validated settings of an elastic transform (defaults alpha 50, sigma 5, bilinear, as torchvision). */
export function elasticSettings(op: string, opts: ElasticOptions): WarpSettings {
  const alpha = elasticPair(op, 'alpha', opts.alpha ?? 50);
  const sigma = elasticPair(op, 'sigma', opts.sigma ?? 5);
  return {
    draw: (n, h, w, device) => ({ grid: elasticGrid(n, h, w, alpha, sigma, device), params: null }),
    mode: checkInterpolation(op, opts.interpolation ?? 'bilinear'),
    fill: checkFill(op, opts.fill ?? 0),
  };
}

/** The spatial size [H, W] and batch size of an image `[C, H, W]` or batch `[N, C, H, W]`. */
export function imageSize(op: string, image: Tensor): { n: number; h: number; w: number } {
  if (image.ndim !== 3 && image.ndim !== 4) {
    throw new ShapeError(`${op}: expected an image [C, H, W] or a batch [N, C, H, W], got shape [${image.shape.join(', ')}]`);
  }
  const [h, w] = image.shape.slice(-2) as [number, number];
  return { n: image.ndim === 4 ? image.shape[0]! : 1, h, w };
}

/**
 * Resamples `image` (`[C, H, W]` or `[N, C, H, W]`, float32) at `grid` `[N, H, W, 2]`
 * with the fill rule of {@link sampleWithFill}, keeping the image's rank. No gradient.
 */
export function warp(op: string, image: Tensor, grid: Tensor, mode: Interpolation, fill: readonly number[]): Tensor {
  checkDTypeIn(op, 'image', image, ['float32']);
  return noGrad(() =>
    scope(() => {
      const { batch, unbatch } = batched(op, image);
      return unbatch(sampleWithFill(op, batch, grid, mode, fill));
    }),
  );
}

/** Checks an interpolation option once, when a transform is made. */
export function checkInterpolation(op: string, mode: Interpolation): Interpolation {
  if (mode !== 'nearest' && mode !== 'bilinear') throw new ArgumentError(`${op}: expected interpolation 'nearest' or 'bilinear', got ${describe(mode)}`);
  return mode;
}

/** Checks a fill option once, when a transform is made. */
export function checkFill(op: string, fill: Fill): readonly number[] {
  const list = typeof fill === 'number' ? [fill] : fill;
  if (!Array.isArray(list) || list.length === 0 || list.some((v) => typeof v !== 'number' || !Number.isFinite(v))) {
    throw new ArgumentError(`${op}: expected fill to be a finite number or one per channel, got ${describe(fill)}`);
  }
  return list;
}

/**
 * Samples `batch` `[N, C, H, W]` (float32) at `grid` and fills what came from outside, as
 * torchvision's `_apply_grid_transform`: a channel of ones is sampled alongside, and the
 * fill is blended in by how much of each output pixel lay outside (so bilinear edges are
 * soft), or wherever that is more than half ('nearest').
 */
export function sampleWithFill(op: string, batch: Tensor, grid: Tensor, mode: Interpolation, fill: readonly number[]): Tensor<'float32'> {
  const [n, c, h, w] = batch.shape as [number, number, number, number];
  if (fill.length !== 1 && fill.length !== c) throw new ShapeError(`${op}: fill has ${fill.length} values for ${c} channels`);
  return scope((): Tensor<'float32'> => {
    const sampled = gridSample(cat([batch, ones([n, 1, h, w], { device: batch.device })], 1), grid, { mode, paddingMode: 'zeros', alignCorners: false });
    const image = sampled.slice(1, 0, c);
    const inside = sampled.slice(1, c);
    const fillValues = tensor(Float32Array.from(fill), { device: batch.device }).reshape(1, fill.length, 1, 1);
    if (mode === 'nearest') return where(inside.lt(0.5), fillValues, image) as Tensor<'float32'>;
    return image.mul(inside).add(inside.neg().add(1).mul(fillValues));
  });
}

/** The window `size` = [H, W] at (`top`, `left`) of the last two dims (a view). */
export function cropWindow<T extends Tensor>(image: T, top: number, left: number, size: readonly [number, number]): T {
  return image.slice(-2, top, top + size[0]).slice(-1, left, left + size[1]) as T;
}

/** A bool `[h, w]` mask, set on the `height x width` box at (`top`, `left`). */
export function boxMask(h: number, w: number, box: readonly [top: number, left: number, height: number, width: number], device: Tensor['device']): Tensor<'bool'> {
  const [top, left, height, width] = box;
  const inBox = new Uint8Array(h * w);
  for (let y = top; y < top + height; ++y) inBox.fill(1, y * w + left, y * w + left + width);
  return scope(() => tensor(inBox, { device }).reshape(h, w).gt(0));
}

/** The sampling grid `[N, H, W, 2]` of one affine map per image of an `h x w` batch. */
export function affineGridOf(params: readonly AffineParams[], h: number, w: number, device: Tensor['device']): Tensor<'float32'> {
  const thetas = Float32Array.from(params.flatMap((p) => gridTheta(p, h, w)));
  return scope(() => affineGrid(tensor(thetas, { device }).reshape(params.length, 2, 3), [params.length, 1, h, w]));
}

/** A normalized 1-d Gaussian over offsets -half..half, as torchvision's _get_gaussian_kernel1d. */
function gaussianKernel(half: number, sigma: number): Float32Array {
  if (!(sigma > 0)) return Float32Array.of(1);
  const pdf = Array.from({ length: 2 * half + 1 }, (_, i) => Math.exp(-0.5 * ((i - half) / sigma) ** 2));
  const total = pdf.reduce((s, v) => s + v, 0);
  return Float32Array.from(pdf, (v) => v / total);
}

/**
 * Blurs `field` `[M, 1, H, W]` with torchvision's gaussian_blur (a `size x size` kernel of
 * standard deviations [sx, sy], reflect padding), as two 1-d convolutions. Where the image
 * is too small for reflect padding, the kernel is cut to fit (torchvision would throw).
 */
function gaussianBlur(field: Tensor, size: number, sigma: readonly [number, number]): Tensor {
  const [, , h, w] = field.shape as [number, number, number, number];
  const halfX = Math.min((size - 1) / 2, w - 1);
  const halfY = Math.min((size - 1) / 2, h - 1);
  const kx = tensor(gaussianKernel(halfX, sigma[0]), { device: field.device }).reshape(1, 1, 1, -1);
  const ky = tensor(gaussianKernel(halfY, sigma[1]), { device: field.device }).reshape(1, 1, -1, 1);
  const across = conv2d(pad(field, [halfX, halfX], 'reflect'), kx);
  return conv2d(pad(across, [0, 0, halfY, halfY], 'reflect'), ky);
}

/** torchvision's elastic kernel size for one sigma: odd, about 8 sigma + 1. */
function elasticKernelSize(sigma: number): number {
  const k = Math.trunc(8 * sigma + 1);
  return k % 2 === 0 ? k + 1 : k;
}

/**
 * Elastic sampling grids `[N, H, W, 2]`, one random field per image, as torchvision's
 * ElasticTransform: uniform(-1, 1) displacements, Gaussian-smoothed, scaled by alpha over
 * the size, added to the identity grid. As in torchvision, x displacements are scaled by
 * `alpha[0] / H` and y ones by `alpha[1] / W` (normalized units: 1 is half the image).
 */
export function elasticGrid(
  n: number,
  h: number,
  w: number,
  alpha: readonly [number, number],
  sigma: readonly [number, number],
  device: Tensor['device'],
): Tensor<'float32'> {
  const identity = new Float32Array(h * w * 2);
  const position = (i: number, s: number) => (2 * i + 1 - s) / s; // pixel centers, alignCorners false
  for (let i = 0; i < h; ++i) {
    for (let j = 0; j < w; ++j) identity.set([position(j, w), position(i, h)], (i * w + j) * 2);
  }
  return scope(() => {
    const noise = rand([n, 2, h, w], { device }).mul(2).sub(1);
    const displacement = [0, 1].map((axis) => {
      const field = noise.slice(1, axis, axis + 1);
      const blurred = sigma[axis]! > 0 ? gaussianBlur(field, elasticKernelSize(sigma[axis]!), sigma) : field;
      return blurred.mul(alpha[axis]! / (axis === 0 ? h : w));
    });
    return tensor(identity, { device }).reshape(1, h, w, 2).add(cat(displacement, 1).permute(0, 2, 3, 1)) as Tensor<'float32'>;
  });
}
