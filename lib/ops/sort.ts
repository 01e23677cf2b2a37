/**
 * Sorting and order statistics, as torch: sort, argsort, topk, max/min along a dim with
 * indices, quantile and histc. The native primitive is a row-wise stable argsort (std::
 * stable_sort on CPU, CUB's segmented sort on CUDA); values are then gathered, so they
 * are differentiable.
 * @module
 */
import { noGrad } from '../autograd/grad_mode.js';
import { ArgumentError, ShapeError } from '../errors.js';
import { native } from '../native.js';
import { empty, full, ones, tensor, zeros } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
import { describe, normalizeDim } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { where } from './compare.js';
import { gather, indexSelect } from './indexing.js';
import { scatterAdd } from './resample.js';
import { cat } from './shape.js';
import { argmax, argmin, clamp } from './statistics.js';
import { checkDTypeIn, checkTensor } from './validate.js';

/**
 * Values with the positions they came from, as torch's `(values, indices)` named tuples
 * read by name: the one result form of `sort`, `topk`, `maxAlong`/`minAlong`,
 * `Tensor.max(dim)`/`min(dim)` and `maxPool2d`/`adaptiveMaxPool2d` with `returnIndices`.
 */
export interface ValuesIndices<D extends DType> {
  values: Tensor<D>;
  indices: Tensor<'int32'>;
}

/** Positions that sort `input` along `dim` (stable). */
export function argsort(input: Tensor, dim = -1, opts: { descending?: boolean } = {}): Tensor<'int32'> {
  checkTensor('argsort', 'input', input);
  checkDTypeIn('argsort', 'input', input, ['float32', 'int32']);
  if (input.ndim === 0) return zeros([], { dtype: 'int32', device: input.device });
  const d = normalizeDim('argsort', dim, input.ndim);
  const last = input.ndim - 1;
  const moved = d === last ? input : input.transpose(d, last);
  const rows = moved.contiguous();
  const indices = empty('sort', rows.shape, 'int32', input.device);
  native.argsort('argsort', indices._native('sort', 'indices'), rows._native('sort', 'input'), opts.descending ?? false);
  if (moved !== input) moved.dispose();
  rows.dispose();
  if (d === last) return indices;
  try {
    return indices.transpose(d, last);
  } finally {
    indices.dispose();
  }
}

/**
 * Sorts along `dim` (stable; NaN counts as largest), as `torch.sort(stable=True)`.
 * @example const { values, indices } = sort(scores, 0, { descending: true });
 */
export function sort<D extends DType>(input: Tensor<D>, dim = -1, opts: { descending?: boolean } = {}): ValuesIndices<D> {
  const indices = argsort(input, dim, opts);
  if (input.ndim === 0) return { values: input.reshape([]), indices };
  return { values: gather(input, normalizeDim('sort', dim, input.ndim), indices), indices };
}

/**
 * The `k` largest (or smallest) entries along `dim`, sorted, as `torch.topk`.
 * @example topk(logits, 5).indices // top-5 classes
 */
export function topk<D extends DType>(input: Tensor<D>, k: number, dim = -1, opts: { largest?: boolean } = {}): ValuesIndices<D> {
  checkTensor('topk', 'input', input);
  const d = normalizeDim('topk', dim, Math.max(input.ndim, 1));
  const size = input.ndim === 0 ? 1 : input.shape[d]!;
  if (!Number.isInteger(k) || k < 0 || k > size) throw new ArgumentError(`topk: expected k in [0, ${size}], got ${describe(k)}`);
  const { values, indices } = sort(input, d, { descending: opts.largest ?? true });
  try {
    return { values: values.slice(d, 0, k), indices: indices.slice(d, 0, k) };
  } finally {
    values.dispose();
    indices.dispose();
  }
}

/** Maximum along `dim` with its (first) position, as `torch.max(input, dim)`. */
export function maxAlong<D extends DType>(input: Tensor<D>, dim: number, opts: { keepdim?: boolean } = {}): ValuesIndices<D> {
  return extremeAlong('max', input, dim, opts.keepdim ?? false);
}

/** Minimum along `dim` with its (first) position, as `torch.min(input, dim)`. */
export function minAlong<D extends DType>(input: Tensor<D>, dim: number, opts: { keepdim?: boolean } = {}): ValuesIndices<D> {
  return extremeAlong('min', input, dim, opts.keepdim ?? false);
}

function extremeAlong<D extends DType>(op: 'max' | 'min', input: Tensor<D>, dim: number, keepdim: boolean): ValuesIndices<D> {
  checkTensor(op, 'input', input);
  const d = normalizeDim(op, dim, input.ndim);
  const indices = op === 'max' ? argmax(input, d, { keepdim: true }) : argmin(input, d, { keepdim: true });
  const values = gather(input, d, indices);
  if (keepdim) return { values, indices };
  try {
    return { values: values.squeeze(d), indices: indices.squeeze(d) };
  } finally {
    values.dispose();
    indices.dispose();
  }
}

/**
 * Quantiles `q` (in [0, 1]) along `dim` (of the flattened input when omitted) with linear
 * interpolation, as `torch.quantile`; a list of q adds a leading dim.
 */
export function quantile(input: Tensor, q: number | readonly number[], dim?: number, opts: { keepdim?: boolean } = {}): Tensor<'float32'> {
  checkTensor('quantile', 'input', input);
  checkDTypeIn('quantile', 'input', input, ['float32']);
  const qs = typeof q === 'number' ? [q] : [...q];
  if (qs.length === 0 || qs.some((v) => !(v >= 0 && v <= 1))) throw new ArgumentError(`quantile: expected q in [0, 1], got ${describe(q)}`);
  const source = dim === undefined ? input.reshape(-1) : input;
  const d = dim === undefined ? 0 : normalizeDim('quantile', dim, input.ndim);
  const n = source.shape[d]!;
  if (n === 0) throw new ShapeError('quantile: the input is empty along the reduced dim');
  const { values: sorted, indices } = sort(source, d);
  indices.dispose();
  const results = qs.map((value) => {
    const position = value * (n - 1);
    const lo = Math.floor(position);
    const hi = Math.min(lo + 1, n - 1);
    const pick = (i: number) => indexSelect(sorted, d, tensor([i], { dtype: 'int32', device: input.device }));
    const low = pick(lo);
    const high = pick(hi);
    let out: Tensor = low.add(high.sub(low).mul(position - lo));
    if (!(opts.keepdim ?? false)) out = out.squeeze(d);
    else if (dim === undefined) out = out.reshape(input.shape.map(() => 1));
    return out.unsqueeze(0);
  });
  const stacked = results.length === 1 ? results[0]!.squeeze(0) : cat(results, 0);
  return stacked as Tensor<'float32'>;
}

/**
 * Histogram of `input` into `bins` equal-width bins over [min, max] (the data range when
 * min == max), ignoring values outside, as `torch.histc`. Not differentiable.
 */
export function histc(input: Tensor, bins = 100, min = 0, max = 0): Tensor<'float32'> {
  checkTensor('histc', 'input', input);
  checkDTypeIn('histc', 'input', input, ['float32']);
  if (!Number.isInteger(bins) || bins < 1) throw new ArgumentError(`histc: expected bins to be a positive integer, got ${describe(bins)}`);
  return noGrad(() => {
    let lo = min;
    let hi = max;
    if (lo === hi && input.numel > 0) {
      lo = input.amin().item();
      hi = input.amax().item();
    }
    if (lo === hi) {
      lo -= 1;
      hi += 1;
    }
    if (!(hi > lo)) throw new ArgumentError(`histc: expected max > min, got min ${min}, max ${max}`);
    const flat = input.reshape(-1);
    const inside = where(flat.ge(lo), flat.le(hi), 0);
    // For values >= lo, converting to int32 truncates = floors; max itself goes to the last bin.
    const raw = flat.sub(lo).mul(bins / (hi - lo)).to('int32');
    const bin = where(inside, clamp(raw, 0, bins - 1), 0);
    const counts = scatterAdd(full([bins], 0, { dtype: 'int32', device: input.device }), 0, bin, where(inside, ones([flat.numel], { dtype: 'int32', device: input.device }), 0));
    return counts.to('float32');
  });
}
