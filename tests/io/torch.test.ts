// io.loadTorch on files torch.save wrote (tests/fixtures/make_torch_fixtures.py, PyTorch 1.13):
// every dtype, views sharing storages, int64, DataParallel prefixes, training checkpoints, and
// the files it must refuse without running anything.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { ArgumentError, FormatError, io, KeyError, memory, models, nn, noGrad, UnpicklingError, type Tensor } from '../../lib/index.js';
import { interopTest, scaledMaxDiff } from '../helpers/interop.js';
import { writeZip, zipEntries } from '../helpers/zip_writer.js';

const fixture = (name: string) => new URL(`../fixtures/torch/${name}`, import.meta.url).pathname;
type Expected = Record<string, { dtype: string; shape: number[]; values: number[] }>;
const expected = JSON.parse(readFileSync(fixture('expected.json'), 'utf8')) as Record<string, Expected>;

function expectState(state: Map<string, Tensor>, want: Expected): void {
  expect([...state.keys()]).toEqual(Object.keys(want));
  for (const [name, w] of Object.entries(want)) {
    const t = state.get(name)!;
    expect({ name, dtype: t.dtype, shape: t.shape }).toEqual({ name, dtype: w.dtype, shape: w.shape });
    expect(Array.from(t.dataSync() as ArrayLike<number>), name).toEqual(w.values);
  }
}
const dispose = (state: Map<string, Tensor>) => state.forEach((t) => t.dispose());

describe('state dicts torch.save wrote', () => {
  it('loads every dtype, views of shared storages, int64 as int32, 0-d, empty and Parameter tensors', async () => {
    const state = await io.loadTorch(fixture('state_dict.pth'));
    expectState(state, expected['state_dict.pth']!);
    // Views come out as contiguous tensors of their own, even where torch shared one storage.
    for (const t of state.values()) expect(t.isContiguous()).toBe(true);
    expect(state.get('alias')).not.toBe(state.get('base'));
    dispose(state);
  });

  it('loadTorchSync and parseTorch give what loadTorch gives', async () => {
    const bytes = readFileSync(fixture('state_dict.pth'));
    for (const state of [io.loadTorchSync(fixture('state_dict.pth')), io.parseTorch(bytes, {}, 'state_dict.pth')]) {
      expectState(state, expected['state_dict.pth']!);
      dispose(state);
    }
  });

  it("strips nn.DataParallel's module. prefix from a real module's state dict (OrderedDict with _metadata)", () => {
    const want = Object.fromEntries(Object.entries(expected['module_prefix.pth']!).map(([name, w]) => [name.slice('module.'.length), w]));
    const state = io.loadTorchSync(fixture('module_prefix.pth'), { stripPrefix: 'module.' });
    expectState(state, want);
    expect(state.get('1.num_batches_tracked')!.dtype).toBe('int32');
    dispose(state);
    const kept = io.loadTorchSync(fixture('module_prefix.pth'));
    expect([...kept.keys()].every((name) => name.startsWith('module.'))).toBe(true);
    dispose(kept);
  });

  it('picks the model out of a training checkpoint with key, and otherwise lists its parts', () => {
    const state = io.loadTorchSync(fixture('checkpoint.pth'), { key: 'model' });
    expectState(state, expected['checkpoint.pth']!);
    dispose(state);
    expect(() => io.loadTorchSync(fixture('checkpoint.pth'))).toThrow(
      /checkpoint\.pth is a checkpoint of several parts, not a state dict: it holds model \(dict of 9 entries, 9 tensors\), optimizer \(dict of 2 entries, 0 tensors\), epoch \(3\), lr \(0\.1\); pass \{ key \}/,
    );
    expect(() => io.loadTorchSync(fixture('checkpoint.pth'), { key: 'weights' })).toThrow(KeyError);
    expect(() => io.loadTorchSync(fixture('checkpoint.pth'), { key: 'weights' })).toThrow(/has no key "weights"; it holds model/);
    expect(() => io.loadTorchSync(fixture('checkpoint.pth'), { key: 'epoch' })).toThrow(/holds 3 under "epoch", not a dict of tensors/);
  });

  it('reads archives torch.save could write differently: DEFLATED entries, zip64 records, big-endian storages', () => {
    const entries = zipEntries(readFileSync(fixture('state_dict.pth')));
    for (const archive of [writeZip(entries.map((e) => ({ ...e, method: 8 as const }))), writeZip(entries, { zip64: true, align: 64 })]) {
      const state = io.parseTorch(archive);
      expectState(state, expected['state_dict.pth']!);
      dispose(state);
    }
    // PyTorch 2.1+ records the byte order; a big-endian machine's file holds each element's bytes reversed.
    const elementBytes: Record<string, number> = { 'small/data/0': 4, 'small/data/1': 2, 'small/data/2': 8 };
    const big = zipEntries(readFileSync(fixture('small.pth'))).map((e) => {
      const size = elementBytes[e.name];
      if (!size) return e;
      const data = Buffer.from(e.data);
      ({ 2: () => data.swap16(), 4: () => data.swap32(), 8: () => data.swap64() })[size]!();
      return { ...e, data };
    });
    const state = io.parseTorch(writeZip([...big, { name: 'small/byteorder', data: Buffer.from('big') }]));
    expectState(state, expected['small.pth']!);
    dispose(state);
  });

  it('refuses what neocog cannot hold, naming the tensor', () => {
    expect(() => io.loadTorchSync(fixture('int64_overflow.pth'))).toThrow(/has int64 tensor big with a value outside int32 \(element 1\)/);
    expect(() => io.loadTorchSync(fixture('float64.pth'))).toThrow(/has tensor w of dtype float64, which neocog cannot hold/);
    expect(() => io.loadTorchSync(fixture('legacy.pth'))).toThrow(/is in the legacy \(pre-1\.6\) pickle format.*torch\.save\(torch\.load\('old\.pth'\), 'new\.pth'\)/);
    expect(() => io.parseTorch(Buffer.from('{"not": "a checkpoint"}'))).toThrow(/buffer is not a PyTorch checkpoint/);
  });

  it('refuses archives whose storages do not match the pickle, in both readers, leaving nothing allocated', async () => {
    const entries = zipEntries(readFileSync(fixture('small.pth')));
    const without = writeZip(entries.filter((e) => e.name !== 'small/data/2'));
    expect(() => io.parseTorch(without)).toThrow(/lacks small\/data\/2, a storage its pickle refers to/);
    const short = writeZip(entries.map((e) => (e.name === 'small/data/0' ? { ...e, data: e.data.subarray(0, 12) } : e)));
    expect(() => io.parseTorch(short)).toThrow(/has storage 0 of 12 bytes; its 4 elements of 4 bytes need 16/);
    const live = memory('cpu').tensors;
    // l (int64) is read after f and h, so a late failure must dispose what came before it.
    const path = join(mkdtempSync(join(tmpdir(), 'neocog-torch-')), 'overflow.pth');
    const longs = entries.find((e) => e.name === 'small/data/2')!;
    const overflow = Buffer.from(longs.data);
    overflow.writeBigInt64LE(2n ** 40n, 8);
    writeFileSync(path, writeZip(entries.map((e) => (e === longs ? { ...e, data: overflow } : e))));
    await expect(io.loadTorch(path)).rejects.toThrow(/has int64 tensor l with a value outside int32 \(element 1\)/);
    expect(() => io.loadTorchSync(path)).toThrow(FormatError);
    expect(memory('cpu').tensors).toBe(live);
  });

  it('a stripped prefix that makes two names one is a KeyError', () => {
    expect(() => io.loadTorchSync(fixture('small.pth'), { stripPrefix: 'module.' })).toThrow(KeyError);
    expect(() => io.loadTorchSync(fixture('small.pth'), { stripPrefix: 'module.' })).toThrow(/stripping "module\." makes f and module\.f both f/);
  });
});

describe('files that would run code under torch.load', () => {
  const marker = join(mkdtempSync(join(tmpdir(), 'neocog-torch-')), 'ran');
  it.each([
    ['os_system.pth', /names the global posix\.system, which is not allowed/],
    ['eval.pth', /names the global __builtin__\.eval, which is not allowed/],
    ['unknown_opcode.pth', /has opcode 0x8f, which this restricted unpickler does not run/],
    ['persid_call.pth', /calls torch\.FloatStorage, which may be referenced but not called/],
  ])('%s is an UnpicklingError, and nothing is loaded', (file, message) => {
    const live = memory('cpu').tensors;
    expect(() => io.loadTorchSync(fixture(file))).toThrow(UnpicklingError);
    expect(() => io.loadTorchSync(fixture(file))).toThrow(FormatError); // UnpicklingError is one
    expect(() => io.loadTorchSync(fixture(file))).toThrow(message);
    expect(memory('cpu').tensors).toBe(live);
  });

  it('a pickle that would write a file does not', () => {
    // GLOBAL builtins.open; BINUNICODE path; BINUNICODE 'w'; TUPLE2; REDUCE; STOP: open(path, 'w').
    const text = (value: string) => Buffer.concat([Buffer.from('X'), Buffer.from(new Uint32Array([Buffer.byteLength(value)]).buffer), Buffer.from(value)]);
    const pickle = Buffer.concat([Buffer.from([0x80, 2]), Buffer.from('cbuiltins\nopen\n'), text(marker), text('w'), Buffer.from([0x86]), Buffer.from('R.')]);
    const path = join(dirname(marker), 'open.pth');
    writeFileSync(path, writeZip([{ name: 'archive/data.pkl', data: pickle }, { name: 'archive/version', data: Buffer.from('3\n') }]));
    expect(() => io.loadTorchSync(path)).toThrow(/names the global builtins\.open/);
    expect(existsSync(marker)).toBe(false);
  });
});

it('checks its options', () => {
  expect(() => io.loadTorchSync(fixture('state_dict.pth'), { key: 3 as never })).toThrow(ArgumentError);
  expect(() => io.loadTorchSync(fixture('state_dict.pth'), { stripPrefix: null as never })).toThrow(/expected opts\.stripPrefix to be a string, got object/);
  expect(() => io.parseTorch(readFileSync(fixture('small.pth')), { verify: 1 as never })).toThrow(/expected opts\.verify to be a boolean, got number/);
});

describe('the file mapped, as torch.load(mmap=True)', () => {
  const folder = mkdtempSync(join(tmpdir(), 'neocog-torch-map-'));
  const copyOf = (name: string) => {
    const path = join(folder, name);
    writeFileSync(path, readFileSync(fixture(name)));
    return path;
  };

  it('a loaded tensor borrows the file: writing to it copies the page and leaves the file as it was', async () => {
    const path = copyOf('small.pth');
    const before = readFileSync(path);
    const values = expected['small.pth']!.h!.values;
    for (const load of [io.loadTorch, async (p: string) => io.loadTorchSync(p)]) {
      const state = await load(path);
      // h is alone on its storage, so it views the file (f and module.f share one: copied).
      const h = state.get('h')!;
      expect(Array.from(h.dataSync() as ArrayLike<number>)).toEqual(values);
      nn.init.zeros_(h); // in place, on the mapping's private copy of the page
      expect(Array.from(h.dataSync() as ArrayLike<number>)).toEqual([0, 0, 0]);
      dispose(state);
      expect(readFileSync(path).equals(before)).toBe(true);
      const again = await load(path);
      expect(Array.from(again.get('h')!.dataSync() as ArrayLike<number>)).toEqual(values);
      dispose(again);
    }
  });

  it('tensors outlive the mapping handle, and tensors on one storage never share memory', async () => {
    const state = await io.loadTorch(copyOf('state_dict.pth'));
    // Collected or not, the file's tensors still read right after the loader is gone.
    await new Promise((resolve) => setImmediate(resolve));
    expectState(state, expected['state_dict.pth']!);
    const base = state.get('base')!;
    const alias = state.get('alias')!;
    const aliasValues = Array.from(alias.dataSync() as ArrayLike<number>);
    nn.init.zeros_(base);
    expect(Array.from(alias.dataSync() as ArrayLike<number>)).toEqual(aliasValues);
    dispose(state);
  });

  it('a storage byte changed in the file loads as torch.load would, and verify refuses it', async () => {
    const entries = zipEntries(readFileSync(fixture('small.pth')));
    const path = join(folder, 'flipped.pth');
    // Re-zipped with the storage's old CRC-32: f's first float has a flipped bit.
    const bytes = writeZip(entries, { align: 64 });
    const f = zipEntries(bytes).find((e) => e.name === 'small/data/0')!;
    const at = bytes.indexOf(f.data);
    bytes[at + 3] = bytes[at + 3]! ^ 0x40;
    writeFileSync(path, bytes);
    const loaded = io.loadTorchSync(path);
    expect((loaded.get('f')!.dataSync() as Float32Array)[0]).not.toBe(expected['small.pth']!.f!.values[0]);
    dispose(loaded);
    const live = memory('cpu').tensors;
    await expect(io.loadTorch(path, { verify: true })).rejects.toThrow(/has entry small\/data\/0 whose CRC-32 does not match its data/);
    expect(() => io.loadTorchSync(path, { verify: true })).toThrow(FormatError);
    expect(() => io.parseTorch(bytes, { verify: true })).toThrow(FormatError);
    expect(memory('cpu').tensors).toBe(live);
    const verified = await io.loadTorch(copyOf('small.pth'), { verify: true });
    expectState(verified, expected['small.pth']!);
    dispose(verified);
  });

  it('a file that cannot be mapped is read whole: an empty one is a FormatError, a missing one ENOENT', async () => {
    const empty = join(folder, 'empty.pth');
    writeFileSync(empty, '');
    await expect(io.loadTorch(empty)).rejects.toThrow(/empty.pth is not a PyTorch checkpoint/);
    expect(() => io.loadTorchSync(empty)).toThrow(FormatError);
    await expect(io.loadTorch(join(folder, 'missing.pth'))).rejects.toThrow(/ENOENT/);
    expect(() => io.loadTorchSync(join(folder, 'missing.pth'))).toThrow(/ENOENT/);
  });
});

interopTest(
  'resnet18.pth',
  '/usr/bin/python3 tests/fixtures/make_torch_fixtures.py --interop',
  "resnet18: torchvision's torch.save file loads and reproduces torchvision's logits",
  async (path) => {
    const started = performance.now();
    const allocated = memory('cpu').bytes;
    const state = await io.loadTorch(path);
    const loadMs = performance.now() - started;
    // Every float tensor views the mapped file: only the int64 counters were copied (as int32).
    expect(memory('cpu').bytes - allocated).toBeLessThan(64 * 1024);
    const { tensors } = await io.loadSafetensors(path.replace(/resnet18\.pth$/, 'resnet18_pth_io.safetensors'));
    const model = models.resnet18().eval();
    expect(model.loadStateDict(state).missing).toEqual([]);
    const logits = noGrad(() => model.call(tensors.get('input')!));
    expect(scaledMaxDiff(logits, tensors.get('logits')!)).toBeLessThan(1e-4);
    console.log(`loadTorch read resnet18.pth (47 MB) in ${loadMs.toFixed(0)} ms`);
    model.dispose();
    dispose(state);
  },
);

it('a truncated file is a FormatError at every length', () => {
  const bytes = readFileSync(fixture('state_dict.pth'));
  for (const length of [0, 4, 30, 100, bytes.length - 22, bytes.length - 1]) {
    expect(() => io.parseTorch(bytes.subarray(0, length)), `length ${length}`).toThrow(FormatError);
  }
});
