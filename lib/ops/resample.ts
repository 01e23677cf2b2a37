/**
 * interpolate (nearest, linear / bilinear / trilinear, bicubic; alignCorners) and
 * maxUnpool2d. Resampling is separable: each spatial dim is resampled in turn by
 * indexSelect at the source taps times their weights, so it is differentiable and runs on
 * the same primitives on every device. Source positions follow PyTorch's (1.13) CPU upsample
 * kernels exactly, in their float32 arithmetic (area_pixel_compute_scale / _source_index,
 * nearest's floorf(dst * scale), cubic coefficients with A = -0.75).
 * @module
 */
import { needsGrad, record, saveForBackward } from '../autograd/graph.js';
import { ArgumentError, ShapeError } from '../errors.js';
import { native } from '../native.js';
import { tensor, zeros } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
import { checkNumel, describe, normalizeDim } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { gather, indexSelect } from './indexing.js';
import { checkDTypeIn, checkSameDevice, checkTensor, intTuple } from './validate.js';

/** Modes of {@link interpolate}. */
export type InterpolateMode = 'nearest' | 'linear' | 'bilinear' | 'bicubic' | 'trilinear';

/** Options of {@link interpolate}: exactly one of `size` and `scaleFactor`. */
export interface InterpolateOptions {
  /** Output spatial size: one number for every spatial dim, or one per dim. */
  size?: number | readonly number[];
  /** Multiplier of the input's spatial size: one number for every spatial dim, or one per dim. */
  scaleFactor?: number | readonly number[];
  /** Resampling mode (default 'nearest', as PyTorch); the linear modes need the matching rank. */
  mode?: InterpolateMode;
  /** Align the corner pixels' centers (linear modes only; default false). */
  alignCorners?: boolean;
}

/** The largest output size {@link interpolate} makes along one dim. */
const MAX_INTERPOLATE_SIZE = 2 ** 24;

const MODE_RANK: Record<InterpolateMode, number | null> = { nearest: null, linear: 3, bilinear: 4, bicubic: 4, trilinear: 5 };

/** Taps (source indices) and weights for one output position. */
interface Taps {
  index: number[][];
  weight: number[][];
}

/**
 * Source position of output `dst`, as ATen's area_pixel_compute_source_index with a float
 * scale: `scale * (dst + 0.5) - 0.5` is evaluated in double and stored as float there, so
 * it is here; aligned, `scale * dst` is a float product.
 */
function sourcePosition(dst: number, scale: number, alignCorners: boolean, cubic: boolean): number {
  if (alignCorners) return Math.fround(scale * dst);
  const src = Math.fround(scale * (dst + 0.5) - 0.5);
  return !cubic && src < 0 ? 0 : src;
}

function cubicWeights(t: number): number[] {
  const A = -0.75;
  const w = (x: number) => ((A + 2) * x - (A + 3)) * x * x + 1; // |x| <= 1
  const v = (x: number) => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A; // 1 < |x| < 2
  return [v(t + 1), w(t), w(1 - t), v(2 - t)];
}

/**
 * The float32 scale ATen's CPU upsample kernels use (area_pixel_compute_scale<float>): a
 * given scaleFactor is used as 1 / scaleFactor even where the output size came out equal
 * to the input's (torch 1.13 does not recompute it unless asked); else in / out.
 * Math.fround of a double quotient of integers is the float quotient.
 */
function floatScale(inSize: number, outSize: number, scaleFactor: number | undefined, alignCorners: boolean): number {
  if (alignCorners) return outSize > 1 ? Math.fround((inSize - 1) / (outSize - 1)) : 0;
  return Math.fround(scaleFactor !== undefined ? 1 / scaleFactor : inSize / outSize);
}

/**
 * Source taps of one dim. `shortcuts`: torch 1.13's 2-d and 3-d nearest kernels go through
 * nearest_idx, which copies a dim that keeps its size and halves the index of one that
 * doubles, whatever the scaleFactor; its 1-d kernel applies the scale throughout.
 */
function tapsFor(mode: InterpolateMode, inSize: number, outSize: number, scaleFactor: number | undefined, alignCorners: boolean, shortcuts: boolean): Taps {
  const index: number[][] = [];
  const weight: number[][] = [];
  const linear = mode !== 'nearest';
  const scale = floatScale(inSize, outSize, scaleFactor, linear && alignCorners);
  const clampIndex = (i: number) => Math.min(Math.max(i, 0), inSize - 1);
  for (let dst = 0; dst < outSize; ++dst) {
    if (mode === 'nearest') {
      // nearest_neighbor_compute_source_index: floorf(dst * scale), a float product.
      if (shortcuts && outSize === inSize) index.push([dst]);
      else if (shortcuts && outSize === 2 * inSize) index.push([dst >> 1]);
      else index.push([Math.min(Math.floor(Math.fround(dst * scale)), inSize - 1)]);
      weight.push([1]);
    } else if (mode === 'bicubic') {
      // guard_index_and_lambda: the index kept below inSize, the fraction inside [0, 1].
      const src = sourcePosition(dst, scale, alignCorners, true);
      const i = Math.min(Math.floor(src), inSize - 1);
      index.push([i - 1, i, i + 1, i + 2].map(clampIndex));
      weight.push(cubicWeights(Math.min(Math.max(src - i, 0), 1)));
    } else if (outSize === inSize) {
      // compute_source_index_and_lambda copies a dim that keeps its size, whatever the scale.
      index.push([dst, dst]);
      weight.push([1, 0]);
    } else {
      const src = sourcePosition(dst, scale, alignCorners, false);
      const i0 = Math.floor(src);
      const i1 = i0 < inSize - 1 ? i0 + 1 : i0;
      const l1 = Math.min(Math.max(src - i0, 0), 1);
      index.push([i0, i1]);
      weight.push([1 - l1, l1]);
    }
  }
  return { index, weight };
}

/**
 * Whether the taps leave a dim of `inSize` as it is: as many outputs, each i reading input i alone (weight 1,
 * any second tap weighted 0). ATen copies such a dim (a linear dim that keeps its size;
 * nearest's shortcut); skipping it gives the same values without the per-tap passes, and
 * keeps an inf or NaN neighbour from leaking in through its weight of 0 (inf * 0 = NaN).
 */
function isIdentity(taps: Taps, inSize: number): boolean {
  return taps.index.length === inSize && taps.index.every((t, i) => t[0] === i && taps.weight[i]![0] === 1 && t.slice(1).every((_, k) => taps.weight[i]![k + 1] === 0));
}

/** Resamples `x` along `dim` with the given taps. */
function resampleDim(x: Tensor, dim: number, taps: Taps): Tensor {
  const count = taps.index[0]?.length ?? 1;
  let out: Tensor | null = null;
  for (let k = 0; k < count; ++k) {
    const idx = tensor(taps.index.map((t) => t[k]!), { dtype: 'int32', device: x.device });
    const picked = indexSelect(x, dim, idx);
    idx.dispose();
    let term: Tensor = picked;
    if (count > 1) {
      const shape = x.shape.map((s, d) => (d === dim ? taps.index.length : 1));
      const w = tensor(Float32Array.from(taps.weight.map((t) => t[k]!)), { device: x.device }).reshape(shape);
      term = picked.mul(w);
      picked.dispose();
      w.dispose();
    }
    if (out === null) {
      out = term;
    } else {
      const sum: Tensor = out.add(term);
      out.dispose();
      term.dispose();
      out = sum;
    }
  }
  return out!;
}

/**
 * Resizes the spatial dims of `[N, C, *spatial]`, as `F.interpolate`.
 * Output sizes must be positive, at most 2^24 per dim and 2^31 - 1 elements in all
 * (ShapeError otherwise).
 *
 * @example
 * interpolate(x, { scaleFactor: 2, mode: 'bilinear', alignCorners: false })
 * interpolate(x, { size: [224, 224], mode: 'bicubic' })
 */
export function interpolate(input: Tensor, opts: InterpolateOptions): Tensor<'float32'> {
  const op = 'interpolate';
  checkTensor(op, 'input', input);
  checkDTypeIn(op, 'input', input, ['float32']);
  const mode = opts.mode ?? 'nearest';
  if (!(mode in MODE_RANK)) throw new ArgumentError(`${op}: expected mode nearest, linear, bilinear, bicubic or trilinear, got ${describe(mode)}`);
  const rank = MODE_RANK[mode];
  if (input.ndim < 3 || input.ndim > 5 || (rank !== null && input.ndim !== rank)) {
    throw new ShapeError(`${op}: mode '${mode}' expects a ${rank ?? '3-d to 5-d'}-d input ([N, C, *spatial]), got shape [${input.shape.join(', ')}]`);
  }
  if (opts.alignCorners !== undefined && mode === 'nearest') throw new ArgumentError(`${op}: alignCorners only applies to the linear and cubic modes`);
  const spatial = input.ndim - 2;
  if ((opts.size === undefined) === (opts.scaleFactor === undefined)) throw new ArgumentError(`${op}: give exactly one of size and scaleFactor`);
  const expand = (v: number | readonly number[], name: string) => {
    const list = typeof v === 'number' ? new Array<number>(spatial).fill(v) : [...v];
    if (list.length !== spatial) throw new ArgumentError(`${op}: expected ${name} with ${spatial} entries, got ${describe(v)}`);
    return list;
  };
  const scales = opts.scaleFactor !== undefined ? expand(opts.scaleFactor, 'scaleFactor') : undefined;
  if (scales?.some((s) => !(s > 0))) throw new ArgumentError(`${op}: expected positive scaleFactor, got ${describe(opts.scaleFactor)}`);
  const sizes = opts.size !== undefined ? expand(opts.size, 'size') : input.shape.slice(2).map((s, i) => Math.floor(s * scales![i]!));
  if (sizes.some((s) => !Number.isInteger(s) || s < 1)) throw new ArgumentError(`${op}: output sizes must be positive integers, got [${sizes.join(', ')}]`);
  // The taps of each output position are built in JavaScript before anything is allocated,
  // so an absurd size (scaleFactor 1e9) must be refused here, not by the allocator.
  if (sizes.some((s) => s > MAX_INTERPOLATE_SIZE)) {
    throw new ShapeError(`${op}: output sizes must be at most ${MAX_INTERPOLATE_SIZE} (2^24) per dim, got [${sizes.join(', ')}]`);
  }
  checkNumel(op, 'output shape', [...input.shape.slice(0, 2), ...sizes]);
  let out: Tensor = input;
  for (let i = 0; i < spatial; ++i) {
    const dim = 2 + i;
    const taps = tapsFor(mode, input.shape[dim]!, sizes[i]!, scales?.[i], opts.alignCorners ?? false, spatial >= 2);
    if (isIdentity(taps, input.shape[dim]!)) continue;
    const next = resampleDim(out, dim, taps);
    if (out !== input) out.dispose();
    out = next;
  }
  return (out === input ? input.reshape(input.shape) : out) as Tensor<'float32'>;
}

/**
 * Adds `src` into a copy of `input` at the positions `index` gives along `dim`
 * (repeats accumulate), as `torch.scatter_add`. Differentiable in `input` and `src`.
 * Index values are checked when the op runs: an out-of-range one rejects `data()` of the
 * result with an IndexError, and the next op call throws it if nothing read the result
 * first (see indexSelect).
 */
export function scatterAdd<D extends DType>(input: Tensor<D>, dim: number, index: Tensor, src: Tensor<D>): Tensor<D> {
  const op = 'scatterAdd';
  checkTensor(op, 'input', input);
  checkTensor(op, 'index', index);
  checkTensor(op, 'src', src);
  checkSameDevice(op, { input, index, src });
  checkDTypeIn(op, 'index', index, ['int32']);
  checkDTypeIn(op, 'input', input, ['float32', 'int32']);
  const d = normalizeDim(op, dim, input.ndim);
  if (index.ndim !== input.ndim || src.shape.join(',') !== index.shape.join(',') || index.shape.some((s, k) => k !== d && s > input.shape[k]!)) {
    throw new ShapeError(`${op}: expected index and src of one shape, of input's rank and no larger outside dim ${d}; got input [${input.shape.join(', ')}], index [${index.shape.join(', ')}], src [${src.shape.join(', ')}]`);
  }
  const out = input.clone();
  native.scatterAdd(op, out._native(op, 'out'), d, index._native(op, 'index'), src._native(op, 'src'));
  if (!needsGrad(input, src)) return out;
  const savedIndex = saveForBackward(index);
  return record(op, out, [input, src], (g) => [g.detach(), gather(g, d, savedIndex)], [savedIndex]);
}

/**
 * Inverse of max pooling: places `input` `[N, C, H, W]` at the positions of `indices`
 * (from `maxPool2d(..., { returnIndices: true })`) in zeros of the unpooled size, as
 * `F.max_unpool2d`. The size defaults to `(in - 1) * stride - 2 * padding + kernel`.
 * An index outside the unpooled plane is only seen when the kernel runs: it rejects
 * `data()` of the result with an IndexError (from the scatterAdd inside), as indexSelect.
 */
export function maxUnpool2d(
  input: Tensor,
  indices: Tensor,
  kernelSize: number | readonly number[],
  opts: { stride?: number | readonly number[]; padding?: number | readonly number[]; outputSize?: readonly number[] } = {},
): Tensor<'float32'> {
  const op = 'maxUnpool2d';
  checkTensor(op, 'input', input);
  checkTensor(op, 'indices', indices);
  checkDTypeIn(op, 'input', input, ['float32']);
  if (input.ndim !== 4 || indices.shape.join(',') !== input.shape.join(',')) {
    throw new ShapeError(`${op}: expected input [N, C, H, W] and indices of the same shape, got [${input.shape.join(', ')}] and [${indices.shape.join(', ')}]`);
  }
  const kernel = intTuple(op, 'kernelSize', kernelSize, 2, 1, 1);
  const stride = intTuple(op, 'stride', opts.stride, 2, kernel, 1);
  const padding = intTuple(op, 'padding', opts.padding, 2, 0, 0);
  const size = opts.outputSize ? [...opts.outputSize].slice(-2) : [0, 1].map((i) => (input.shape[2 + i]! - 1) * stride[i]! - 2 * padding[i]! + kernel[i]!);
  if (size.length !== 2 || size.some((s) => !Number.isInteger(s) || s < 1)) throw new ArgumentError(`${op}: invalid output size ${describe(size)}`);
  checkNumel(op, 'output shape', [...input.shape.slice(0, 2), ...size]);
  const [n, c] = input.shape as [number, number];
  const flatIndex = indices.reshape(n, c, -1);
  const flatInput = input.reshape(n, c, -1);
  const plane = zeros([n, c, size[0]! * size[1]!], { device: input.device });
  try {
    const out = scatterAdd(plane, 2, flatIndex, flatInput as Tensor<'float32'>);
    try {
      return out.reshape(n, c, size[0]!, size[1]!);
    } finally {
      out.dispose();
    }
  } finally {
    flatIndex.dispose();
    flatInput.dispose();
    plane.dispose();
  }
}
