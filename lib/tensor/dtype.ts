/**
 * Element types. Integer indices that PyTorch returns as int64 are int32 here. float16 and
 * bfloat16 are storage types for mixed precision: casts, views, conv, linear and matmul
 * take them (computing with float32 accumulation); other ops ask for float32.
 * @module
 */
import { DTypeError } from '../errors.js';

/** The element types a tensor can hold. */
export type DType = 'float32' | 'int32' | 'uint8' | 'bool' | 'float16' | 'bfloat16';

/** The 16-bit floating dtypes. */
export type HalfDType = 'float16' | 'bfloat16';

/** Every dtype, in binding-code order (native/include/neocog/dtype.h). */
export const dtypes: readonly DType[] = ['float32', 'int32', 'uint8', 'bool', 'float16', 'bfloat16'];

/** The typed array `data()` returns for each dtype (bool as 0/1 bytes; 16-bit floats widened
 * to float32, exactly, since every float16/bfloat16 value is a float32 value). */
export interface TypedArrayFor {
  float32: Float32Array;
  int32: Int32Array;
  uint8: Uint8Array;
  bool: Uint8Array;
  float16: Float32Array;
  bfloat16: Float32Array;
}

/** Any typed array a tensor can be created from or read into. */
export type TensorData = Float32Array | Int32Array | Uint8Array;

const arrayTypes = {
  float32: Float32Array,
  int32: Int32Array,
  uint8: Uint8Array,
  bool: Uint8Array,
  float16: Float32Array,
  bfloat16: Float32Array,
} as const;

const SIZES: Record<DType, number> = { float32: 4, int32: 4, uint8: 1, bool: 1, float16: 2, bfloat16: 2 };

/** Binding code of a dtype. */
export function dtypeCode(dtype: DType): number {
  return dtypes.indexOf(dtype);
}

/** Bytes per element in native memory. */
export function dtypeSize(dtype: DType): number {
  // The common dtypes by comparison: a table lookup by a varying key is a megamorphic keyed
  // load, and every new tensor asks (issue 11).
  if (dtype === 'float32' || dtype === 'int32') return 4;
  return SIZES[dtype];
}

/** True for float16 and bfloat16. */
export function isHalf(dtype: DType): dtype is HalfDType {
  return dtype === 'float16' || dtype === 'bfloat16';
}

/** A view of `buffer` as the typed array of `dtype` (16-bit floats: already widened to float32). */
export function typedArrayOf<D extends DType>(dtype: D, buffer: ArrayBuffer, length: number): TypedArrayFor[D] {
  return new arrayTypes[dtype](buffer, 0, length) as TypedArrayFor[D];
}

/** A zeroed typed array of `dtype`. */
export function allocTypedArray<D extends DType>(dtype: D, length: number): TypedArrayFor[D] {
  return new arrayTypes[dtype](length) as TypedArrayFor[D];
}

/** True for the floating-point dtypes. */
export function isFloatingPoint(dtype: DType): boolean {
  return dtype === 'float32' || isHalf(dtype);
}

/** Validates a user-supplied dtype name. */
export function checkDType(op: string, name: string, value: unknown): DType {
  if (typeof value === 'string' && (dtypes as readonly string[]).includes(value)) return value as DType;
  throw new DTypeError(`${op}: expected ${name} to be one of ${dtypes.join(', ')}, got ${String(value)}`);
}

/** The dtype matching a typed array. */
export function dtypeOfTypedArray(array: TensorData): DType {
  if (array instanceof Float32Array) return 'float32';
  if (array instanceof Int32Array) return 'int32';
  return 'uint8';
}
