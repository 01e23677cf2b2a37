/**
 * clamp, var, std, argmax and argmin, composed from differentiable primitives.
 * @module
 */
import { ArgumentError } from '../errors.js';
import { arange } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
import { broadcastShapes, normalizeDim } from '../tensor/shape.js';
import { scope } from '../tensor/memory.js';
import type { Tensor } from '../tensor/tensor.js';
import { where } from './compare.js';
import { checkDTypeIn, checkSameDevice, checkSameDType, checkTensor, scalarOperand, uniqueDims } from './validate.js';

/** A bound of {@link clamp}: a number, a tensor broadcast against the input, or none. */
export type ClampBound = number | Tensor | null | undefined;

/**
 * Clamps into [min, max] (either may be omitted), as `torch.clamp`. Bounds are numbers or
 * tensors of the input's dtype that broadcast with it (the result takes the broadcast
 * shape); where min > max the result is max. The gradient reaches the input where it lies
 * inside the range, bounds included, and a tensor bound where that bound is the result:
 * PyTorch's rule, under which neither gets it where x < min == max.
 *
 * @example
 * clamp(x, 0, 1)                    // into [0, 1]
 * clamp(boxes, 0, tensor([w, h, w, h], { dtype: 'float32' })) // per-column upper bounds
 */
export function clamp<D extends DType>(input: Tensor<D>, min?: ClampBound, max?: ClampBound): Tensor<D> {
  checkTensor('clamp', 'input', input);
  checkDTypeIn('clamp', 'input', input, ['float32', 'int32', 'uint8']);
  if ((min ?? null) === null && (max ?? null) === null) throw new ArgumentError('clamp: at least one of min and max must be given');
  const lo = checkBound(input, 'min', min);
  const hi = checkBound(input, 'max', max);
  if (lo !== null && hi !== null && typeof lo !== 'number' && typeof hi !== 'number') broadcastShapes('clamp', lo.shape, hi.shape);
  // scope frees the selection's temporaries now rather than at garbage collection.
  if ((lo !== null && typeof lo !== 'number') || (hi !== null && typeof hi !== 'number')) return scope(() => clampByTensors(input, lo, hi));
  let out: Tensor<D> = input;
  if (lo !== null) out = where(out.lt(lo), lo, out);
  if (hi !== null) {
    const next = where(out.gt(hi), hi, out);
    if (out !== input) out.dispose();
    out = next;
  }
  return out;
}

/** One bound of clamp checked against the input: a storable number, a tensor, or null. */
function checkBound(input: Tensor, name: 'min' | 'max', bound: ClampBound): number | Tensor | null {
  if (bound === undefined || bound === null) return null;
  // Checked here so the message names clamp, not the comparison inside.
  if (typeof bound === 'number') return scalarOperand('clamp', name, input.dtype, bound);
  const t = checkTensor('clamp', name, bound);
  checkSameDevice('clamp', { input, [name]: t });
  checkSameDType('clamp', { input, [name]: t });
  broadcastShapes('clamp', input.shape, t.shape);
  return t;
}

/**
 * clamp with at least one tensor bound, as `torch.clamp(x, min=Tensor, max=Tensor)`. The
 * nested selections give each element's value from the operand PyTorch's derivative
 * formula (clamp_backward, clamp_backward_min_max) sends its gradient to: max where
 * max < min or x > max, min where x < min < max, x where min <= x <= max, and a detached
 * min where x < min == max (no gradient at all there).
 */
function clampByTensors<D extends DType>(x: Tensor<D>, lo: number | Tensor | null, hi: number | Tensor | null): Tensor<D> {
  if (x.dtype !== 'float32') return selectClamped(x, x, lo, hi);
  // A NaN operand makes the result NaN, as PyTorch's kernel; its derivative masks compare
  // false there, so x gets no gradient: the selection sees a detached x and the NaN is
  // added on top (which leaves every other operand's gradient as the masks have it).
  const nan = nanOffset([x, lo, hi]);
  const nanHere = nan.ne(nan);
  return selectClamped(x, where(nanHere, x.detach(), x), lo, hi).add(nan) as Tensor<D>;
}

/** The selection of clampByTensors, taking x's value and gradient from `xGated`. */
function selectClamped<D extends DType>(x: Tensor<D>, xGated: Tensor<D>, lo: number | Tensor | null, hi: number | Tensor | null): Tensor<D> {
  const operand = (v: number | Tensor) => v as Tensor<D> | number;
  if (hi === null) return where(x.lt(lo!), operand(lo!), xGated);
  if (lo === null) return where(x.gt(hi), operand(hi), xGated);
  // The bounds compared with the tensor one as the receiver (a number has no methods).
  const hiBelowLo = typeof hi === 'object' ? hi.lt(lo) : (lo as Tensor).gt(hi);
  const atLo = typeof lo === 'object' ? where(lo.lt(hi), operand(lo), lo.detach() as Tensor<D>) : lo;
  return where(hiBelowLo, operand(hi), where(x.gt(hi), operand(hi), where(x.lt(lo), atLo, xGated)));
}

/** NaN where any tensor operand is NaN, else 0 (no gradient). */
function nanOffset(operands: ReadonlyArray<number | Tensor | null>): Tensor {
  let offset: Tensor | number = 0;
  for (const v of operands) if (v !== null && typeof v !== 'number') offset = where(v.ne(v), Number.NaN, offset);
  return offset as Tensor;
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
