/**
 * Messages between the DataLoader and its worker threads. Tensors cannot cross threads
 * (their memory belongs to one addon instance), so a batch travels as a tree in which
 * each tensor is replaced by its dtype, shape and a typed array whose buffer is
 * transferred, not copied.
 * @internal
 * @module
 */
import * as errors from '../errors.js';
import { fromTypedArray } from '../tensor/creation.js';
import type { DType, TensorData } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import type { ModuleRef } from './module_ref.js';

/** What a worker is started with. */
export interface WorkerInit {
  spec: ModuleRef;
  worker: number;
}

/**
 * Main thread -> worker: build batch `batch` of an epoch from `indices`, with the generator
 * seeded to `seed`. `id` is unique in the pool (batch numbers repeat across epochs).
 */
export interface BatchRequest {
  type: 'batch';
  id: number;
  batch: number;
  indices: number[];
  seed: number;
}

/** Main thread -> worker: drop these requests if not started yet (their epoch ended early). */
export interface CancelRequest {
  type: 'cancel';
  ids: number[];
}

/** Main thread -> worker: finish the batch in hand, then exit. */
export interface StopRequest {
  type: 'stop';
}

/** A tensor on its way between threads. */
export interface EncodedTensor {
  __neocogTensor: true;
  dtype: DType;
  shape: number[];
  data: TensorData;
}

/** A batch on its way between threads. */
export type Encoded = EncodedTensor | Encoded[] | { [key: string]: Encoded } | number | string | boolean | null | undefined;

/** An error on its way between threads: enough to rebuild its class and message. */
export interface SerializedError {
  name: string;
  message: string;
  stack: string | undefined;
}

/** Worker -> main thread: a batch or the error that stopped it, for request `id`. */
export type BatchReply = { type: 'batch'; id: number; value: Encoded } | { type: 'error'; id: number; error: SerializedError };

/** Worker -> main thread: the dataset could not be built; the worker exits. */
export interface StartupFailure {
  type: 'startup-error';
  error: SerializedError;
}

export type WorkerReply = BatchReply | StartupFailure;

export type WorkerRequest = BatchRequest | CancelRequest | StopRequest;

function isEncodedTensor(value: unknown): value is EncodedTensor {
  return typeof value === 'object' && value !== null && (value as Partial<EncodedTensor>).__neocogTensor === true;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Replaces every tensor of a batch by an {@link EncodedTensor}; collects buffers to transfer. */
export async function encodeBatch(value: unknown, transfer: ArrayBuffer[]): Promise<Encoded> {
  if (value instanceof Tensor) {
    // data() may hand out memory owned by the addon; a plain copy is always transferable.
    const data = (await value.data()).slice();
    transfer.push(data.buffer as ArrayBuffer);
    return { __neocogTensor: true, dtype: value.dtype, shape: [...value.shape], data };
  }
  if (Array.isArray(value)) return Promise.all(value.map((item) => encodeBatch(item, transfer)));
  if (isPlainObject(value)) {
    const out: { [key: string]: Encoded } = {};
    for (const [key, item] of Object.entries(value)) out[key] = await encodeBatch(item, transfer);
    return out;
  }
  if (value === null || value === undefined || ['number', 'string', 'boolean'].includes(typeof value)) return value as Encoded;
  throw new errors.ArgumentError(
    `DataLoader worker: a batch may hold tensors, numbers, strings, booleans, and arrays or plain objects of them; got ${Object.prototype.toString.call(value)}`,
  );
}

/** Rebuilds a batch in the receiving thread: encoded tensors become CPU tensors. */
export function decodeBatch(value: Encoded): unknown {
  if (isEncodedTensor(value)) {
    const tensor = fromTypedArray(value.data, value.shape);
    return tensor.dtype === value.dtype ? tensor : convert(tensor, value.dtype);
  }
  if (Array.isArray(value)) return value.map(decodeBatch);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decodeBatch(v)]));
  return value;
}

/** bool tensors arrive as uint8 bytes. */
function convert(tensor: Tensor, dtype: DType): Tensor {
  const out = tensor.to(dtype);
  tensor.dispose();
  return out;
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) return { name: error.name, message: error.message, stack: error.stack };
  return { name: 'Error', message: String(error), stack: undefined };
}

/** The classes an error from a worker is rebuilt as; others become a plain `Error` with their name. */
const errorClasses: Record<string, new (message: string) => Error> = {
  ArgumentError: errors.ArgumentError,
  DeviceError: errors.DeviceError,
  DisposedError: errors.DisposedError,
  DTypeError: errors.DTypeError,
  FormatError: errors.FormatError,
  IndexError: errors.IndexError,
  KeyError: errors.KeyError,
  NeocogError: errors.NeocogError,
  OutOfMemoryError: errors.OutOfMemoryError,
  ShapeError: errors.ShapeError,
  BusyError: errors.BusyError,
  WorkerError: errors.WorkerError,
  Error,
  RangeError,
  ReferenceError,
  SyntaxError,
  TypeError,
};

/** The error a worker threw, as the same class and message, its stack noting where it ran. */
export function reviveError(serialized: SerializedError, where: string): Error {
  const Class = errorClasses[serialized.name] ?? Error;
  const error = new Class(serialized.message);
  if (error.name !== serialized.name) error.name = serialized.name;
  const workerFrames = serialized.stack?.split('\n').slice(1).join('\n') ?? '';
  error.stack = `${serialized.name}: ${serialized.message}\n    (thrown in ${where})\n${workerFrames}`;
  return error;
}

/**
 * The generator seed for one batch in a worker: a hash of the loader's seed, the epoch and
 * the batch index, so augmentation does not depend on which worker builds the batch or when.
 */
export function batchSeed(seed: number, epoch: number, batch: number): number {
  let h = 0x9e3779b9 ^ (seed >>> 0) ^ Math.floor(seed / 4294967296);
  for (const word of [epoch, batch]) {
    h = Math.imul(h ^ (word >>> 0), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}
