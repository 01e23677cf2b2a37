// lib/io/transfer.ts: tensor bytes to and from files in CHUNK_BYTES pieces, one per turn of
// the event loop, with nothing left allocated when a source fails.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { arange, FormatError, memory, tensor } from '../../lib/index.js';
import { CHUNK_BYTES, chunksOf, FileWindow, readAt, snapshotOnCpu, uploadInChunks } from '../../lib/io/transfer.js';
import { copyInto } from '../../lib/ops/copy.js';

const dir = mkdtempSync(join(tmpdir(), 'neocog-transfer-'));

/** `n` bytes counting 0..250 over and over (a prime period, so chunk seams show). */
const pattern = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => i % 251);

describe('tensor to bytes', () => {
  it('snapshotOnCpu keeps the values at the call, whatever is queued on the tensor after', () => {
    const t = tensor([1, 2, 3], { dtype: 'float32' });
    const snapshot = snapshotOnCpu('save', t);
    copyInto(t, tensor([10, 20, 30], { dtype: 'float32' })); // queued after the snapshot
    expect(snapshot.tolist()).toEqual([1, 2, 3]);
    expect(snapshot.device).toBe('cpu');
  });

  it('chunksOf yields the bytes of a view from its offset, CHUNK_BYTES at a time', async () => {
    const n = CHUNK_BYTES / 4 + 1000; // one full chunk and a ragged one
    const t = arange(n + 7, { dtype: 'float32' }).slice(0, 7);
    const chunks: Uint8Array[] = [];
    for await (const chunk of chunksOf('save', t)) chunks.push(new Uint8Array(chunk));
    expect(chunks.map((c) => c.byteLength)).toEqual([CHUNK_BYTES, 4000]);
    const values = new Float32Array(Buffer.concat(chunks).buffer.slice(0));
    expect(values[0]).toBe(7);
    expect(values[n - 1]).toBe(n + 6);
  });
});

describe('bytes to tensor', () => {
  it('uploadInChunks builds the tensor from a small source in one piece, a large one chunk by chunk', async () => {
    const small = pattern(12);
    const one = await uploadInChunks('load', 12, (begin, end) => small.subarray(begin, end), [3], 'int32');
    expect(Array.from(new Uint8Array(one.dataSync().buffer))).toEqual(Array.from(small));
    const bytes = pattern(2 * CHUNK_BYTES + 8);
    const asked: Array<[number, number]> = [];
    const large = await uploadInChunks('load', bytes.byteLength, async (begin, end) => {
      asked.push([begin, end]);
      return bytes.slice(begin, end);
    }, [bytes.byteLength], 'uint8');
    expect(asked).toEqual([[0, CHUNK_BYTES], [CHUNK_BYTES, 2 * CHUNK_BYTES], [2 * CHUNK_BYTES, 2 * CHUNK_BYTES + 8]]);
    expect(Buffer.from(large.dataSync()).equals(Buffer.from(bytes))).toBe(true);
  });

  it('a source that fails midway rejects and leaves nothing allocated', async () => {
    const before = memory('cpu').tensors;
    const failing = async (begin: number, end: number) => {
      if (begin > 0) throw new FormatError('load: the file shrank while it was read');
      return pattern(end - begin);
    };
    await expect(uploadInChunks('load', 2 * CHUNK_BYTES, failing, [2 * CHUNK_BYTES], 'uint8')).rejects.toThrow(FormatError);
    // At most the starting count: across the awaits the garbage collector may free earlier
    // tests' forgotten tensors (seen in the whole suite: 7 before, 2 after).
    expect(memory('cpu').tensors).toBeLessThanOrEqual(before);
  });
});

describe('reading files', () => {
  const path = join(dir, 'data.bin');
  writeFileSync(path, pattern(CHUNK_BYTES + 100));

  it('readAt reads what is asked, fewer bytes only at the end of the file', async () => {
    const handle = await open(path, 'r');
    try {
      expect(Array.from(await readAt(handle, 250, 3))).toEqual([250, 0, 1]);
      expect((await readAt(handle, CHUNK_BYTES + 90, 50)).byteLength).toBe(10);
      expect((await readAt(handle, CHUNK_BYTES + 500, 50)).byteLength).toBe(0);
    } finally {
      await handle.close();
    }
  });

  it('FileWindow serves reads from its buffer, reads past it, and calls shrunk on a short file', async () => {
    const handle = await open(path, 'r');
    const shrunk = (): never => {
      throw new FormatError('load: data.bin is shorter than its header says');
    };
    try {
      // The data section starts 10 bytes in and claims 200 bytes more than the file holds.
      const window = new FileWindow(handle, 10, CHUNK_BYTES + 290, shrunk);
      expect(Array.from(await window.bytes(0, 3))).toEqual([10, 11, 12]);
      expect(Array.from(await window.bytes(241, 243))).toEqual([0, 1]); // from the same buffer
      const whole = await window.bytes(0, CHUNK_BYTES + 2); // larger than the buffer
      expect(whole.byteLength).toBe(CHUNK_BYTES + 2);
      expect(whole[CHUNK_BYTES + 1]).toBe((CHUNK_BYTES + 11) % 251);
      await expect(window.bytes(CHUNK_BYTES, CHUNK_BYTES + 200)).rejects.toThrow(/shorter than its header says/);
    } finally {
      await handle.close();
    }
  });
});
