/**
 * clamp, var, std, argmax and argmin, composed from differentiable primitives.
 * @module
 */
import { ArgumentError } from '../errors.js';
import { arange } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
import { normalizeDim } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { where } from './compare.js';
import { checkDTypeIn, checkTensor, scalarOperand, uniqueDims } from './validate.js';

/**
 * Clamps into [min, max] (either may be omitted), as `torch.clamp`. The gradient passes
 * where the input is inside the range, bounds included.
 */
export function clamp<D extends DType>(input: Tensor<D>, min?: number | null, max?: number | null): Tensor<D> {
  checkTensor('clamp', 'input', input);
  checkDTypeIn('clamp', 'input', input, ['float32', 'int32', 'uint8']);
  if ((min ?? null) === null && (max ?? null) === null) throw new ArgumentError('clamp: at least one of min and max must be given');
  // Checked here so the message names clamp, not the comparison inside.
  if (min !== undefined && min !== null) scalarOperand('clamp', 'min', input.dtype, min);
  if (max !== undefined && max !== null) scalarOperand('clamp', 'max', input.dtype, max);
  let out: Tensor<D> = input;
  if (min !== undefined && min !== null) out = where(out.lt(min), min, out);
  if (max !== undefined && max !== null) {
    const next = where(out.gt(max), max, out);
    if (out !== input) out.dispose();
    out = next;
  }
  return out;
}

/** Options of {@link variance} and {@link std}. */
export interface VarianceOptions {
  /** Keep the reduced dims as size 1 (default false), as torch's `keepdim`. */
  keepdim?: boolean;
  /** Subtracted from the count in the divisor (default 1: unbiased, as torch.var). */
  correction?: number;
}

/** Variance over `dim` (all when omitted), as `torch.var`. */
export function variance(input: Tensor, dim?: number | readonly number[], opts: VarianceOptions = {}): Tensor<'float32'> {
  checkTensor('var', 'input', input);
  checkDTypeIn('var', 'input', input, ['float32']);
  const dims = dim === undefined ? [...input.shape.keys()] : typeof dim === 'number' ? [dim] : [...dim];
  const normalized = uniqueDims('var', dims, input.ndim);
  const count = normalized.reduce((n, d) => n * input.shape[d]!, 1);
  const correction = opts.correction ?? 1;
  const centered = input.sub(input.mean(normalized, { keepdim: true }));
  return centered.square().sum(normalized, { keepdim: opts.keepdim }).div(Math.max(count - correction, 0)) as Tensor<'float32'>;
}

/** Standard deviation over `dim` (all when omitted), as `torch.std`. */
export function std(input: Tensor, dim?: number | readonly number[], opts: VarianceOptions = {}): Tensor<'float32'> {
  return variance(input, dim, opts).sqrt();
}

function argExtreme(op: 'argmax' | 'argmin', input: Tensor, dim: number | undefined, keepdim: boolean): Tensor<'int32'> {
  checkTensor(op, 'input', input);
  checkDTypeIn(op, 'input', input, ['float32', 'int32', 'uint8']);
  if (dim === undefined) {
    const flat = input.reshape(-1);
    try {
      return argExtreme(op, flat, 0, false);
    } finally {
      flat.dispose();
    }
  }
  const d = normalizeDim(op, dim, input.ndim);
  const size = input.shape[d]!;
  if (size === 0) throw new ArgumentError(`${op}: cannot take the ${op} of the empty dim ${d}`);
  const extreme = (op === 'argmax' ? input.amax(d, { keepdim: true }) : input.amin(d, { keepdim: true })).detach();
  const positions = arange(size, { dtype: 'int32', device: input.device }).reshape(input.shape.map((s, k) => (k === d ? s : 1)));
  // The first position holding the extreme, as PyTorch returns; a NaN is the extreme of
  // its row (amax/amin propagate it), and NaN != NaN, so NaN positions are found apart.
  const isNan = input.ne(input);
  const candidates = where(where(isNan, isNan, input.eq(extreme)), positions, size);
  return candidates.amin(d, { keepdim });
}

/** Index of the maximum along `dim` (of the flattened input when omitted), int32. */
export function argmax(input: Tensor, dim?: number, opts: { keepdim?: boolean } = {}): Tensor<'int32'> {
  return argExtreme('argmax', input, dim, opts.keepdim ?? false);
}

/** Index of the minimum along `dim` (of the flattened input when omitted), int32. */
export function argmin(input: Tensor, dim?: number, opts: { keepdim?: boolean } = {}): Tensor<'int32'> {
  return argExtreme('argmin', input, dim, opts.keepdim ?? false);
}
