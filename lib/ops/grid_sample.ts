/**
 * affineGrid and gridSample (2-D), as `F.affine_grid` / `F.grid_sample`. Both are composed
 * from device-agnostic primitives: source coordinates are computed elementwise, the
 * neighbours are fetched with `gather` from the flattened image and blended with their
 * weights. So they run on every device, and autograd differentiates them with respect to
 * the input, the grid and theta without a backward of their own.
 * @module
 */
import { ArgumentError, ShapeError } from '../errors.js';
import { tensor } from '../tensor/creation.js';
import { scope } from '../tensor/memory.js';
import { checkNumel, describe } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { where } from './compare.js';
import { gather } from './indexing.js';
import { matmul } from './matmul.js';
import { clamp } from './statistics.js';
import { checkDTypeIn, checkSameDevice, checkTensor } from './validate.js';

/** How {@link gridSample} reads between pixels. */
export type GridSampleMode = 'bilinear' | 'nearest';

/** What {@link gridSample} reads outside the input, as `padding_mode`. */
export type GridSamplePaddingMode = 'zeros' | 'border' | 'reflection';

/** Options of {@link gridSample}. */
export interface GridSampleOptions {
  /** Default 'bilinear'. */
  mode?: GridSampleMode;
  /** Default 'zeros'. */
  paddingMode?: GridSamplePaddingMode;
  /** -1 and 1 are the centers of the corner pixels (true) or their outer edges (false, the default). */
  alignCorners?: boolean;
}

/** Options of {@link affineGrid}. */
export interface AffineGridOptions {
  /** As in {@link GridSampleOptions}; use the same value for both ops. Default false. */
  alignCorners?: boolean;
}

const MODES: readonly GridSampleMode[] = ['bilinear', 'nearest'];
const PADDING_MODES: readonly GridSamplePaddingMode[] = ['zeros', 'border', 'reflection'];

/** Positions of `size` samples spanning [-1, 1], as ATen's linspace_from_neg_one. */
function normalizedPositions(size: number, alignCorners: boolean): number[] {
  if (size <= 1) return new Array<number>(size).fill(0);
  return Array.from({ length: size }, (_, i) => {
    const p = -1 + (2 * i) / (size - 1);
    return alignCorners ? p : (p * (size - 1)) / size;
  });
}

/**
 * The sampling grid `[N, H, W, 2]` (x, y in [-1, 1]) of the affine maps `theta` `[N, 2, 3]`
 * for an output of `size` `[N, C, H, W]`, as `F.affine_grid`: each output position's
 * normalized (x, y, 1) times theta's rows. Differentiable in `theta`.
 *
 * @example
 * const theta = tensor([[[1, 0, 0], [0, 1, 0]]], { dtype: 'float32' }); // identity
 * gridSample(x, affineGrid(theta, x.shape)) // x again
 */
export function affineGrid(theta: Tensor, size: readonly number[], opts: AffineGridOptions = {}): Tensor<'float32'> {
  const op = 'affineGrid';
  checkTensor(op, 'theta', theta);
  checkDTypeIn(op, 'theta', theta, ['float32']);
  if (theta.ndim !== 3 || theta.shape[1] !== 2 || theta.shape[2] !== 3) {
    throw new ShapeError(`${op}: expected theta of shape [N, 2, 3], got [${theta.shape.join(', ')}]`);
  }
  if (!Array.isArray(size) || size.length !== 4 || size.some((s) => !Number.isInteger(s) || s < 1)) {
    throw new ShapeError(`${op}: expected size [N, C, H, W] of positive integers, got ${describe(size)}`);
  }
  if (size[0] !== theta.shape[0]) throw new ShapeError(`${op}: size has batch ${size[0]} but theta has ${theta.shape[0]}`);
  // The base grid is built in JavaScript first: refuse a size past the element limit before that.
  checkNumel(op, 'output shape', [size[0]!, size[2]!, size[3]!, 2]);
  checkNumel(op, 'base grid', [size[2]!, size[3]!, 3]);
  const [n, , h, w] = size as [number, number, number, number];
  const xs = normalizedPositions(w, opts.alignCorners ?? false);
  const ys = normalizedPositions(h, opts.alignCorners ?? false);
  const base = new Float32Array(h * w * 3);
  for (let i = 0; i < h; ++i) {
    for (let j = 0; j < w; ++j) base.set([xs[j]!, ys[i]!, 1], (i * w + j) * 3);
  }
  return scope(() => {
    const points = tensor(base, { device: theta.device }).reshape(1, h * w, 3);
    return matmul(points, (theta as Tensor<'float32'>).transpose(1, 2)).reshape(n, h, w, 2);
  });
}

/** Pixel coordinates of normalized ones, as ATen's grid_sampler_unnormalize. */
function unnormalize(coord: Tensor, size: number, alignCorners: boolean): Tensor {
  return alignCorners ? coord.add(1).div(2).mul(size - 1) : coord.add(1).mul(size).sub(1).div(2);
}

/**
 * floor of `x` (kept inside [lo, hi]) as float32 and int32. Converting to int32 truncates
 * toward zero, so values that truncated upwards step down by one; the comparison is exact,
 * unlike shifting negatives up before truncating. Detached: floor has no gradient.
 */
function floorOf(x: Tensor, lo: number, hi: number): { f: Tensor; i: Tensor } {
  const c = clamp(x.detach(), lo, hi);
  const t = c.to('int32').to('float32');
  const f = where(t.gt(c), t.sub(1), t);
  return { f, i: f.to('int32') };
}

/** 1 where the integral float `x` is odd, else 0. */
function oddness(x: Tensor, limit: number): Tensor {
  return x.sub(floorOf(x.div(2), -limit, limit).f.mul(2));
}

/** Folds coordinates back into [twiceLow / 2, twiceHigh / 2], as ATen's reflect_coordinates. */
function reflect(coord: Tensor, twiceLow: number, twiceHigh: number): Tensor {
  if (twiceLow === twiceHigh) return coord.mul(0);
  const min = twiceLow / 2;
  const span = (twiceHigh - twiceLow) / 2;
  const distance = coord.sub(min).abs();
  // Capped so that the flip count stays an exact integer in float32.
  const flips = floorOf(distance.div(span), 0, 2 ** 22).f;
  const extra = distance.sub(flips.mul(span));
  return where(oddness(flips, 2 ** 22).eq(1), extra.neg().add(span + min), extra.add(min));
}

/**
 * Clips pixel coordinates into [0, size - 1], as ATen's clip_coordinates_set_grad: the
 * gradient passes only strictly inside, because PyTorch counts a coordinate on the edge
 * pixel as out of bounds (clamp would pass it there, giving the zero-padding derivative
 * where PyTorch gives 0; an identity affineGrid with alignCorners lands exactly there).
 * NaN stays NaN.
 */
function clipCoordinates(pixel: Tensor, size: number): Tensor {
  return where(pixel.le(0), 0, where(pixel.ge(size - 1), size - 1, pixel));
}

/** Source pixel coordinates along one axis after the padding mode, as ATen's grid_sampler_compute_source_index. */
function sourceIndex(coord: Tensor, size: number, padding: GridSamplePaddingMode, alignCorners: boolean): Tensor {
  const pixel = unnormalize(coord, size, alignCorners);
  if (padding === 'zeros') return pixel;
  const folded = padding === 'reflection' ? (alignCorners ? reflect(pixel, 0, 2 * (size - 1)) : reflect(pixel, -1, 2 * size - 1)) : pixel;
  return clipCoordinates(folded, size);
}

/** One tap along an axis: the clamped integer position and its weight (0 where the tap lies outside). */
interface Tap {
  index: Tensor;
  weight: Tensor;
}

/** The taps of one axis: two (floor and floor + 1, linear weights) or one (nearest, weight 1). */
function axisTaps(pixel: Tensor, size: number, mode: GridSampleMode): Tap[] {
  // Beyond [-2, size + 1] every tap is outside, so clamping before floor changes no value.
  const { f, i } = floorOf(pixel, -2, size + 1);
  const tap = (position: Tensor, weight: Tensor | number): Tap => {
    const index = clamp(position, 0, size - 1);
    return { index, weight: where(position.eq(index), weight, 0) };
  };
  if (mode === 'nearest') {
    // Round half to even, as nearbyint: from the exact fraction, not floor(x + 0.5).
    const fraction = pixel.detach().sub(f);
    const up = where(fraction.gt(0.5), 1, where(fraction.eq(0.5), oddness(f, size + 2), 0));
    return [tap(f.add(up).to('int32'), 1)];
  }
  const upper = pixel.sub(f);
  return [tap(i, upper.neg().add(1)), tap(i.add(1), upper)];
}

/**
 * Samples `input` `[N, C, H, W]` at the positions of `grid` `[N, Hout, Wout, 2]` -> `[N, C,
 * Hout, Wout]`, as `F.grid_sample`. Grid entries are (x, y) in [-1, 1] across the input's
 * width and height (see `alignCorners`). Differentiable in `input` and, in 'bilinear' mode,
 * in `grid`; in 'nearest' mode the grid gets no gradient (PyTorch's is zero).
 *
 * @example
 * gridSample(image, grid, { mode: 'bilinear', paddingMode: 'border' })
 */
export function gridSample(input: Tensor, grid: Tensor, opts: GridSampleOptions = {}): Tensor<'float32'> {
  const op = 'gridSample';
  checkTensor(op, 'input', input);
  checkTensor(op, 'grid', grid);
  checkSameDevice(op, { input, grid });
  checkDTypeIn(op, 'input', input, ['float32']);
  checkDTypeIn(op, 'grid', grid, ['float32']);
  if (input.ndim !== 4) throw new ShapeError(`${op}: expected input of rank 4 [N, C, H, W], got shape [${input.shape.join(', ')}]`);
  if (grid.ndim !== 4 || grid.shape[3] !== 2) {
    throw new ShapeError(`${op}: expected grid of shape [N, Hout, Wout, 2], got [${grid.shape.join(', ')}]`);
  }
  if (grid.shape[0] !== input.shape[0]) throw new ShapeError(`${op}: grid has batch ${grid.shape[0]} but input has ${input.shape[0]}`);
  const mode = opts.mode ?? 'bilinear';
  const padding = opts.paddingMode ?? 'zeros';
  if (!MODES.includes(mode)) throw new ArgumentError(`${op}: expected mode 'bilinear' or 'nearest', got ${describe(mode)}`);
  if (!PADDING_MODES.includes(padding)) throw new ArgumentError(`${op}: expected paddingMode 'zeros', 'border' or 'reflection', got ${describe(padding)}`);
  const alignCorners = opts.alignCorners ?? false;
  const [n, c, h, w] = input.shape as [number, number, number, number];
  const [, outH, outW] = grid.shape as [number, number, number];
  const points = outH * outW;
  return scope(() => {
    const flatGrid = grid.reshape(n, 1, points, 2);
    const xTaps = axisTaps(sourceIndex(flatGrid.slice(3, 0, 1).squeeze(3), w, padding, alignCorners), w, mode);
    const yTaps = axisTaps(sourceIndex(flatGrid.slice(3, 1, 2).squeeze(3), h, padding, alignCorners), h, mode);
    const pixels = input.reshape(n, c, h * w);
    let out: Tensor | null = null;
    for (const y of yTaps) {
      for (const x of xTaps) {
        const index = y.index.mul(w).add(x.index).expand(n, c, points);
        const term = gather(pixels, 2, index).mul(y.weight.mul(x.weight));
        out = out === null ? term : out.add(term);
      }
    }
    return out!.reshape(n, c, outH, outW) as Tensor<'float32'>;
  });
}
