// Seeded fuzzing of io.parseTorch and (through files, whose tensors view the mapped file)
// io.loadTorchSync, with and without `verify`: thousands of mutants of torch.save files
// (truncations at every length, byte flips anywhere and in the zip directory, and pickles
// mutated then re-zipped under a valid CRC-32 so that the unpickler itself is reached). Each
// must load or be refused with a typed error (FormatError, UnpicklingError, KeyError), leave
// no tensor behind when refused, and finish: never a crash, another exception or a hang.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect, it } from 'vitest';

import { FormatError, io, KeyError, memory, type Tensor } from '../../lib/index.js';
import { seededRandom } from '../../lib/data/dataloader.js';
import { writeZip, zipEntries, type ZipInput } from '../helpers/zip_writer.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/torch/${name}`, import.meta.url));
const bases: Array<{ bytes: Buffer; entries: ZipInput[]; key?: string }> = [
  { bytes: fixture('state_dict.pth') },
  { bytes: fixture('small.pth') },
  { bytes: fixture('checkpoint.pth'), key: 'model' },
  { bytes: fixture('module_prefix.pth') },
].map((b) => ({ ...b, entries: zipEntries(b.bytes) }));

type Random = () => number;

/** A pickle with a few bytes flipped, replaced, inserted, deleted or cut off. */
function mutatePickle(pickle: Uint8Array, random: Random): Uint8Array {
  const int = (n: number) => Math.floor(random() * n);
  const out = Buffer.from(pickle);
  const kind = int(5);
  if (kind === 0) {
    for (let i = 0; i <= int(3); ++i) {
      const at = int(out.length);
      out[at] = out[at]! ^ (1 << int(8));
    }
    return out;
  }
  if (kind === 1) {
    // Any byte value, often an opcode in the wrong place or an unknown one.
    for (let i = 0; i <= int(2); ++i) out[int(out.length)] = int(256);
    return out;
  }
  const at = int(out.length);
  if (kind === 2) return Buffer.concat([out.subarray(0, at), Buffer.from([int(256)]), out.subarray(at)]);
  if (kind === 3) return Buffer.concat([out.subarray(0, at), out.subarray(at + 1 + int(4))]);
  return out.subarray(0, at);
}

function mutate(base: (typeof bases)[number], random: Random): Buffer {
  const int = (n: number) => Math.floor(random() * n);
  const kind = int(5);
  if (kind === 0) return base.bytes.subarray(0, int(base.bytes.length)); // truncation
  if (kind === 1 || kind === 2) {
    // Flips anywhere (kind 1) or in the central directory and end record (kind 2).
    const out = Buffer.from(base.bytes);
    const directory = out.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    const from = kind === 1 ? 0 : out.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]), Math.max(0, directory - 2000));
    for (let i = 0; i <= int(3); ++i) {
      const at = from + int(out.length - from);
      out[at] = out[at]! ^ (1 << int(8));
    }
    return out;
  }
  // Re-zipped with valid CRCs: the pickle mutated (kind 3) or a storage resized (kind 4).
  const entries = base.entries.map((e) => {
    if (kind === 3 && e.name.endsWith('/data.pkl')) return { ...e, data: mutatePickle(e.data, random) };
    if (kind === 4 && /\/data\/\d+$/.test(e.name) && random() < 0.5) return { ...e, data: e.data.subarray(0, int(e.data.length + 1)) };
    return e;
  });
  return writeZip(entries, { align: 64 });
}

const folder = mkdtempSync(join(tmpdir(), 'neocog-torch-fuzz-'));

/** Mutant `i` through one of four readers: parseTorch or a file's loadTorchSync, each with and without verify. */
function outcome(i: number, mutant: Buffer, key: string | undefined): Map<string, Tensor> | FormatError | KeyError {
  const opts = { ...(key === undefined ? {} : { key }), verify: i % 2 === 1 };
  try {
    if (i % 4 < 2) return io.parseTorch(mutant, opts, `mutant ${i}`);
    const path = join(folder, `mutant-${i % 16}.pth`);
    writeFileSync(path, mutant);
    return io.loadTorchSync(path, opts);
  } catch (error) {
    if (error instanceof FormatError || error instanceof KeyError) return error;
    throw new Error(`mutant ${i} (${mutant.toString('base64')}) threw ${String(error)}`);
  }
}

it('every truncation of a torch.save file is a FormatError', () => {
  const { bytes } = bases[1]!;
  for (let length = 0; length < bytes.length; ++length) {
    expect(outcome(length, bytes.subarray(0, length), undefined), `length ${length}`).toBeInstanceOf(FormatError);
  }
});

it('every mutant of a torch.save file loads or is a typed error, leaving nothing behind', () => {
  const random = seededRandom(20261130);
  const counts = { loaded: 0, refused: 0, unpickling: 0 };
  const liveBefore = memory('cpu').tensors;
  for (let i = 0; i < 6000; ++i) {
    const base = bases[i % bases.length]!;
    const result = outcome(i, mutate(base, random), base.key);
    if (result instanceof Map) {
      ++counts.loaded;
      for (const t of result.values()) {
        expect(t.numel).toBe(t.shape.reduce((a, b) => a * b, 1));
        t.dispose();
      }
    } else {
      ++counts.refused;
      if (result.name === 'UnpicklingError') ++counts.unpickling;
    }
    expect(memory('cpu').tensors).toBeLessThanOrEqual(liveBefore);
  }
  // Each outcome is exercised, and the unpickler (past the zip checks) is reached often.
  expect(counts.loaded).toBeGreaterThan(200);
  expect(counts.refused).toBeGreaterThan(3000);
  expect(counts.unpickling).toBeGreaterThan(500);
}, 120_000);
