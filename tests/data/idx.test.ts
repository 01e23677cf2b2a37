import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

import { expect, it } from 'vitest';

import { data, FormatError } from '../../lib/index.js';
import { seededRandom } from '../../lib/data/dataloader.js';

function idx(shape: number[], values: Uint8Array | number[]): Buffer {
  const header = Buffer.alloc(4 + 4 * shape.length);
  header.set([0, 0, 8, shape.length]);
  shape.forEach((s, i) => header.writeUInt32BE(s, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(values)]);
}

it('reads IDX files, plain and gzip-compressed', () => {
  const raw = idx([2, 2, 3], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  for (const bytes of [raw, gzipSync(raw)]) {
    const parsed = data.parseIdx(bytes);
    expect(parsed.shape).toEqual([2, 2, 3]);
    expect(Array.from(parsed.data)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  }
});

it('rejects malformed IDX data with FormatError', () => {
  expect(() => data.parseIdx(Buffer.from([1, 2, 3]))).toThrow(FormatError);
  expect(() => data.parseIdx(idx([3], [1, 2]))).toThrow(/should hold 3 values/);
  expect(() => data.parseIdx(Buffer.from([0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0]))).toThrow(/only unsigned bytes/);
  expect(() => data.parseIdx(Buffer.from([0x1f, 0x8b, 0, 0]))).toThrow(/not a valid gzip/);
});

it('a gzip bomb (10 images claimed, 600 MB of zeros) fails fast without inflating it', () => {
  const images = idx([10, 28, 28], new Uint8Array(7840).fill(3));
  // gzip members concatenate: one real file, then 600 members of 1 MiB of zeros (about 1 KB each).
  const zeros = gzipSync(Buffer.alloc(1 << 20));
  const bomb = Buffer.concat([gzipSync(images), ...Array.from({ length: 600 }, () => zeros)]);
  expect(bomb.length).toBeLessThan(1 << 20);
  const path = join(mkdtempSync(join(tmpdir(), 'neocog-idx-')), 'bomb-images-idx3-ubyte.gz');
  writeFileSync(path, bomb);
  const rssBefore = process.resourceUsage().maxRSS; // kilobytes, the process's high-water mark
  const started = performance.now();
  expect(() => data.readIdx(path)).toThrow(FormatError);
  expect(() => data.readIdx(path)).toThrow(/bomb-images-idx3-ubyte\.gz inflates to more than the 7856 bytes its header \[10, 28, 28\] accounts for/);
  expect(performance.now() - started).toBeLessThan(2000); // inflating it all takes ~20 s here
  expect(process.resourceUsage().maxRSS - rssBefore).toBeLessThan(64 * 1024); // under 64 MB more at peak (it inflates to 600 MB)
  // The same file without the zeros reads.
  expect(data.parseIdx(gzipSync(images)).shape).toEqual([10, 28, 28]);
});

it('finds the header behind a long gzip file name and through stored (uncompressed) blocks', () => {
  const raw = idx([3, 2], [1, 2, 3, 4, 5, 6]);
  const plain = gzipSync(raw, { level: 0 });
  // FLG.FNAME: a zero-terminated name of 100 KB between the 10-byte gzip header and the data.
  const named = Buffer.concat([plain.subarray(0, 3), Buffer.from([0x08]), plain.subarray(4, 10), Buffer.alloc(100_000, 0x61), Buffer.from([0]), plain.subarray(10)]);
  for (const bytes of [plain, named]) expect(Array.from(data.parseIdx(bytes).data)).toEqual([1, 2, 3, 4, 5, 6]);
});

/** Seeded (mulberry32), so a failing mutant reproduces. */
const generator = seededRandom;

/** What the IDX rules say the bytes hold (gunzipping like the reader), or null when they break one. */
function reference(bytes: Buffer): { shape: number[]; data: number[] } | null {
  let raw = bytes;
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      raw = gunzipSync(raw);
    } catch {
      return null;
    }
  }
  if (raw.length < 4 || raw[0] !== 0 || raw[1] !== 0 || raw[2] !== 8) return null;
  const rank = raw[3]!;
  if (raw.length < 4 + 4 * rank) return null;
  const shape = Array.from({ length: rank }, (_, i) => raw.readUInt32BE(4 + 4 * i));
  const count = shape.reduce((a, b) => a * b, 1);
  if (raw.length !== 4 + 4 * rank + count) return null;
  return { shape, data: Array.from(raw.subarray(4 + 4 * rank)) };
}

it('every mutant of a valid IDX file (plain or gzip) is a FormatError or reads as the reference does', () => {
  const random = generator(611);
  const int = (n: number) => Math.floor(random() * n);
  const valid = [idx([4, 3, 2], Array.from({ length: 24 }, (_, i) => i * 7)), idx([5], [9, 8, 7, 6, 5]), idx([0, 28, 28], [])];
  const counts = { read: 0, rejected: 0 };
  for (let i = 0; i < 3000; ++i) {
    const base = valid[i % valid.length]!;
    let mutant = Buffer.from(base);
    const kind = int(6);
    if (kind === 0) mutant = mutant.subarray(0, int(mutant.length)); // truncation
    else if (kind === 1) mutant[int(mutant.length)] = int(256); // a random byte
    else if (kind === 2) mutant[int(Math.min(4, mutant.length))] = [0, 8, 9, 0x0d, 1, 3][int(6)]!; // magic: type, rank
    else if (kind === 3) mutant.writeUInt32BE([0, 1, 2 ** 32 - 1, 2 ** 31, 65536, base.readUInt32BE(4) + 1][int(6)]!, 4 + 4 * int(base[3]!)); // dims overflow
    else if (kind === 4) mutant = Buffer.concat([mutant, Buffer.alloc(1 + int(4), int(256))]); // trailing bytes
    let bytes: Buffer = mutant;
    if (random() < 0.4) {
      bytes = gzipSync(mutant);
      if (kind === 5) {
        bytes = Buffer.from(bytes); // a corrupt or cut gzip stream
        if (random() < 0.5) bytes = bytes.subarray(0, int(bytes.length));
        else {
          const at = 10 + int(bytes.length - 10);
          bytes[at] = bytes[at]! ^ (1 << int(8));
        }
      }
    }
    const expected = reference(bytes);
    let parsed: ReturnType<typeof data.parseIdx>;
    try {
      parsed = data.parseIdx(bytes, `mutant ${i}`);
    } catch (error) {
      if (!(error instanceof FormatError)) throw new Error(`mutant ${i} (${bytes.toString('base64')}) threw ${String(error)}`);
      expect(expected, `mutant ${i} was rejected (${error.message}) but reads as ${JSON.stringify(expected)}`).toBeNull();
      ++counts.rejected;
      continue;
    }
    expect({ shape: parsed.shape, data: Array.from(parsed.data) }, `mutant ${i}`).toEqual(expected);
    ++counts.read;
  }
  expect(counts.read).toBeGreaterThan(300);
  expect(counts.rejected).toBeGreaterThan(1000);
});
