import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { ArgumentError, FormatError, io, memory, tensor, zeros, type Tensor } from '../../lib/index.js';
import { copyInto } from '../../lib/ops/copy.js';
import { everyDtype, expectSame } from '../helpers/state_dicts.js';

const dir = mkdtempSync(join(tmpdir(), 'neocog-io-'));

/** A file from header text (padded to 8 bytes unless `length` overrides the declared length) and raw data. */
function file(header: string | object, data: Uint8Array | number[] = [], length?: number): Buffer {
  let text = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  if (length === undefined) text = Buffer.concat([text, Buffer.alloc((8 - (text.length % 8)) % 8, ' ')]);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(length ?? text.length));
  return Buffer.concat([prefix, text, Buffer.from(data)]);
}

const f32 = (...values: number[]): Buffer => Buffer.from(new Float32Array(values).buffer);

describe('round trips', () => {
  it('async save and load keep every dtype, empty tensors, non-ASCII names and metadata', async () => {
    const path = join(dir, 'a.safetensors');
    const tensors = everyDtype();
    // JSON.parse makes __proto__ an own key, as a file's header may: it must stay a plain key.
    const metadata = JSON.parse('{"note":"hi","__proto__":"a key like any other"}') as Record<string, string>;
    await io.saveSafetensors(path, tensors, metadata);
    const loaded = await io.loadSafetensors(path);
    expect(Object.entries(loaded.metadata)).toEqual([['note', 'hi'], ['__proto__', 'a key like any other']]);
    expect(Object.getPrototypeOf(loaded.metadata)).toBe(Object.prototype);
    expectSame(loaded.tensors, tensors);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]); // the temporary file was renamed
  });

  it('the sync forms write the same bytes as serializeSafetensors and read them back', () => {
    const path = join(dir, 'sync.safetensors');
    const tensors = everyDtype();
    io.saveSafetensorsSync(path, tensors, { note: 'hi' });
    expect(readFileSync(path).equals(io.serializeSafetensors(tensors, { note: 'hi' }))).toBe(true);
    expectSame(io.loadSafetensorsSync(path).tensors, tensors);
    expectSame(io.parseSafetensors(readFileSync(path)).tensors, tensors);
  });

  it('the header is padded with spaces to 8 bytes and the data starts right after it', () => {
    const bytes = io.serializeSafetensors(new Map([['é', tensor([1], { dtype: 'float32' })]]));
    const length = Number(bytes.readBigUInt64LE(0));
    expect(length % 8).toBe(0);
    expect(bytes.subarray(8, 8 + length).toString()).toMatch(/^\{"é":\{"dtype":"F32","shape":\[1\],"data_offsets":\[0,4\]\}\} *$/);
    expect(bytes.length).toBe(8 + length + 4);
  });

  it('values saved are those at the call, even if the tensor changes while the file is written', async () => {
    const path = join(dir, 'snapshot.safetensors');
    const t = tensor([1, 2, 3], { dtype: 'float32' });
    const saving = io.saveSafetensors(path, new Map([['t', t]]));
    copyInto(t, tensor([10, 20, 30], { dtype: 'float32' })); // queued after the save's read
    await saving;
    expect((await io.loadSafetensors(path)).tensors.get('t')!.tolist()).toEqual([1, 2, 3]);
  });

  it('refuses names and metadata the format cannot hold', async () => {
    const t = tensor([1], { dtype: 'float32' });
    await expect(io.saveSafetensors(join(dir, 'x.safetensors'), new Map([['__metadata__', t]]))).rejects.toThrow(ArgumentError);
    expect(() => io.saveSafetensorsSync(join(dir, 'x.safetensors'), new Map([['a\ud800', t]]))).toThrow(/cannot be a tensor name/);
    expect(() => io.saveSafetensorsSync(join(dir, 'x.safetensors'), new Map([['a', t]]), { n: 3 } as unknown as Record<string, string>)).toThrow(
      /expected metadata.n to be a string, got number/,
    );
    expect(existsSync(join(dir, 'x.safetensors'))).toBe(false);
  });
});

it('reads int64 tensors as written by PyTorch (as int32), refusing values outside int32', () => {
  const body = Buffer.alloc(16);
  body.writeBigInt64LE(5n, 0);
  body.writeBigInt64LE(-3n, 8);
  const header = { n: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } };
  expect(io.parseSafetensors(file(header, body)).tensors.get('n')!.tolist()).toEqual([5, -3]);
  body.writeBigInt64LE(2n ** 31n, 8);
  expect(() => io.parseSafetensors(file(header, body))).toThrow(/int64 value outside int32 \(element 1\)/);
  body.writeBigInt64LE(-(2n ** 31n), 8);
  expect(io.parseSafetensors(file(header, body)).tensors.get('n')!.tolist()).toEqual([5, -(2 ** 31)]);
});

it('accepts tensors in any header order and data order, as the reference does', () => {
  const header = { b: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, a: { dtype: 'F32', shape: [2], data_offsets: [4, 12] }, z: { dtype: 'U8', shape: [0], data_offsets: [12, 12] } };
  const { tensors } = io.parseSafetensors(file(header, f32(1, 2, 3)));
  expect(tensors.get('b')!.tolist()).toEqual([1]);
  expect(tensors.get('a')!.tolist()).toEqual([2, 3]);
  expect(tensors.get('z')!.shape).toEqual([0]);
  expect(io.parseSafetensors(file({}, [])).tensors.size).toBe(0);
  expect(io.parseSafetensors(file({ __metadata__: null })).metadata).toEqual({}); // as the reference's Option
  const bool = io.parseSafetensors(file({ m: { dtype: 'BOOL', shape: [3], data_offsets: [0, 3] } }, [0, 1, 7]));
  expect(bool.tensors.get('m')!.tolist()).toEqual([false, true, true]);
});

describe('malformed files are a FormatError naming the file and the fault, and nothing is allocated', () => {
  const one = (offsets: [number, number], shape = [2]): object => ({ dtype: 'F32', shape, data_offsets: offsets });
  const json = JSON.stringify({ a: one([0, 8]) });
  const cases: Array<[string, Buffer, RegExp]> = [
    ['too short for the length', Buffer.from([1, 2, 3]), /is truncated: 3 bytes, the header length alone takes 8/],
    ['header longer than the file', file({ a: one([0, 8]) }, f32(1, 2), 10_000), /its header claims 10000 bytes/],
    ['header length beyond the format limit', file('{}', [], 2 ** 40), /more than the format's limit of 100000000/],
    ['header length omits the padding (data shifted)', file(`${json}   `, f32(1, 2), json.length), /has 3 bytes after its last tensor's data/],
    ['header length takes a data byte', file(json, [1, ...f32(1, 2)], json.length + 1), /not valid JSON \(trailing characters/],
    ['invalid UTF-8 in a name', file('{"a_":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}').fill(0xff, 11, 12), /not valid UTF-8/],
    ['a byte-order mark', file('\ufeff{}'), /not valid JSON/],
    ['not JSON', file('{"a":'), /not valid JSON/],
    ['an array header', file('[]'), /header that is an array, expected an object/],
    ['duplicate tensor names', file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', f32(1, 2)), /duplicate key "a"/],
    ['duplicate fields', file('{"a":{"dtype":"F32","shape":[1],"shape":[1],"data_offsets":[0,4]}}', f32(1)), /duplicate key "shape"/],
    ['overlapping offsets', file({ a: one([0, 8]), b: one([4, 12]) }, f32(1, 2, 3)), /tensor b at bytes \[4, 12\), overlapping the data before it/],
    ['the same range twice', file({ a: one([0, 8]), b: one([0, 8]) }, f32(1, 2)), /overlapping/],
    ['a gap between tensors', file({ a: one([0, 8]), b: one([12, 20]) }, f32(1, 2, 0, 3, 4)), /has a gap: no tensor covers bytes \[8, 12\)/],
    ['data not starting at 0', file({ a: one([4, 12]) }, f32(0, 1, 2)), /has a gap: no tensor covers bytes \[0, 4\)/],
    ['trailing bytes', file({ a: one([0, 8]) }, f32(1, 2, 3)), /has 4 bytes after its last tensor's data/],
    ['truncated data', file({ a: one([0, 8]) }, f32(1)), /is truncated: tensor a ends at byte 8 of 4/],
    ['offsets ending before they begin', file({ a: one([8, 0]) }, f32(1, 2)), /end before they begin/],
    ['size disagreeing with the shape', file({ a: one([0, 8], [3]) }, f32(1, 2)), /tensor a with 8 bytes, its dtype F32 and shape \[3\] need 12/],
    ['a huge shape with a zero', file({ a: { dtype: 'F32', shape: [1e308, 0], data_offsets: [0, 0] } }), /shape \[1e\+308,0\], expected an array of non-negative integers/],
    ['a shape that overflows', file({ a: { dtype: 'F32', shape: [2 ** 30, 2 ** 30, 0], data_offsets: [0, 0] } }), /overflows/],
    ['a negative dimension', file({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 0] } }), /non-negative integers/],
    ['a fractional dimension', file({ a: { dtype: 'F32', shape: [1.5], data_offsets: [0, 6] } }, [0, 0, 0, 0, 0, 0]), /non-negative integers/],
    ['a string offset', file({ a: { dtype: 'F32', shape: [1], data_offsets: ['0', 4] } }, f32(1)), /data_offsets \["0",4\]/],
    ['three offsets', file({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4, 4] } }, f32(1)), /expected \[begin, end\]/],
    ['a missing dtype', file({ a: { shape: [1], data_offsets: [0, 4] } }, f32(1)), /unknown dtype nothing/],
    ['an unknown dtype', file({ a: { dtype: 'F33', shape: [1], data_offsets: [0, 4] } }, f32(1)), /unknown dtype "F33"/],
    ['a prototype name as dtype', file({ a: { dtype: 'toString', shape: [1], data_offsets: [0, 4] } }, f32(1)), /unknown dtype/],
    ['a dtype neocog cannot hold', file({ a: { dtype: 'F64', shape: [1], data_offsets: [0, 8] } }, f32(1, 2)), /dtype F64, which neocog cannot hold/],
    ['nine dimensions', file({ a: { dtype: 'U8', shape: [1, 1, 1, 1, 1, 1, 1, 1, 1], data_offsets: [0, 1] } }, [1]), /9 dimensions/],
    ['an entry that is not an object', file({ a: [1] }), /tensor a whose entry is an array/],
    ['non-string metadata', file({ __metadata__: { n: 1 } }), /__metadata__.n that is 1, expected a string/],
    ['array metadata', file({ __metadata__: ['a'] }), /__metadata__ that is an array/],
    ['deep nesting', file(`${'['.repeat(200)}${']'.repeat(200)}`), /nesting deeper than 128/],
    ['a lone surrogate escape', file('{"\\ud800":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}'), /unpaired surrogate/],
  ];
  for (const [what, bytes, message] of cases) {
    it(what, () => {
      const before = memory('cpu').tensors;
      let error: unknown;
      try {
        io.parseSafetensors(bytes, 'weights.safetensors');
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(FormatError);
      expect((error as Error).message).toMatch(/^parseSafetensors: weights\.safetensors /);
      expect((error as Error).message).toMatch(message);
      expect(memory('cpu').tensors).toBe(before);
    });
  }

  it('from a file, naming it (async and sync)', async () => {
    const corrupt = join(dir, 'c.safetensors');
    writeFileSync(corrupt, file({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, f32(1, 2, 3)));
    await expect(io.loadSafetensors(corrupt)).rejects.toThrow(new RegExp(`^loadSafetensors: ${corrupt} has tensor b`));
    expect(() => io.loadSafetensorsSync(corrupt)).toThrow(new RegExp(`^loadSafetensorsSync: ${corrupt} has tensor b`));
  });
});
