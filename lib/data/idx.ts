/**
 * Reader for the IDX format of MNIST / Fashion-MNIST (gzip-compressed or not): a magic
 * number giving the element type and rank, the dims (big-endian uint32), then the data.
 * @module
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

import { FormatError } from '../errors.js';

/** An IDX file's contents: uint8 data (the type MNIST uses) and its shape. */
export interface IdxArray {
  shape: number[];
  data: Uint8Array;
}

/** Parses IDX bytes (gunzipping first when they start with the gzip magic). */
export function parseIdx(bytes: Uint8Array, source = 'buffer'): IdxArray {
  let raw = bytes;
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      raw = gunzipSync(raw);
    } catch (cause) {
      throw new FormatError(`readIdx: ${source} is not a valid gzip file (${(cause as Error).message})`);
    }
  }
  if (raw.length < 4 || raw[0] !== 0 || raw[1] !== 0) throw new FormatError(`readIdx: ${source} does not start with an IDX magic number`);
  if (raw[2] !== 0x08) throw new FormatError(`readIdx: ${source} holds type 0x${raw[2]!.toString(16)}; only unsigned bytes (0x08) are supported`);
  const rank = raw[3]!;
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  if (raw.length < 4 + 4 * rank) throw new FormatError(`readIdx: ${source} is truncated in its header`);
  const shape = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false));
  const count = shape.reduce((a, b) => a * b, 1);
  const start = 4 + 4 * rank;
  if (raw.length !== start + count) {
    throw new FormatError(`readIdx: ${source} should hold ${count} values after its header, found ${raw.length - start}`);
  }
  return { shape, data: raw.subarray(start) };
}

/** Reads an IDX file (`.gz` or plain). */
export function readIdx(path: string): IdxArray {
  return parseIdx(readFileSync(path), path);
}
