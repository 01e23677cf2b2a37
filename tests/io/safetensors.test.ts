import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect, it } from 'vitest';

import { FormatError, io, tensor } from '../../lib/index.js';

const dir = mkdtempSync(join(tmpdir(), 'neocog-io-'));

it('round-trips tensors of every dtype with metadata', () => {
  const path = join(dir, 'a.safetensors');
  const tensors = new Map([
    ['w', tensor([[1.5, -2], [3, 4]], { dtype: 'float32' })],
    ['i', tensor([1, -7, 3])],
    ['u', tensor([0, 255], { dtype: 'uint8' })],
    ['b', tensor([true, false])],
  ]);
  io.saveSafetensors(path, tensors, { note: 'hi' });
  const loaded = io.loadSafetensors(path);
  expect(loaded.metadata).toEqual({ note: 'hi' });
  for (const [name, t] of tensors) {
    expect(loaded.tensors.get(name)!.dtype).toBe(t.dtype);
    expect(loaded.tensors.get(name)!.tolist()).toEqual(t.tolist());
  }
  expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]); // the temporary file was renamed
});

it('reads int64 tensors as written by PyTorch (as int32)', () => {
  const header = Buffer.from(JSON.stringify({ n: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(header.length));
  const body = Buffer.alloc(16);
  body.writeBigInt64LE(5n, 0);
  body.writeBigInt64LE(-3n, 8);
  expect(io.parseSafetensors(Buffer.concat([length, header, body])).tensors.get('n')!.tolist()).toEqual([5, -3]);
});

it('rejects truncated and malformed files with FormatError, loading nothing', () => {
  const path = join(dir, 'b.safetensors');
  io.saveSafetensors(path, new Map([['w', tensor([1, 2, 3, 4], { dtype: 'float32' })]]));
  const bytes = readFileSync(path);
  expect(() => io.parseSafetensors(bytes.subarray(0, bytes.length - 3))).toThrow(/truncated: tensor w ends at byte 16/);
  expect(() => io.parseSafetensors(bytes.subarray(0, 5))).toThrow(FormatError);
  const badJson = Buffer.from(bytes);
  badJson.write('[', 8); // the header's opening brace
  expect(() => io.parseSafetensors(badJson)).toThrow(/not valid JSON/);
  const corrupt = join(dir, 'c.safetensors');
  writeFileSync(corrupt, Buffer.from('not a safetensors file at all'));
  expect(() => io.loadSafetensors(corrupt)).toThrow(FormatError);
  expect(existsSync(path)).toBe(true);
});
