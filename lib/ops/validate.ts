/**
 * Argument checks shared by ops. Messages follow one shape: "OP: expected ARG to be X, got Y".
 * @module
 */
import { ArgumentError, DeviceError, DTypeError, ShapeError } from '../errors.js';
import type { DType } from '../tensor/dtype.js';
import { describe, normalizeDim } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

/** Throws unless `value` is a live Tensor. */
export function checkTensor(op: string, name: string, value: unknown): Tensor {
  if (!(value instanceof Tensor)) throw new ArgumentError(`${op}: expected ${name} to be a Tensor, got ${describe(value)}`);
  return value;
}

/** Throws DeviceError unless all tensors share one device, naming the ones that differ. */
export function checkSameDevice(op: string, tensors: Record<string, { device: string }>): void {
  if (allSame(tensors, 'device')) return;
  const entries = Object.entries(tensors);
  const [firstName, first] = entries[0]!;
  for (const [name, t] of entries.slice(1)) {
    if (t.device !== first.device) {
      throw new DeviceError(
        `${op}: expected all tensors on one device, but ${firstName} is on ${first.device} and ${name} is on ${t.device}`,
      );
    }
  }
}

/**
 * Whether every entry has the same `key`: the check every op makes, answered without the
 * arrays that naming the odd one out needs (a small op's validation is on its hot path).
 */
function allSame<K extends string>(tensors: Record<string, Record<K, string>>, key: K): boolean {
  let first: string | undefined;
  for (const name in tensors) {
    const value = tensors[name]![key];
    if (first === undefined) first = value;
    else if (value !== first) return false;
  }
  return true;
}

/** PyTorch's type-promotion order for the dtypes neocog has (a 16-bit pair promotes to float32). */
const PROMOTION_RANK: Record<DType, number> = { bool: 0, uint8: 1, int32: 2, float16: 3, bfloat16: 3, float32: 4 };

/** The dtype PyTorch would compute `a op b` in. */
export function promotedDType(a: DType, b: DType): DType {
  if (a === b) return a;
  const [ra, rb] = [PROMOTION_RANK[a], PROMOTION_RANK[b]];
  if (ra === rb) return 'float32'; // float16 with bfloat16
  return ra > rb ? a : b;
}

/**
 * Throws DTypeError unless all tensors share one dtype. neocog does not promote dtypes
 * implicitly, so the message names the cast PyTorch's promotion would have made: the
 * lower operand converted up (`int32 + float32` suggests converting the int32 one).
 */
export function checkSameDType(op: string, tensors: Record<string, { dtype: DType }>): void {
  if (allSame(tensors, 'dtype')) return;
  const entries = Object.entries(tensors);
  const [firstName, first] = entries[0]!;
  for (const [name, t] of entries.slice(1)) {
    if (t.dtype !== first.dtype) {
      const target = promotedDType(first.dtype, t.dtype);
      const cast =
        target === first.dtype
          ? `convert with .to('${first.dtype}')`
          : `neocog does not promote dtypes: convert ${target === t.dtype ? firstName : `both ${firstName} and ${name}`} with .to('${target}')`;
      throw new DTypeError(`${op}: expected ${name} to have dtype ${first.dtype} like ${firstName}, got ${t.dtype} (${cast})`);
    }
  }
}

/**
 * Throws DTypeError when the number operand `value` of an op on a tensor of `dtype` would
 * change on conversion to that dtype: a fraction, NaN, an infinity or a value past int32
 * with an integer tensor (PyTorch would compute in float32 there; neocog does not promote
 * dtypes, so the message names the cast), or anything but 0 and 1 with a bool tensor.
 * Returns the value to store: integers wrap into uint8 as in PyTorch (`uint8 + 300` adds 44).
 */
export function scalarOperand(op: string, name: string, dtype: DType, value: number): number {
  if (FLOAT_DTYPES.includes(dtype)) return value;
  const fits = dtype === 'bool' ? value === 0 || value === 1 : Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31;
  if (!fits) {
    throw new DTypeError(
      `${op}: expected ${name} to be ${dtype === 'bool' ? '0 or 1' : 'an int32 integer'} with a ${dtype} tensor, got ${value} (neocog does not promote dtypes: convert the tensor with .to('float32'))`,
    );
  }
  return dtype === 'uint8' ? value & 0xff : value;
}

/** The dtypes conv, linear and matmul take: float32, and float16/bfloat16 (mixed precision). */
export const FLOAT_DTYPES: readonly DType[] = ['float32', 'float16', 'bfloat16'];

/** Throws DTypeError unless `t.dtype` is one of `allowed`. */
export function checkDTypeIn(op: string, name: string, t: { dtype: DType }, allowed: readonly DType[]): void {
  if (!allowed.includes(t.dtype)) {
    throw new DTypeError(`${op}: expected ${name} to have dtype ${allowed.join(' or ')}, got ${t.dtype}`);
  }
}

/**
 * A per-dim option (stride, padding, kernel size, ...) as `count` integers >= `min`: a
 * number applies to every dim; undefined takes `fallback` (one value or one per dim).
 * Bad values are geometry errors, so they throw ShapeError.
 */
export function intTuple(
  op: string,
  name: string,
  value: number | readonly number[] | undefined,
  count: number,
  fallback: number | readonly number[],
  min: number,
): number[] {
  // A number (or a one-entry fallback) applies to every dim; a list given by the caller must
  // have one entry per dim: `stride: [1]` on a 2-d conv is a mistake, not a shorthand.
  const source = value ?? fallback;
  const list = typeof source === 'number' ? [source] : Array.isArray(source) ? [...(source as readonly number[])] : [NaN];
  const broadcast = typeof source === 'number' || (value === undefined && list.length === 1);
  const full = broadcast ? new Array<number>(count).fill(list[0]!) : list;
  if (full.length !== count || full.some((v) => !Number.isInteger(v) || v < min)) {
    throw new ShapeError(`${op}: expected ${name} to be an integer >= ${min} or a list of ${count} of them, got ${describe(value)}`);
  }
  return full;
}

/**
 * Normalizes a list of dims (negative ones wrap) and refuses repeats, as PyTorch does
 * ("dim 0 appears multiple times in the list of dims").
 */
export function uniqueDims(op: string, dims: readonly number[], ndim: number, name = 'dim'): number[] {
  const normalized = dims.map((d) => normalizeDim(op, d, ndim, name));
  const repeated = normalized.find((d, i) => normalized.indexOf(d) !== i);
  if (repeated !== undefined) {
    throw new ArgumentError(`${op}: dim ${repeated} appears multiple times in the list of dims ${describe(dims)}`);
  }
  return normalized;
}

/** Throws ArgumentError unless `value` is an integer >= `min` (a count: channels, features, groups). */
export function checkInt(op: string, name: string, value: unknown, min: number): number {
  if (!Number.isInteger(value) || (value as number) < min) {
    throw new ArgumentError(`${op}: expected ${name} to be an integer${min === -Infinity ? '' : ` >= ${min}`}, got ${describe(value)}`);
  }
  return value as number;
}

/** Throws ArgumentError unless `value` is a number in [low, high] (a probability, a momentum). */
export function checkInRange(op: string, name: string, value: unknown, low: number, high: number): number {
  if (typeof value !== 'number' || !(value >= low && value <= high)) {
    throw new ArgumentError(`${op}: expected ${name} in [${low}, ${high}], got ${describe(value)}`);
  }
  return value;
}

/**
 * Runs `fn` on `x` with a batch dim of one added, and removes it from the result: the
 * unbatched forms (`[C, H, W]`) PyTorch's convolutions accept.
 */
export function withBatchDim<T extends Tensor>(x: Tensor, fn: (batched: Tensor) => T): T {
  const batched = x.unsqueeze(0);
  try {
    const out = fn(batched);
    try {
      return out.squeeze(0) as T;
    } finally {
      out.dispose();
    }
  } finally {
    batched.dispose();
  }
}
