/**
 * safetensors reading and writing (DESIGN §6-§7): an 8-byte little-endian header length,
 * a UTF-8 JSON header `{name: {dtype, shape, data_offsets}, __metadata__?: {..}}` and the
 * raw little-endian data. Files use PyTorch's state-dict names, so torchvision checkpoints
 * converted to safetensors load directly.
 *
 * Reading follows the reference reader (huggingface/safetensors, `read_metadata` and
 * `Metadata::validate` in safetensors/src/tensor.rs): the header must be valid UTF-8 and
 * strict JSON (no duplicate keys); the tensors' byte ranges, ordered by offset, must tile
 * the data section exactly from 0 to the end of the file, with no gap or overlap; each
 * range must be as long as its dtype and shape say. Anything else is a FormatError that
 * names the file, and no tensor is created. Writes are atomic (temporary file + rename).
 * @module
 */
import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';

import { ArgumentError, FormatError } from '../errors.js';
import { fromBytes } from '../tensor/creation.js';
import { dtypeSize, type DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { writeFileAtomic, writeFileAtomicSync } from './atomic_write.js';
import { hasLoneSurrogate, parseStrictJson, type JsonValue } from './strict_json.js';
import { chunksOf, FileWindow, readAt, snapshotOnCpu, uploadInChunks, type ByteSource } from './transfer.js';

/** Bytes per element of every dtype the reference defines, for its size checks. */
const FILE_DTYPE_BYTES: Readonly<Record<string, number>> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8,
};
const TO_FILE: Readonly<Record<DType, string>> = { float32: 'F32', int32: 'I32', uint8: 'U8', bool: 'BOOL', float16: 'F16', bfloat16: 'BF16' };
/** The file dtypes neocog can hold; I64 (PyTorch's integer default) becomes int32 when every value fits. */
const FROM_FILE: Readonly<Record<string, DType>> = { ...Object.fromEntries(Object.entries(TO_FILE).map(([d, f]) => [f, d as DType])), I64: 'int32' };
/** The reference's limit; a larger length is a corrupt file, not a header to allocate. */
const MAX_HEADER_BYTES = 100_000_000;
/** neocog tensors have at most 8 dimensions. */
const MAX_DIMS = 8;
const METADATA_KEY = '__metadata__';

/** A parsed file: tensors by name and the header's metadata. */
export interface SafetensorsContent {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

/** One tensor's header entry, validated; offsets are relative to the data section. */
interface Entry {
  name: string;
  fileDtype: string;
  shape: number[];
  begin: number;
  end: number;
}

/** Everything a file's header says, validated against the file's length. */
interface Layout {
  dataStart: number;
  entries: Entry[];
  metadata: Record<string, string>;
}

/** What kind of JSON value came, for "expected an object" messages. */
const kindOf = (value: JsonValue | undefined): string =>
  value instanceof Map ? 'an object' : Array.isArray(value) ? 'an array' : value === undefined ? 'nothing' : JSON.stringify(value);

/** A JSON value as text for messages (objects elided, long values cut). */
function show(value: JsonValue | undefined): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value, (_key, v: unknown) => (v instanceof Map ? '{...}' : v));
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** The header length a file's first 8 bytes declare, if it is one worth reading. */
function declaredHeaderLength(head: Uint8Array, fileLength: number): number | null {
  if (head.length < 8) return null;
  const declared = new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true);
  return declared <= BigInt(Math.min(MAX_HEADER_BYTES, fileLength - 8)) ? Number(declared) : null;
}

/**
 * Reads and checks the header of a file of `fileLength` bytes without creating anything;
 * `head` holds the file's first bytes, at least through the header when it fits the file.
 */
function readLayout(head: Uint8Array, fileLength: number, op: string, source: string): Layout {
  const fail = (why: string): never => {
    throw new FormatError(`${op}: ${source} ${why}`);
  };
  if (fileLength < 8) fail(`is truncated: ${fileLength} bytes, the header length alone takes 8`);
  const declared = new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true);
  if (declared > BigInt(MAX_HEADER_BYTES)) fail(`declares a header of ${declared} bytes, more than the format's limit of ${MAX_HEADER_BYTES}`);
  const headerLength = Number(declared);
  if (headerLength > fileLength - 8) fail(`is truncated: its header claims ${headerLength} bytes, ${fileLength - 8} follow`);
  let text: string;
  try {
    // fatal: bad bytes are an error, not U+FFFD; ignoreBOM: a BOM stays in the text (and is invalid JSON), as in the reference.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(head.subarray(8, 8 + headerLength));
  } catch {
    return fail('has a header that is not valid UTF-8');
  }
  let header: JsonValue;
  try {
    header = parseStrictJson(text);
  } catch (error) {
    return fail(`has a header that is not valid JSON (${(error as Error).message})`);
  }
  if (!(header instanceof Map)) return fail(`has a header that is ${kindOf(header)}, expected an object`);

  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, value] of header) {
    if (name === METADATA_KEY) {
      if (value === null) continue; // the reference reads null as no metadata (serde's Option)
      if (!(value instanceof Map)) fail(`has ${METADATA_KEY} that is ${kindOf(value)}, expected an object of strings`);
      for (const [key, text] of value as Map<string, JsonValue>) {
        if (typeof text !== 'string') fail(`has ${METADATA_KEY}.${key} that is ${show(text)}, expected a string`);
        // defineProperty: a key such as __proto__ stays an ordinary key.
        Object.defineProperty(metadata, key, { value: text, enumerable: true, writable: true, configurable: true });
      }
      continue;
    }
    entries.push(readEntry(name, value, fail));
  }

  // As the reference: ordered by offsets, the ranges must tile [0, data length) exactly.
  const dataStart = 8 + headerLength;
  const dataLength = fileLength - dataStart;
  const ordered = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (const entry of ordered) {
    if (entry.begin !== covered) {
      fail(
        entry.begin < covered
          ? `has tensor ${entry.name} at bytes [${entry.begin}, ${entry.end}), overlapping the data before it (which ends at ${covered})`
          : `has a gap: no tensor covers bytes [${covered}, ${entry.begin}) of its data`,
      );
    }
    if (entry.end > dataLength) fail(`is truncated: tensor ${entry.name} ends at byte ${entry.end} of ${dataLength}`);
    covered = entry.end;
  }
  if (covered !== dataLength) fail(`has ${dataLength - covered} bytes after its last tensor's data (its tensors cover ${covered} of ${dataLength})`);
  return { dataStart, entries, metadata };
}

/** Checks one tensor's header entry: dtype, shape and offsets, and that they agree. */
function readEntry(name: string, value: JsonValue, fail: (why: string) => never): Entry {
  if (!(value instanceof Map)) return fail(`has tensor ${name} whose entry is ${kindOf(value)}, expected an object`);
  const dtype = value.get('dtype');
  const shape = value.get('shape');
  const offsets = value.get('data_offsets');
  if (typeof dtype !== 'string' || !Object.hasOwn(FILE_DTYPE_BYTES, dtype)) fail(`has tensor ${name} with unknown dtype ${show(dtype)}`);
  const elementBytes = FILE_DTYPE_BYTES[dtype as string]!;
  const isSize = (n: JsonValue): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
  if (!Array.isArray(shape) || !shape.every(isSize)) {
    return fail(`has tensor ${name} with shape ${show(shape)}, expected an array of non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isSize)) {
    return fail(`has tensor ${name} with data_offsets ${show(offsets)}, expected [begin, end] (non-negative integers)`);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) fail(`has tensor ${name} with data_offsets [${begin}, ${end}] that end before they begin`);
  // The reference multiplies with overflow checks, left to right; so do we, at 2^53.
  let bytes = elementBytes;
  for (const size of shape as number[]) {
    bytes *= size;
    if (!Number.isSafeInteger(bytes)) fail(`has tensor ${name} whose shape [${shape.join(', ')}] overflows`);
  }
  if (end - begin !== bytes) fail(`has tensor ${name} with ${end - begin} bytes, its dtype ${dtype} and shape [${shape.join(', ')}] need ${bytes}`);
  if (!Object.hasOwn(FROM_FILE, dtype as string)) fail(`has tensor ${name} of dtype ${dtype}, which neocog cannot hold (it reads ${Object.keys(FROM_FILE).join(', ')})`);
  if (shape.length > MAX_DIMS) fail(`has tensor ${name} with ${shape.length} dimensions; neocog tensors have at most ${MAX_DIMS}`);
  return { name, fileDtype: dtype as string, shape: shape as number[], begin, end };
}

/** int64 values as int32, or a FormatError naming the tensor when one does not fit. */
function narrowInt64(raw: Uint8Array, entry: Entry, fail: (why: string) => never): Int32Array {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const narrow = new Int32Array(view.byteLength / 8);
  for (let i = 0; i < narrow.length; ++i) {
    const low = view.getInt32(8 * i, true);
    // It fits when the high word is the low word's sign extension.
    if (view.getInt32(8 * i + 4, true) !== low >> 31) fail(`has tensor ${entry.name} with an int64 value outside int32 (element ${i})`);
    narrow[i] = low;
  }
  return narrow;
}

/** A validated file: its layout and each tensor's bytes as they will be uploaded. */
interface Prepared {
  layout: Layout;
  raws: Uint8Array[];
}

/** Validates everything that can fail on the file's content; creates nothing. */
function prepare(bytes: Uint8Array, op: string, source: string): Prepared {
  const layout = readLayout(bytes, bytes.length, op, source);
  const fail = (why: string): never => {
    throw new FormatError(`${op}: ${source} ${why}`);
  };
  // Narrowing int64 is the one check that reads the data: done here, before anything exists.
  const raws = layout.entries.map((e) => {
    const start = layout.dataStart + e.begin;
    const raw = bytes.subarray(start, layout.dataStart + e.end);
    return e.fileDtype === 'I64' ? new Uint8Array(narrowInt64(raw, e, fail).buffer) : raw;
  });
  return { layout, raws };
}

/** A tensor from bytes whose dtype is held as is, or as 0/1 booleans when the file says BOOL. */
async function create(entry: Entry, upload: (dtype: DType) => Tensor | Promise<Tensor>): Promise<Tensor> {
  if (entry.fileDtype !== 'BOOL') return upload(FROM_FILE[entry.fileDtype]!);
  // Through uint8, so that any non-zero byte reads as true.
  const bytesTensor = await upload('uint8');
  try {
    return bytesTensor.to('bool');
  } finally {
    bytesTensor.dispose();
  }
}

function createSync(op: string, { layout, raws }: Prepared): Map<string, Tensor> {
  const tensors = new Map<string, Tensor>();
  try {
    layout.entries.forEach((entry, i) => {
      const raw = raws[i]!;
      if (entry.fileDtype !== 'BOOL') {
        tensors.set(entry.name, fromBytes(op, raw, entry.shape, FROM_FILE[entry.fileDtype]!));
        return;
      }
      const bytesTensor = fromBytes(op, raw, entry.shape, 'uint8');
      try {
        tensors.set(entry.name, bytesTensor.to('bool')); // any non-zero byte reads as true
      } finally {
        bytesTensor.dispose();
      }
    });
  } catch (error) {
    for (const t of tensors.values()) t.dispose();
    throw error;
  }
  return tensors;
}

/**
 * Reads a file's tensors a chunk at a time, in file order, after validating the header and
 * narrowing every int64 tensor; on any failure none is left allocated.
 */
async function loadFromFile(op: string, path: string): Promise<SafetensorsContent> {
  const fail = (why: string): never => {
    throw new FormatError(`${op}: ${path} ${why}`);
  };
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const first = await readAt(handle, 0, Math.min(8, size));
    const headerLength = declaredHeaderLength(first, size);
    const layout = readLayout(headerLength === null ? first : await readAt(handle, 0, 8 + headerLength), size, op, path);
    const window = new FileWindow(handle, layout.dataStart, size - layout.dataStart, () => fail('changed while it was read (it is shorter now)'));
    const ordered = [...layout.entries].sort((a, b) => a.begin - b.begin);
    const narrowed = new Map<Entry, Uint8Array>();
    for (const e of ordered) if (e.fileDtype === 'I64') narrowed.set(e, new Uint8Array(narrowInt64(await window.bytes(e.begin, e.end), e, fail).buffer));
    const created = new Map<Entry, Tensor>();
    try {
      for (const e of ordered) {
        const narrow = narrowed.get(e);
        const source: ByteSource = narrow ? (begin, end) => narrow.subarray(begin, end) : (begin, end) => window.bytes(e.begin + begin, e.begin + end);
        created.set(e, await create(e, (dtype) => uploadInChunks(op, narrow?.length ?? e.end - e.begin, source, e.shape, dtype)));
      }
    } catch (error) {
      for (const t of created.values()) t.dispose();
      throw error;
    }
    // In header order, as the sync readers give them.
    return { tensors: new Map(layout.entries.map((e) => [e.name, created.get(e)!])), metadata: layout.metadata };
  } finally {
    await handle.close();
  }
}

function decodeSync(bytes: Uint8Array, op: string, source: string): SafetensorsContent {
  const prepared = prepare(bytes, op, source);
  return { tensors: createSync(op, prepared), metadata: prepared.layout.metadata };
}

/**
 * Parses safetensors bytes, validating the whole file before creating any tensor.
 * I64 data (PyTorch's integer default) is converted to int32 when every value fits.
 * @param source what to call the bytes in error messages (a file name)
 * @throws FormatError when the bytes break any of the format's rules (see the module doc)
 */
export function parseSafetensors(bytes: Uint8Array, source = 'buffer'): SafetensorsContent {
  return decodeSync(bytes, 'parseSafetensors', source);
}

/**
 * Reads a safetensors file without blocking the event loop: the file is read and the
 * tensors are filled a few megabytes at a time, after the whole header is validated.
 * @example const { tensors, metadata } = await io.loadSafetensors('model.safetensors');
 * @throws FormatError (and nothing loaded) if it is truncated or malformed
 */
export async function loadSafetensors(path: string): Promise<SafetensorsContent> {
  return loadFromFile('loadSafetensors', path);
}

/** Blocking form of {@link loadSafetensors}. */
export function loadSafetensorsSync(path: string): SafetensorsContent {
  return decodeSync(readFileSync(path), 'loadSafetensorsSync', path);
}

/** The file's first 8 + header bytes for `tensors` in name order, after checking the arguments. */
function planFile(op: string, tensors: ReadonlyMap<string, Tensor>, metadata: Record<string, string>): { head: Uint8Array; ordered: Tensor[] } {
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw new ArgumentError(`${op}: expected metadata to be an object of strings, got ${metadata === null ? 'null' : typeof metadata}`);
  }
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') throw new ArgumentError(`${op}: expected metadata.${key} to be a string, got ${typeof value}`);
    if (hasLoneSurrogate(key) || hasLoneSurrogate(value)) throw new ArgumentError(`${op}: metadata.${key} holds an unpaired UTF-16 surrogate, which UTF-8 cannot encode`);
  }
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header[METADATA_KEY] = metadata;
  const names = [...tensors.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  let offset = 0;
  for (const name of names) {
    // A lone surrogate would be written as an escape the reference (and this reader) rejects.
    if (name === METADATA_KEY || hasLoneSurrogate(name)) throw new ArgumentError(`${op}: ${JSON.stringify(name)} cannot be a tensor name in a safetensors file`);
    const t = tensors.get(name)!;
    const bytes = t.numel * dtypeSize(t.dtype);
    Object.defineProperty(header, name, { value: { dtype: TO_FILE[t.dtype], shape: t.shape, data_offsets: [offset, offset + bytes] }, enumerable: true });
    offset += bytes;
  }
  const json = Buffer.from(JSON.stringify(header));
  // The format pads the header with spaces to a multiple of 8 bytes (not characters).
  const padded = Buffer.alloc(json.length + ((8 - (json.length % 8)) % 8), ' ');
  json.copy(padded);
  const head = Buffer.alloc(8 + padded.length);
  head.writeBigUInt64LE(BigInt(padded.length));
  padded.copy(head, 8);
  return { head, ordered: names.map((name) => tensors.get(name)!) };
}

function bytesSync(t: Tensor): Uint8Array {
  const cpu = t.cpu();
  try {
    return cpu._bytesSync();
  } finally {
    if (cpu !== t) cpu.dispose();
  }
}

/** Serialises tensors (row-major, little-endian, sorted by name) with optional string metadata. */
export function serializeSafetensors(tensors: ReadonlyMap<string, Tensor>, metadata: Record<string, string> = {}): Buffer {
  const { head, ordered } = planFile('serializeSafetensors', tensors, metadata);
  return Buffer.concat([head, ...ordered.map(bytesSync)]);
}

/**
 * Writes a safetensors file atomically (a crash mid-write leaves the previous file intact)
 * without blocking the event loop. The values saved are those the tensors hold when this
 * is called: they are copied to host memory first (which costs that much memory until the
 * write ends), so ops queued later, such as the next optimizer step, do not show.
 * @example await io.saveSafetensors('model.safetensors', model.stateDict(), { epoch: '3' });
 */
export async function saveSafetensors(path: string, tensors: ReadonlyMap<string, Tensor>, metadata: Record<string, string> = {}): Promise<void> {
  const op = 'saveSafetensors';
  const { head, ordered } = planFile(op, tensors, metadata);
  // Copies queued now, before the first await, are what the file gets.
  const snapshots: Tensor[] = [];
  try {
    for (const t of ordered) snapshots.push(snapshotOnCpu(op, t));
    await writeFileAtomic(
      path,
      (async function* () {
        yield head;
        for (const snapshot of snapshots) yield* chunksOf(op, snapshot);
      })(),
    );
  } finally {
    for (const snapshot of snapshots) snapshot.dispose();
  }
}

/** Blocking form of {@link saveSafetensors}. */
export function saveSafetensorsSync(path: string, tensors: ReadonlyMap<string, Tensor>, metadata: Record<string, string> = {}): void {
  const { head, ordered } = planFile('saveSafetensorsSync', tensors, metadata);
  writeFileAtomicSync(path, [head, ...ordered.map(bytesSync)]);
}
