/**
 * Moving tensor bytes between files and native memory in chunks, so that neither a large
 * save nor a large load holds the event loop for longer than one chunk's copy. Reading a
 * tensor or creating one copies its bytes on the calling thread (the addon's upload, and
 * the zeroed buffer a read fills); done whole, 50 MB took 300-800 ms of a busy machine.
 * @module
 */
import { native } from '../native.js';
import { copyTo, copyInto } from '../ops/copy.js';
import { empty, fromBytes } from '../tensor/creation.js';
import { dtypeSize, type DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';

/** Bytes copied per turn of the event loop: about a millisecond of memcpy. */
export const CHUNK_BYTES = 4 << 20;

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * A contiguous CPU copy of `t`, queued now: ops queued on `t` after this call (an optimizer
 * step) do not show in it. Costs host memory for the copy; no device memory.
 */
export function snapshotOnCpu(op: string, t: Tensor): Tensor {
  return copyTo(t, 'cpu', t.dtype, op);
}

/** The raw bytes of a contiguous CPU tensor (16-bit floats as stored), one chunk per turn. */
export async function* chunksOf(op: string, t: Tensor): AsyncGenerator<Uint8Array> {
  const size = dtypeSize(t.dtype);
  const storage = t._native(op).storage;
  const total = t.numel * size;
  for (let at = 0; at < total; at += CHUNK_BYTES) {
    yield new Uint8Array(await native.readAsync(storage, t.offset * size + at, Math.min(CHUNK_BYTES, total - at)));
  }
}

/**
 * A CPU tensor of `shape` and `dtype` over a copy of `bytes` (which must match), uploaded
 * one chunk per turn of the event loop. On failure nothing is left allocated.
 */
export async function uploadInChunks<D extends DType>(op: string, bytes: Uint8Array, shape: number[], dtype: D): Promise<Tensor<D>> {
  if (bytes.byteLength <= CHUNK_BYTES) return fromBytes(op, bytes, shape, dtype);
  const size = dtypeSize(dtype);
  const out = empty(op, shape, dtype, 'cpu');
  try {
    const flat = out._view(op, [bytes.byteLength / size], [1]);
    try {
      for (let at = 0; at < bytes.byteLength; at += CHUNK_BYTES) {
        const piece = bytes.subarray(at, Math.min(at + CHUNK_BYTES, bytes.byteLength));
        const source = fromBytes(op, piece, [piece.byteLength / size], dtype);
        const window = flat.slice(0, at / size, (at + piece.byteLength) / size);
        copyInto(window, source); // queued; the kernel keeps its own references
        window.dispose();
        source.dispose();
        await nextTurn();
      }
    } finally {
      flat.dispose();
    }
    return out;
  } catch (error) {
    out.dispose();
    throw error;
  }
}
