/**
 * safetensors reading and writing (DESIGN §6-§7): an 8-byte little-endian header length,
 * a JSON header `{name: {dtype, shape, data_offsets}}` and the raw little-endian data.
 * Files use PyTorch's state-dict names, so torchvision checkpoints converted to
 * safetensors load directly. Writes are atomic (temporary file + rename); a truncated or
 * malformed file is rejected with FormatError before anything is created.
 * @module
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';

import { FormatError } from '../errors.js';
import { fromBytes, fromTypedArray } from '../tensor/creation.js';
import type { DType, HalfDType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';

const TO_FILE: Record<DType, string> = { float32: 'F32', int32: 'I32', uint8: 'U8', bool: 'BOOL', float16: 'F16', bfloat16: 'BF16' };
const HALF_FROM_FILE: Record<string, HalfDType> = { F16: 'float16', BF16: 'bfloat16' };
const ELEMENT_BYTES: Record<string, number> = { F32: 4, I32: 4, U8: 1, BOOL: 1, I64: 8, F64: 8, F16: 2, BF16: 2 };

/** Serialises tensors (row-major, little-endian) with optional string metadata. */
export function serializeSafetensors(tensors: ReadonlyMap<string, Tensor>, metadata: Record<string, string> = {}): Buffer {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const [name, t] of [...tensors.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const cpu = t.cpu();
    const raw = cpu._bytesSync();
    if (cpu !== t) cpu.dispose();
    const bytes = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    header[name] = { dtype: TO_FILE[t.dtype], shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8); // the format pads the header to 8 bytes
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([length, Buffer.from(json), ...chunks]);
}

/** Writes a safetensors file atomically: a crash mid-write leaves the previous file intact. */
export function saveSafetensors(path: string, tensors: ReadonlyMap<string, Tensor>, metadata: Record<string, string> = {}): void {
  const bytes = serializeSafetensors(tensors, metadata);
  const temporary = `${path}.tmp-${process.pid}-${Date.now()}`;
  const fd = openSync(temporary, 'w');
  try {
    writeSync(fd, bytes);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    unlinkSync(temporary);
    throw error;
  }
  closeSync(fd);
  renameSync(temporary, path);
}

/** A parsed file: tensors by name and the header's metadata. */
export interface SafetensorsContent {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

/**
 * Parses safetensors bytes, validating everything before creating any tensor. I64 data
 * (PyTorch's integer default) is converted to int32 when every value fits.
 */
export function parseSafetensors(bytes: Uint8Array, source = 'buffer'): SafetensorsContent {
  const fail = (why: string): never => {
    throw new FormatError(`loadSafetensors: ${source} ${why}`);
  };
  if (bytes.length < 8) fail(`is truncated: ${bytes.length} bytes, the header length alone takes 8`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > bytes.length - 8) fail(`is truncated: its header claims ${headerLength} bytes, ${bytes.length - 8} follow`);
  let header: Record<string, { dtype?: unknown; shape?: unknown; data_offsets?: unknown }>;
  try {
    header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 8, headerLength).toString('utf8'));
  } catch {
    return fail('has a header that is not valid JSON');
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('has a header that is not an object');
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  const plans: Array<{ name: string; dtype: string; shape: number[]; begin: number; end: number }> = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets: offsets } = entry ?? {};
    if (typeof dtype !== 'string' || !(dtype in ELEMENT_BYTES)) fail(`has tensor ${name} with unsupported dtype ${String(dtype)}`);
    if (!Array.isArray(shape) || shape.some((s) => !Number.isInteger(s) || s < 0)) fail(`has tensor ${name} with an invalid shape`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(Number.isInteger)) fail(`has tensor ${name} without valid data_offsets`);
    const [begin, end] = offsets as [number, number];
    const expected = (shape as number[]).reduce((a, b) => a * b, 1) * ELEMENT_BYTES[dtype as string]!;
    if (begin < 0 || end < begin || end > dataLength) fail(`is truncated: tensor ${name} ends at byte ${end} of ${dataLength}`);
    if (end - begin !== expected) fail(`has tensor ${name} with ${end - begin} bytes, its shape needs ${expected}`);
    if (![...Object.values(TO_FILE), 'I64'].includes(dtype as string)) fail(`has tensor ${name} of dtype ${String(dtype)}, which neocog cannot hold`);
    plans.push({ name, dtype: dtype as string, shape: shape as number[], begin, end });
  }
  // Copy out every tensor's bytes (the file buffer may be unaligned) before creating any.
  const arrays = plans.map((plan) => {
    const slice = Uint8Array.from(bytes.subarray(dataStart + plan.begin, dataStart + plan.end));
    if (plan.dtype === 'F32') return new Float32Array(slice.buffer);
    if (plan.dtype === 'I32') return new Int32Array(slice.buffer);
    if (plan.dtype === 'I64') {
      const wide = new BigInt64Array(slice.buffer);
      const narrow = new Int32Array(wide.length);
      wide.forEach((v, i) => {
        if (v > 2147483647n || v < -2147483648n) fail(`has tensor ${plan.name} with an int64 value outside int32`);
        narrow[i] = Number(v);
      });
      return narrow;
    }
    return slice;
  });
  const tensors = new Map<string, Tensor>();
  plans.forEach((plan, i) => {
    const half = HALF_FROM_FILE[plan.dtype];
    if (half) {
      tensors.set(plan.name, fromBytes('loadSafetensors', arrays[i] as Uint8Array, plan.shape, half));
      return;
    }
    const t = fromTypedArray(arrays[i]! as Float32Array | Int32Array | Uint8Array, plan.shape);
    if (plan.dtype !== 'BOOL') {
      tensors.set(plan.name, t);
      return;
    }
    tensors.set(plan.name, t.to('bool'));
    t.dispose();
  });
  return { tensors, metadata };
}

/** Reads a safetensors file; FormatError (and nothing loaded) if it is truncated or malformed. */
export function loadSafetensors(path: string): SafetensorsContent {
  return parseSafetensors(readFileSync(path), path);
}
