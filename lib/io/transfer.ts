/**
 * Moving tensor bytes between files and native memory in chunks, so that neither a large
 * save nor a large load holds the event loop for longer than one chunk's copy. Reading a
 * tensor or creating one copies its bytes on the calling thread (the addon's upload, and
 * the zeroed buffer a read fills); done whole, 50 MB took 300-800 ms of a busy machine.
 * @module
 */
import type { FileHandle } from 'node:fs/promises';

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
  const storage = t._storage(op).id;
  const total = t.numel * size;
  for (let at = 0; at < total; at += CHUNK_BYTES) {
    yield new Uint8Array(await native.readAsync(storage, t.offset * size + at, Math.min(CHUNK_BYTES, total - at)));
  }
}

/** A tensor's bytes from `begin` to `end` (relative to the tensor, at most CHUNK_BYTES apart), valid until the next call. */
export type ByteSource = (begin: number, end: number) => Uint8Array | Promise<Uint8Array>;

/**
 * A CPU tensor of `shape` and `dtype` over a copy of the `byteLength` bytes `source` gives,
 * uploaded one chunk per turn of the event loop. One chunk or less from a source that answers
 * at once is copied at once, not a job later (a turn per tensor is not free: loadTorch makes
 * hundreds). On failure nothing is left allocated.
 */
export function uploadInChunks<D extends DType>(op: string, byteLength: number, source: ByteSource, shape: number[], dtype: D): Tensor<D> | Promise<Tensor<D>> {
  if (byteLength > CHUNK_BYTES) return uploadChunked(op, byteLength, source, shape, dtype);
  const bytes = source(0, byteLength);
  return bytes instanceof Promise ? bytes.then((b) => fromBytes(op, b, shape, dtype)) : fromBytes(op, bytes, shape, dtype);
}

async function uploadChunked<D extends DType>(op: string, byteLength: number, source: ByteSource, shape: number[], dtype: D): Promise<Tensor<D>> {
  const size = dtypeSize(dtype);
  const out = empty(op, shape, dtype, 'cpu');
  try {
    const flat = out._view(op, [byteLength / size], [1]);
    try {
      for (let at = 0; at < byteLength; at += CHUNK_BYTES) {
        const end = Math.min(at + CHUNK_BYTES, byteLength);
        const piece = fromBytes(op, await source(at, end), [(end - at) / size], dtype);
        const window = flat.slice(0, at / size, end / size);
        copyInto(window, piece); // queued; the kernel keeps its own references
        window.dispose();
        piece.dispose();
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

/** Reads `length` bytes at `position` (fewer only at the end of the file). */
export async function readAt(handle: FileHandle, position: number, length: number, into: Buffer = Buffer.allocUnsafe(length)): Promise<Buffer> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(into, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return into.subarray(0, done);
}

/**
 * A file's data section read forward through one reused buffer of CHUNK_BYTES, so many
 * small tensors cost one read and a large file never sits in memory whole.
 */
export class FileWindow {
  readonly #buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  #start = 0;
  #length = 0;

  constructor(
    private readonly handle: FileHandle,
    private readonly dataStart: number,
    private readonly dataLength: number,
    private readonly shrunk: () => never,
  ) {}

  /** The data bytes [begin, end), valid until the next call. */
  async bytes(begin: number, end: number): Promise<Uint8Array> {
    if (begin >= this.#start && end <= this.#start + this.#length) return this.#buffer.subarray(begin - this.#start, end - this.#start);
    const own = end - begin <= this.#buffer.length;
    const target = own ? this.#buffer : Buffer.allocUnsafe(end - begin);
    const read = await readAt(this.handle, this.dataStart + begin, Math.min(target.length, this.dataLength - begin), target);
    if (read.length < end - begin) this.shrunk();
    if (own) {
      this.#start = begin;
      this.#length = read.length;
    }
    return read.subarray(0, end - begin);
  }
}
