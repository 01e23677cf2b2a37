/**
 * Pooling, as torch.nn.functional: max / average pooling in 1-3 spatial dims (kernel,
 * stride, padding, dilation, ceil mode), adaptive average / max pooling and global average
 * pooling. Outputs keep the input's memory format (channels-last stays channels-last).
 * @module
 */
import { inFloat32 } from '../amp/autocast.js';
import { needsGrad, record, saveForBackward } from '../autograd/graph.js';
import { ArgumentError, ShapeError } from '../errors.js';
import { native } from '../native.js';
import type { NativePoolParams } from '../native_primitives.js';
import { empty } from '../tensor/creation.js';
import { isHalf } from '../tensor/dtype.js';
import { describe, stridesLike } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ValuesIndices } from './sort.js';
import { checkDTypeIn, checkTensor, intTuple } from './validate.js';

/** Options of max pooling. */
export interface MaxPoolOptions {
  /** Window step (default: the kernel size). */
  stride?: number | readonly number[];
  /** Implicit -inf padding on both sides (default 0, at most half the kernel). */
  padding?: number | readonly number[];
  /** Spacing between window taps (default 1). */
  dilation?: number | readonly number[];
  /** Round the output size up instead of down (default false). */
  ceilMode?: boolean;
}

/** Options of average pooling. */
export interface AvgPoolOptions {
  /** Window step (default: the kernel size). */
  stride?: number | readonly number[];
  /** Implicit zero padding on both sides (default 0, at most half the kernel). */
  padding?: number | readonly number[];
  /** Round the output size up instead of down (default false). */
  ceilMode?: boolean;
  /** Count padding elements in the divisor (default true, as PyTorch). */
  countIncludePad?: boolean;
  /** Divide by this instead of the window size. */
  divisorOverride?: number;
}


/** PyTorch's pooling_output_shape. */
function outputSize(op: string, dim: number, size: number, k: number, s: number, p: number, d: number, ceil: boolean): number {
  const span = d * (k - 1) + 1;
  let out = Math.floor((size + 2 * p - span + (ceil ? s - 1 : 0)) / s) + 1;
  if (ceil && (out - 1) * s >= size + p) out--;
  if (out < 1) {
    throw new ShapeError(`${op}: the output of spatial dim ${dim} would be empty: input size ${size}, kernel ${k} (spanning ${span}), padding ${p}, stride ${s}`);
  }
  return out;
}

function checkInput(op: string, x: Tensor, spatial: number): void {
  checkTensor(op, 'input', x);
  checkDTypeIn(op, 'input', x, ['float32', 'bfloat16', 'float16']);
  if (x.ndim !== spatial + 2) {
    throw new ShapeError(`${op}: expected input rank ${spatial + 2} ([N, C, ...spatial]), got ${x.ndim} (shape [${x.shape.join(', ')}])`);
  }
}

/** Runs the native pooling and records its backward; returns [values, indices?]. */
function pool(op: string, x: Tensor, params: NativePoolParams, outSpatial: number[], withIndices: boolean): [Tensor<'float32'>, Tensor<'int32'> | null] {
  if (isHalf(x.dtype) && needsGrad(x)) {
    // The backward kernels are float32's: a 16-bit input that needs a gradient (mixed
    // precision training) is pooled in float32 and rounded back once. Without one (16-bit
    // inference) the forward kernels pool 16-bit tensors as they are, reading them as float:
    // averages summed in float and rounded once, as PyTorch's CPU kernels do.
    let indices: Tensor<'int32'> | null = null;
    const values = inFloat32([x], ([wide]) => {
      const [pooled, positions] = pool(op, wide!, params, outSpatial, withIndices);
      indices = positions;
      return pooled;
    });
    return [values as Tensor<'float32'>, indices];
  }
  const outShape = [x.shape[0]!, x.shape[1]!, ...outSpatial];
  const strides = stridesLike(x, outShape);
  const out = empty(op, outShape, x.dtype, x.device, strides) as Tensor<'float32'>;
  // Max pooling always computes indices when a backward may need them.
  const keepIndices = params.mode === 0 && (withIndices || needsGrad(x));
  const indices = keepIndices ? empty(op, outShape, 'int32', x.device, strides) : null;
  native.poolForward(op, params, out._native(op, 'out'), indices ? indices._native(op, 'indices') : null, x._native(op));
  if (!needsGrad(x)) return [out, indices];
  const savedIndices = indices ? saveForBackward(indices) : null;
  const inputShape = x.shape;
  const inputStrides = stridesLike(x, inputShape);
  const recorded = record(
    op,
    out,
    [x],
    (g) => {
      const gradInput = empty(`${op}Backward`, inputShape, 'float32', g.device, inputStrides);
      native.poolBackward(`${op}Backward`, params, gradInput._native(op, 'gradInput'), g._native(op, 'grad'), savedIndices ? savedIndices._native(op, 'indices') : null);
      return [gradInput];
    },
    savedIndices ? [savedIndices] : [],
  );
  return [recorded, withIndices ? indices : (indices?.dispose(), null)];
}

function maxPoolNd(spatial: 1 | 2 | 3, x: Tensor, kernelSize: number | readonly number[], opts: MaxPoolOptions, withIndices: boolean) {
  const op = `maxPool${spatial}d`;
  checkInput(op, x, spatial);
  const kernel = intTuple(op, 'kernelSize', kernelSize, spatial, [1], 1);
  const stride = intTuple(op, 'stride', opts.stride, spatial, kernel, 1);
  const padding = intTuple(op, 'padding', opts.padding, spatial, [0], 0);
  const dilation = intTuple(op, 'dilation', opts.dilation, spatial, [1], 1);
  padding.forEach((p, i) => {
    if (p * 2 > kernel[i]!) throw new ArgumentError(`${op}: padding ${p} should be at most half the kernel size ${kernel[i]}`);
  });
  const outSpatial = x.shape.slice(2).map((size, i) => outputSize(op, i, size, kernel[i]!, stride[i]!, padding[i]!, dilation[i]!, opts.ceilMode ?? false));
  const params: NativePoolParams = { spatial, mode: 0, adaptive: false, countIncludePad: false, divisorOverride: 0, kernel, stride, padding, dilation };
  return pool(op, x, params, outSpatial, withIndices);
}

function avgPoolNd(spatial: 1 | 2 | 3, x: Tensor, kernelSize: number | readonly number[], opts: AvgPoolOptions): Tensor<'float32'> {
  const op = `avgPool${spatial}d`;
  checkInput(op, x, spatial);
  const kernel = intTuple(op, 'kernelSize', kernelSize, spatial, [1], 1);
  const stride = intTuple(op, 'stride', opts.stride, spatial, kernel, 1);
  const padding = intTuple(op, 'padding', opts.padding, spatial, [0], 0);
  padding.forEach((p, i) => {
    if (p * 2 > kernel[i]!) throw new ArgumentError(`${op}: padding ${p} should be at most half the kernel size ${kernel[i]}`);
  });
  const divisor = opts.divisorOverride ?? 0;
  if (opts.divisorOverride !== undefined && (!Number.isInteger(divisor) || divisor < 1)) {
    throw new ArgumentError(`${op}: expected divisorOverride to be a positive integer, got ${describe(opts.divisorOverride)}`);
  }
  const outSpatial = x.shape.slice(2).map((size, i) => outputSize(op, i, size, kernel[i]!, stride[i]!, padding[i]!, 1, opts.ceilMode ?? false));
  const params: NativePoolParams = {
    spatial, mode: 1, adaptive: false, countIncludePad: opts.countIncludePad ?? true, divisorOverride: divisor,
    kernel, stride, padding, dilation: new Array<number>(spatial).fill(1),
  };
  return pool(op, x, params, outSpatial, false)[0];
}

function adaptiveNd(spatial: 1 | 2 | 3, mode: 0 | 1, x: Tensor, outputSize: number | readonly (number | null)[], withIndices: boolean) {
  const op = `adaptive${mode === 0 ? 'Max' : 'Avg'}Pool${spatial}d`;
  checkInput(op, x, spatial);
  const list = typeof outputSize === 'number' ? new Array<number>(spatial).fill(outputSize) : [...outputSize];
  if (list.length !== spatial) throw new ArgumentError(`${op}: expected outputSize to have ${spatial} entries, got ${describe(outputSize)}`);
  // null keeps the input's size, as None does in PyTorch.
  const outSpatial = list.map((v, i) => (v === null ? x.shape[2 + i]! : v));
  outSpatial.forEach((v, i) => {
    if (!Number.isInteger(v) || v < 1) throw new ArgumentError(`${op}: expected outputSize entries to be positive integers, got ${describe(outputSize)}`);
    if (x.shape[2 + i] === 0) throw new ShapeError(`${op}: spatial dim ${i} of the input is empty`);
  });
  const ones = new Array<number>(spatial).fill(1);
  const params: NativePoolParams = { spatial, mode, adaptive: true, countIncludePad: false, divisorOverride: 0, kernel: ones, stride: ones, padding: ones.map(() => 0), dilation: ones };
  return pool(op, x, params, outSpatial, withIndices);
}

/**
 * 2-d max pooling of `[N, C, H, W]`, as `F.max_pool2d`. With `returnIndices` it returns
 * `{ values, indices }` (the same form as `topk`, `sort` and `maxAlong`), where indices
 * (int32) are flat positions in each H*W plane, as `maxUnpool2d` takes them.
 *
 * @example
 * maxPool2d(x, 2)                 // halves H and W
 * maxPool2d(x, 3, { stride: 2, padding: 1 })
 * const { values, indices } = maxPool2d(x, 2, { returnIndices: true });
 */
export function maxPool2d(input: Tensor, kernelSize: number | readonly number[], opts?: MaxPoolOptions & { returnIndices?: false }): Tensor<'float32'>;
/** 2-d max pooling of `[N, C, H, W]` returning `{ values, indices }`: indices (int32) are flat positions in each H*W plane, as `F.max_pool2d(..., return_indices=True)`. */
export function maxPool2d(input: Tensor, kernelSize: number | readonly number[], opts: MaxPoolOptions & { returnIndices: true }): ValuesIndices<'float32'>;
export function maxPool2d(input: Tensor, kernelSize: number | readonly number[], opts: MaxPoolOptions & { returnIndices?: boolean } = {}) {
  const [values, indices] = maxPoolNd(2, input, kernelSize, opts, opts.returnIndices ?? false);
  return opts.returnIndices ? { values, indices: indices! } : values;
}

/** 1-d max pooling of `[N, C, L]`. */
export function maxPool1d(input: Tensor, kernelSize: number, opts: MaxPoolOptions = {}): Tensor<'float32'> {
  return maxPoolNd(1, input, kernelSize, opts, false)[0];
}

/** 3-d max pooling of `[N, C, D, H, W]`. */
export function maxPool3d(input: Tensor, kernelSize: number | readonly number[], opts: MaxPoolOptions = {}): Tensor<'float32'> {
  return maxPoolNd(3, input, kernelSize, opts, false)[0];
}

/** 2-d average pooling of `[N, C, H, W]`, as `F.avg_pool2d`. */
export function avgPool2d(input: Tensor, kernelSize: number | readonly number[], opts: AvgPoolOptions = {}): Tensor<'float32'> {
  return avgPoolNd(2, input, kernelSize, opts);
}

/** 1-d average pooling of `[N, C, L]`. */
export function avgPool1d(input: Tensor, kernelSize: number, opts: AvgPoolOptions = {}): Tensor<'float32'> {
  return avgPoolNd(1, input, kernelSize, opts);
}

/** 3-d average pooling of `[N, C, D, H, W]`. */
export function avgPool3d(input: Tensor, kernelSize: number | readonly number[], opts: AvgPoolOptions = {}): Tensor<'float32'> {
  return avgPoolNd(3, input, kernelSize, opts);
}

/**
 * Adaptive average pooling to `outputSize` (`[N, C, oH, oW]`), with PyTorch's windows
 * (start = floor(i * in / out), end = ceil((i + 1) * in / out)); `null` keeps a size.
 */
export function adaptiveAvgPool2d(input: Tensor, outputSize: number | readonly (number | null)[]): Tensor<'float32'> {
  return adaptiveNd(2, 1, input, outputSize, false)[0];
}

/** Adaptive average pooling of `[N, C, L]`. */
export function adaptiveAvgPool1d(input: Tensor, outputSize: number): Tensor<'float32'> {
  return adaptiveNd(1, 1, input, outputSize, false)[0];
}

/** Adaptive average pooling of `[N, C, D, H, W]`. */
export function adaptiveAvgPool3d(input: Tensor, outputSize: number | readonly (number | null)[]): Tensor<'float32'> {
  return adaptiveNd(3, 1, input, outputSize, false)[0];
}

/** Adaptive max pooling to `outputSize`; with `returnIndices`, `{ values, indices }` (as {@link maxPool2d}). */
export function adaptiveMaxPool2d(input: Tensor, outputSize: number | readonly (number | null)[], opts?: { returnIndices?: false }): Tensor<'float32'>;
/** Adaptive max pooling to `outputSize` returning `{ values, indices }` (int32 flat positions in each H*W plane). */
export function adaptiveMaxPool2d(input: Tensor, outputSize: number | readonly (number | null)[], opts: { returnIndices: true }): ValuesIndices<'float32'>;
export function adaptiveMaxPool2d(input: Tensor, outputSize: number | readonly (number | null)[], opts: { returnIndices?: boolean } = {}) {
  const [values, indices] = adaptiveNd(2, 0, input, outputSize, opts.returnIndices ?? false);
  return opts.returnIndices ? { values, indices: indices! } : values;
}

/** Global average pooling: `[N, C, H, W]` -> `[N, C, 1, 1]` (`[N, C]` without keepdim). */
export function globalAvgPool2d(input: Tensor, opts: { keepdim?: boolean } = {}): Tensor<'float32'> {
  const out = adaptiveAvgPool2d(input, 1);
  if (opts.keepdim ?? true) return out;
  try {
    return out.flatten(1);
  } finally {
    out.dispose();
  }
}
