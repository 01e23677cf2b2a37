// Seeded fuzzing of the safetensors reader: thousands of mutants of a few valid files
// (byte flips, truncations, header-length changes, header edits: offsets overlapping,
// gapped or shifted, huge shapes, wrong dtypes, duplicate keys, invalid UTF-8). Each must
// either be rejected with FormatError, leaving no tensor behind, or load exactly what a
// straightforward reference decoder, written here from the format's rules, says it holds.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect, it } from 'vitest';

import { FormatError, io, memory, tensor, zeros, type Tensor } from '../../lib/index.js';
import { seededRandom } from '../../lib/data/dataloader.js';

/** Seeded (mulberry32), so a failing mutant reproduces. */
const generator = seededRandom;

// ---- the reference decoder --------------------------------------------------------------

const SIZES: Record<string, number> = { BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8 };
const HELD: Record<string, string> = { F32: 'float32', I32: 'int32', U8: 'uint8', BOOL: 'bool', F16: 'float16', BF16: 'bfloat16', I64: 'int32' };

interface Decoded {
  metadata: Record<string, string>;
  tensors: Map<string, { dtype: string; shape: number[]; values: Array<number | boolean> }>;
}

function half(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Keys written in the text (a string followed by ':' is a key in valid JSON) vs keys parsed: more written means duplicates. */
function hasDuplicateKeys(text: string, parsed: unknown): boolean {
  let written = 0;
  for (const m of text.matchAll(/"(?:[^"\\]|\\.)*"\s*(:?)/g)) if (m[1] === ':') ++written;
  const count = (v: unknown): number =>
    Array.isArray(v) ? v.reduce((s: number, x) => s + count(x), 0) : isObject(v) ? Object.values(v).reduce((s: number, x) => s + count(x), Object.keys(v).length) : 0;
  return written !== count(parsed);
}

function wellFormed(v: unknown, depth = 1): boolean {
  if (depth > 128) return false;
  const ok = (s: string) => !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
  if (typeof v === 'string') return ok(v);
  if (Array.isArray(v)) return v.every((x) => wellFormed(x, depth + 1));
  if (isObject(v)) return Object.entries(v).every(([k, x]) => ok(k) && wellFormed(x, depth + 1));
  return true;
}

/** What the file holds per the format's rules, or null when it breaks one (or neocog cannot hold it). */
function reference(bytes: Buffer): Decoded | null {
  if (bytes.length < 8) return null;
  const n = bytes.readBigUInt64LE(0);
  if (n > 100_000_000n || 8 + Number(n) > bytes.length) return null;
  const headerEnd = 8 + Number(n);
  let header: unknown;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, headerEnd));
    header = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isObject(header) || hasDuplicateKeys(text, header) || !wellFormed(header)) return null;
  const metadata: Record<string, string> = {};
  const plans: Array<{ name: string; dtype: string; shape: number[]; begin: number; end: number }> = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (entry === null) continue; // null is no metadata, as serde's Option reads it
      if (!isObject(entry) || !Object.values(entry).every((v) => typeof v === 'string')) return null;
      Object.assign(metadata, entry);
      continue;
    }
    if (!isObject(entry)) return null;
    const { dtype, shape, data_offsets: offsets } = entry;
    const size = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
    if (typeof dtype !== 'string' || !Object.hasOwn(SIZES, dtype)) return null;
    if (!Array.isArray(shape) || !shape.every(size) || !Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(size)) return null;
    const [begin, end] = offsets as number[];
    if (end! < begin!) return null;
    let byteCount = SIZES[dtype]!;
    for (const s of shape) {
      byteCount *= s;
      if (!Number.isSafeInteger(byteCount)) return null;
    }
    if (end! - begin! !== byteCount) return null;
    plans.push({ name, dtype, shape, begin: begin!, end: end! });
  }
  let position = 0;
  for (const p of [...plans].sort((a, b) => a.begin - b.begin || a.end - b.end)) {
    if (p.begin !== position) return null;
    position = p.end;
  }
  if (headerEnd + position !== bytes.length) return null;
  const tensors: Decoded['tensors'] = new Map();
  for (const p of plans) {
    if (!Object.hasOwn(HELD, p.dtype) || p.shape.length > 8) return null;
    const at = headerEnd + p.begin;
    const count = (p.end - p.begin) / SIZES[p.dtype]!;
    const values: Array<number | boolean> = [];
    for (let i = 0; i < count; ++i) {
      if (p.dtype === 'F32') values.push(bytes.readFloatLE(at + 4 * i));
      else if (p.dtype === 'I32') values.push(bytes.readInt32LE(at + 4 * i));
      else if (p.dtype === 'U8') values.push(bytes[at + i]!);
      else if (p.dtype === 'BOOL') values.push(bytes[at + i] !== 0);
      else if (p.dtype === 'F16') values.push(half(bytes.readUInt16LE(at + 2 * i)));
      else if (p.dtype === 'BF16') values.push(new Float32Array(new Uint32Array([bytes.readUInt16LE(at + 2 * i) << 16]).buffer)[0]!);
      else {
        const v = bytes.readBigInt64LE(at + 8 * i);
        if (v < -(2n ** 31n) || v >= 2n ** 31n) return null;
        values.push(Number(v));
      }
    }
    tensors.set(p.name, { dtype: HELD[p.dtype]!, shape: p.shape, values });
  }
  return { metadata, tensors };
}

// ---- valid files and their mutants --------------------------------------------------------

function build(header: string, data: Uint8Array, lengthDelta = 0, pad = true): Buffer {
  let text = Buffer.from(header);
  if (pad) text = Buffer.concat([text, Buffer.alloc((8 - (text.length % 8)) % 8, ' ')]);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(Math.max(0, text.length + lengthDelta)));
  return Buffer.concat([prefix, text, data]);
}

function bases(): Buffer[] {
  const mixed = new Map<string, Tensor>([
    ['conv.weight', tensor([[1.5, -2, 0.25], [3, 4, -0]], { dtype: 'float32' })],
    ['labels', tensor([1, -7, 3, 2 ** 30])],
    ['pixels', tensor([0, 255, 17], { dtype: 'uint8' })],
    ['mask', tensor([true, false, true])],
    ['h', tensor([1, 2.5, -0.125, 65504], { dtype: 'float16' })],
    ['bf', tensor([1, -3, 1e30], { dtype: 'bfloat16' })],
    ['none', zeros([0, 2])],
  ]);
  const int64 = Buffer.alloc(24);
  [5n, -3n, 2n ** 31n - 1n].forEach((v, i) => int64.writeBigInt64LE(v, 8 * i));
  return [
    io.serializeSafetensors(mixed, { format: 'pt', note: 'ünïcode' }),
    build(JSON.stringify({ __metadata__: { a: 'b' }, steps: { dtype: 'I64', shape: [3], data_offsets: [0, 24] }, w: { dtype: 'F32', shape: [1, 2], data_offsets: [24, 32] } }), Buffer.concat([int64, Buffer.from(new Float32Array([7, -1]).buffer)])),
    build('{}', new Uint8Array(0)),
  ];
}

type Random = () => number;

function mutate(base: Buffer, random: Random): Buffer {
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  const n = Number(base.readBigUInt64LE(0));
  const headerText = base.subarray(8, 8 + n).toString();
  const data = base.subarray(8 + n);
  const kind = int(9);
  if (kind === 0) {
    const out = Buffer.from(base); // byte flips anywhere
    for (let i = 0; i <= int(3); ++i) {
      const at = int(out.length);
      out[at] = out[at]! ^ (1 << int(8));
    }
    return out;
  }
  if (kind === 1) {
    const out = Buffer.from(base); // random bytes in the header
    for (let i = 0; i <= int(2); ++i) out[8 + int(Math.max(1, n))] = int(256);
    return out;
  }
  if (kind === 2) return base.subarray(0, int(base.length)); // truncation
  if (kind === 3) return Buffer.concat([base, Buffer.from(Array.from({ length: 1 + int(16) }, () => pick([0, 32, int(256)])))]);
  if (kind === 4) {
    const out = Buffer.from(base); // header length off by a little or a lot
    const delta = pick([-16, -8, -3, -1, 1, 2, 5, 8, 64]);
    out.writeBigUInt64LE(pick([BigInt(Math.max(0, n + delta)), 2n ** 63n, 2n ** 64n - 1n, 100_000_001n, BigInt(base.length)]), 0);
    return out;
  }
  if (kind === 5) {
    // invalid UTF-8 (lone continuation, truncated lead, overlong, surrogate) inside the header text
    const bad = pick([[0xff], [0x80], [0xc3], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xef, 0xbb, 0xbf]]);
    const at = 8 + int(n + 1);
    const out = Buffer.concat([base.subarray(0, at), Buffer.from(bad), base.subarray(at)]);
    if (random() < 0.7) out.writeBigUInt64LE(BigInt(n + bad.length), 0);
    return out;
  }
  if (kind === 6) {
    // text edits: duplicate a key, drop or insert characters, change the padding
    const edits = [
      () => headerText.replace(/^\{("[^"]*":\{[^}]*\})/, '{$1,$1'),
      () => headerText.replace(/"shape":(\[[^\]]*\])/, '"shape":$1,"shape":$1'),
      () => headerText.replace(/"data_offsets":\[(\d+),(\d+)\]/, (_m, a: string, b: string) => `"data_offsets":[${a}.0,${b}]`),
      () => headerText.replace(/"dtype":"(\w+)"/, '"dtype":"$1","extra":{"nested":[1,2]}'),
      () => headerText.replace(/"dtype":"(\w+)"/, '"dtype":"\\u0046\\u0033\\u0032"'),
      () => headerText.replace(/"([^"]+)":\{"dtype"/, '"\\ud800$1":{"dtype"'),
      () => {
        const at = int(headerText.length);
        return headerText.slice(0, at) + headerText.slice(at + 1 + int(3));
      },
      () => headerText.trimEnd(),
      () => `\ufeff${headerText}`,
      () => `${'['.repeat(130)}${']'.repeat(130)}`,
    ];
    return build(pick(edits)(), data, 0, random() < 0.5);
  }
  // kind 7-8: structured header edits, re-encoded with a correct length
  const header = JSON.parse(headerText) as Record<string, unknown>;
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const entries = names.map((name) => header[name] as { dtype: unknown; shape: unknown; data_offsets: unknown });
  const entry = entries.length > 0 ? pick(entries) : undefined;
  const offsets: unknown[] = entry && Array.isArray(entry.data_offsets) ? [...(entry.data_offsets as unknown[])] : [0, 0];
  const edits: Array<() => void> = [
    () => { if (entry) entry.data_offsets = offsets.map((o) => (o as number) + pick([-8, -4, -1, 1, 2, 4, 8])); }, // shifted
    () => { if (entry) entry.data_offsets = [offsets[0], (offsets[1] as number) + pick([-4, -1, 1, 4])]; }, // resized
    () => { if (entry) entry.data_offsets = [0, offsets[1]]; }, // overlapping the first
    () => { if (entry) entry.data_offsets = [offsets[1], offsets[0]]; }, // reversed
    () => { if (entry) entry.data_offsets = pick([[0], [0, 4, 8], ['0', 4], [-4, 0], [1.5, 4], [2 ** 53, 2 ** 53 + 4], null]); },
    () => { if (entry) entry.shape = pick([[1e308, 0], [2 ** 53], [2 ** 31, 2 ** 31, 0], [-1], [1.5], [], ['2'], 7, [1, 1, 1, 1, 1, 1, 1, 1, 1], [0]]); },
    () => { if (entry) if (Array.isArray(entry.shape)) entry.shape = [...(entry.shape as number[]), pick([1, 2, 0])]; }, // an extra dim (1 keeps it valid)
    () => { if (entry) if (Array.isArray(entry.shape)) entry.shape = [...(entry.shape as number[])].reverse(); }, // valid, other layout
    () => { if (entry) entry.dtype = pick(['F32', 'I32', 'U8', 'BOOL', 'F16', 'BF16', 'I64', 'F64', 'I8', 'U64', 'F33', '', 'toString', 5, null]); },
    () => { if (entry) delete (entry as Record<string, unknown>)[pick(['dtype', 'shape', 'data_offsets'])]; },
    () => { if (names.length > 0) delete header[pick(names)]; }, // a gap or trailing data
    () => { if (names.length > 0) header[`${pick(names)}.copy`] = { ...entry }; }, // the same range twice
    () => { header.__metadata__ = pick([null, 5, 'text', [], { k: 1 }, { k: 'v' }, { '': '' }]); },
    () => { if (names.length > 0) header[pick(names)] = pick([null, [], 'x', 3]); },
  ];
  for (let i = 0; i <= int(2); ++i) pick(edits)();
  return build(JSON.stringify(header), data, 0, random() < 0.9);
}

// ---- the property -----------------------------------------------------------------------

function same(loaded: Map<string, Tensor>, expected: Decoded['tensors']): void {
  expect([...loaded.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [name, want] of expected) {
    const t = loaded.get(name)!;
    expect({ name, dtype: t.dtype, shape: t.shape }).toEqual({ name, dtype: want.dtype, shape: want.shape });
    const values = Array.from(t.dataSync() as ArrayLike<number>, (v) => (t.dtype === 'bool' ? v !== 0 : v));
    // Object.is: -0 and NaN must come through as they are.
    const differs = values.findIndex((v, i) => !Object.is(v, want.values[i]));
    expect(differs, `${name}[${differs}]: ${values[differs]} vs ${want.values[differs]}`).toBe(-1);
  }
}

/** One mutant through a reader: its tensors and metadata, or the FormatError; anything else fails the test. */
function outcome(i: number, mutant: Buffer, read: () => ReturnType<typeof io.parseSafetensors>): ReturnType<typeof io.parseSafetensors> | FormatError {
  try {
    return read();
  } catch (error) {
    if (!(error instanceof FormatError)) throw new Error(`mutant ${i} (${mutant.toString('base64')}) threw ${String(error)}`);
    return error;
  }
}

function check(i: number, mutant: Buffer, result: ReturnType<typeof io.parseSafetensors> | FormatError, expected: Decoded | null, liveBefore: number): boolean {
  if (result instanceof FormatError) {
    expect(expected, `mutant ${i} was rejected (${result.message}) but the reference reads it: ${mutant.toString('base64')}`).toBeNull();
    // Nothing left behind. (The count may drop: tensors of earlier tests can be
    // garbage-collected while the async reader awaits.)
    expect(memory('cpu').tensors).toBeLessThanOrEqual(liveBefore);
    return false;
  }
  expect(expected, `mutant ${i} loaded but the reference rejects it: ${mutant.toString('base64')}`).not.toBeNull();
  same(result.tensors, expected!.tensors);
  expect(result.metadata).toEqual(expected!.metadata);
  for (const t of result.tensors.values()) t.dispose();
  return true;
}

it('every mutant of a valid file is a FormatError or loads exactly what the reference decoder reads', async () => {
  const random = generator(20261129);
  const valid = bases();
  const counts = { accepted: 0, rejected: 0 };
  const liveBefore = memory('cpu').tensors;
  const path = join(mkdtempSync(join(tmpdir(), 'neocog-fuzz-')), 'mutant.safetensors');
  for (const base of valid) expect(reference(base)).not.toBeNull();
  for (let i = 0; i < 4000; ++i) {
    const base = valid[i % valid.length]!;
    const mutant = mutate(base, random);
    const expected = reference(mutant);
    const accepted = check(i, mutant, outcome(i, mutant, () => io.parseSafetensors(mutant, `mutant ${i}`)), expected, liveBefore);
    ++counts[accepted ? 'accepted' : 'rejected'];
    if (i % 8 === 0) {
      // The async reader takes another path (the file read in windows): it must agree.
      writeFileSync(path, mutant);
      let result: ReturnType<typeof io.parseSafetensors> | FormatError;
      try {
        result = await io.loadSafetensors(path);
      } catch (error) {
        if (!(error instanceof FormatError)) throw new Error(`mutant ${i} (${mutant.toString('base64')}) threw ${String(error)} from loadSafetensors`);
        result = error;
      }
      expect(check(i, mutant, result, expected, liveBefore)).toBe(accepted);
    }
  }
  // Both outcomes are exercised in quantity, so neither branch is vacuous.
  expect(counts.accepted).toBeGreaterThan(200);
  expect(counts.rejected).toBeGreaterThan(2000);
});
