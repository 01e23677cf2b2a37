/**
 * Argument checks shared by ops. Messages follow one shape: "OP: expected ARG to be X, got Y".
 * @module
 */
import { ArgumentError, DeviceError, DTypeError, ShapeError } from '../errors.js';
import type { DType } from '../tensor/dtype.js';
import { describe } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

/** Throws unless `value` is a live Tensor. */
export function checkTensor(op: string, name: string, value: unknown): Tensor {
  if (!(value instanceof Tensor)) throw new ArgumentError(`${op}: expected ${name} to be a Tensor, got ${describe(value)}`);
  return value;
}

/** Throws DeviceError unless all tensors share one device, naming the ones that differ. */
export function checkSameDevice(op: string, tensors: Record<string, { device: string }>): void {
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

/** Throws DTypeError unless all tensors share one dtype. */
export function checkSameDType(op: string, tensors: Record<string, { dtype: DType }>): void {
  const entries = Object.entries(tensors);
  const [firstName, first] = entries[0]!;
  for (const [name, t] of entries.slice(1)) {
    if (t.dtype !== first.dtype) {
      throw new DTypeError(
        `${op}: expected ${name} to have dtype ${first.dtype} like ${firstName}, got ${t.dtype} (convert with .to('${first.dtype}'))`,
      );
    }
  }
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
  const source = value ?? fallback;
  const list = typeof source === 'number' ? [source] : [...source];
  const full = list.length === 1 ? new Array<number>(count).fill(list[0]!) : list;
  if (full.length !== count || full.some((v) => !Number.isInteger(v) || v < min)) {
    throw new ShapeError(`${op}: expected ${name} to be an integer >= ${min} or ${count} of them, got ${describe(value)}`);
  }
  return full;
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
