/**
 * A state dict packed into one SharedArrayBuffer, for threads that read one copy of the
 * weights (infer.WorkerPool): the main thread packs it once, each worker turns it back into
 * tensors that borrow the buffer's memory rather than copying it.
 * @module
 */
import { DTypeError } from '../errors.js';
import { dtypeSize, type DType } from '../tensor/dtype.js';
import { fromSharedMemory } from '../tensor/shared_memory.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * Where each tensor starts: a cache line, so no two tensors share one (threads read them
 * side by side) and every dtype's alignment holds.
 */
export const SHARED_ALIGNMENT = 64;

/** One tensor of a {@link SharedStateDict}: JSON-able. */
export interface SharedTensorEntry {
  /** State-dict name (`layer1.0.conv1.weight`). */
  name: string;
  dtype: 'float32' | 'int32' | 'uint8' | 'bool';
  shape: number[];
  /** Where its bytes start in the buffer (a multiple of {@link SHARED_ALIGNMENT}). */
  byteOffset: number;
}

/** A state dict in one SharedArrayBuffer: the bytes, and the index that says where each tensor lies (row-major). */
export interface SharedStateDict {
  buffer: SharedArrayBuffer;
  entries: SharedTensorEntry[];
}

const PACKABLE: ReadonlySet<DType> = new Set(['float32', 'int32', 'uint8', 'bool']);

const align = (n: number): number => Math.ceil(n / SHARED_ALIGNMENT) * SHARED_ALIGNMENT;

/** The index of a packed dict, and the buffer's length. */
function layout(dict: ReadonlyMap<string, Tensor>, op: string): { entries: SharedTensorEntry[]; bytes: number } {
  const entries: SharedTensorEntry[] = [];
  let end = 0;
  for (const [name, t] of dict) {
    if (!PACKABLE.has(t.dtype)) throw new DTypeError(`${op}: ${name} is ${t.dtype}; only float32, int32, uint8 and bool tensors are packed`);
    entries.push({ name, dtype: t.dtype as SharedTensorEntry['dtype'], shape: [...t.shape], byteOffset: end });
    end = align(end + t.numel * dtypeSize(t.dtype));
  }
  return { entries, bytes: end };
}

function write(buffer: SharedArrayBuffer, entry: SharedTensorEntry, values: ArrayBufferView): void {
  new Uint8Array(buffer, entry.byteOffset, values.byteLength).set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
}

/**
 * Copies the tensors of `dict` (on any device) into one new SharedArrayBuffer, in their
 * logical (row-major) order. Waits for the work queued on them. A SharedArrayBuffer
 * posted to a worker (workerData, postMessage) is shared, not copied.
 * @throws DTypeError for a 16-bit tensor (convert the model's weights to float32 first)
 *
 * @example
 * const shared = await io.packSharedStateDict(model.stateDict());
 * new Worker(url, { workerData: shared }); // the worker: io.unpackSharedStateDict(workerData)
 */
export async function packSharedStateDict(dict: ReadonlyMap<string, Tensor>): Promise<SharedStateDict> {
  const { entries, bytes } = layout(dict, 'packSharedStateDict');
  const buffer = new SharedArrayBuffer(bytes);
  const tensors = [...dict.values()];
  await Promise.all(entries.map(async (entry, i) => write(buffer, entry, await tensors[i]!.data())));
  return { buffer, entries };
}

/** {@link packSharedStateDict}, blocking the thread while queued work on the tensors finishes. */
export function packSharedStateDictSync(dict: ReadonlyMap<string, Tensor>): SharedStateDict {
  const { entries, bytes } = layout(dict, 'packSharedStateDictSync');
  const buffer = new SharedArrayBuffer(bytes);
  const tensors = [...dict.values()];
  entries.forEach((entry, i) => write(buffer, entry, tensors[i]!.dataSync()));
  return { buffer, entries };
}

/**
 * The tensors of a packed state dict, by name: CPU tensors that borrow `shared.buffer`'s
 * memory (no copy; each keeps the buffer alive). They are read-only by contract: the other
 * threads read the same bytes, and a write would race with their kernels. Dispose them (or
 * the module that uses them) as usual; that frees nothing but the reference.
 */
export function unpackSharedStateDict(shared: SharedStateDict): Map<string, Tensor> {
  const dict = new Map<string, Tensor>();
  try {
    for (const entry of shared.entries) {
      const bytes = entry.shape.reduce((n, d) => n * d, 1) * dtypeSize(entry.dtype);
      dict.set(entry.name, fromSharedMemory(new Uint8Array(shared.buffer, entry.byteOffset, bytes), entry.shape, entry.dtype));
    }
  } catch (error) {
    for (const t of dict.values()) t.dispose();
    throw error;
  }
  return dict;
}
