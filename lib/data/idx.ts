/**
 * Reader for the IDX format of MNIST / Fashion-MNIST (gzip-compressed or not): a magic
 * number giving the element type and rank, the dims (big-endian uint32), then the data.
 *
 * A gzip file is never inflated beyond what its IDX header says it holds: the header is
 * inflated first (from a short prefix of the compressed bytes), and the whole file is then
 * inflated with that size as the limit, so a "gzip bomb" (a small file claiming 10 images
 * followed by gigabytes of zeros) fails with FormatError after a few kilobytes of output.
 * @module
 */
import { readFileSync } from 'node:fs';
import { constants, gunzipSync } from 'node:zlib';

import { FormatError } from '../errors.js';

/** An IDX file's contents: uint8 data (the type MNIST uses) and its shape. */
export interface IdxArray {
  shape: number[];
  data: Uint8Array;
}

/** The element type byte of unsigned bytes, the only type neocog reads. */
const UNSIGNED_BYTE = 0x08;
/** Node's largest Buffer; a header claiming more is corrupt, not a file to inflate. */
const MAX_BYTES = 2 ** 32 - 1;

/** The header's size in bytes, its shape and the file's total (uncompressed) size, from its first bytes. */
interface Header {
  start: number;
  shape: number[];
  total: number;
}

/** Reads the header from the start of the raw (uncompressed) bytes; null when more bytes are needed. */
function readHeader(raw: Uint8Array, source: string): Header | null {
  if (raw.length >= 2 && (raw[0] !== 0 || raw[1] !== 0)) throw new FormatError(`readIdx: ${source} does not start with an IDX magic number`);
  if (raw.length >= 3 && raw[2] !== UNSIGNED_BYTE) {
    throw new FormatError(`readIdx: ${source} holds type 0x${raw[2]!.toString(16)}; only unsigned bytes (0x08) are supported`);
  }
  if (raw.length < 4) return null;
  const rank = raw[3]!;
  const start = 4 + 4 * rank;
  if (raw.length < start) return null;
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const shape = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false));
  const count = shape.reduce((a, b) => a * b, 1);
  if (!(start + count <= MAX_BYTES)) throw new FormatError(`readIdx: ${source} claims dims [${shape.join(', ')}], more than 4 GiB of values`);
  return { start, shape, total: start + count };
}

/** The longest IDX header: magic and 255 dims. */
const LONGEST_HEADER = 4 + 4 * 255;
/** Output allowed while looking for the header. */
const PREFIX_OUTPUT_LIMIT = 1 << 20;

/**
 * The first bytes `bytes` inflate to: at least LONGEST_HEADER of them (or all there are),
 * at most PREFIX_OUTPUT_LIMIT. Inflates prefixes of the input, growing them while the
 * output is too short and bisecting when it is too long (one input byte yields at most a
 * few kilobytes, so some prefix lands in between).
 */
function inflateStart(bytes: Uint8Array, invalid: (cause: unknown) => FormatError): Uint8Array {
  let short = 0; // a prefix length known to give too little output
  let long = Infinity; // one known to give too much
  for (let length = 64; ; ) {
    const prefix = Math.min(length, bytes.length);
    let head: Uint8Array | null = null;
    try {
      // SYNC_FLUSH: a cut-off input yields what it decodes to, not an error.
      head = gunzipSync(bytes.subarray(0, prefix), { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: PREFIX_OUTPUT_LIMIT });
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code !== 'ERR_BUFFER_TOO_LARGE') throw invalid(cause);
    }
    if (head !== null && (head.length >= LONGEST_HEADER || prefix === bytes.length)) return head;
    if (head === null) long = prefix;
    else short = prefix;
    if (long - short <= 1) throw invalid(new Error('no prefix inflates to a readable header'));
    length = long === Infinity ? prefix * 4 : Math.floor((short + long) / 2);
  }
}

/** Inflates gzip `bytes` to at most the size their IDX header claims (see the module comment). */
function inflateBounded(bytes: Uint8Array, source: string): Uint8Array {
  const invalid = (cause: unknown): FormatError => new FormatError(`readIdx: ${source} is not a valid gzip file (${(cause as Error).message})`);
  const header = readHeader(inflateStart(bytes, invalid), source);
  // The whole input inflates to less than a header: let the full inflate report a broken stream first.
  const limit = header?.total ?? LONGEST_HEADER;
  try {
    return gunzipSync(bytes, { maxOutputLength: limit });
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new FormatError(`readIdx: ${source} inflates to more than the ${limit} bytes its header [${header?.shape.join(', ')}] accounts for`);
    }
    throw invalid(cause);
  }
}

/**
 * Parses IDX bytes (gunzipping first when they start with the gzip magic).
 * @throws FormatError when the bytes are not a complete uint8 IDX file of the size its header says
 */
export function parseIdx(bytes: Uint8Array, source = 'buffer'): IdxArray {
  const raw = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b ? inflateBounded(bytes, source) : bytes;
  const header = readHeader(raw, source);
  if (header === null) {
    if (raw.length < 4) throw new FormatError(`readIdx: ${source} does not start with an IDX magic number`);
    throw new FormatError(`readIdx: ${source} is truncated in its header`);
  }
  if (raw.length !== header.total) {
    throw new FormatError(`readIdx: ${source} should hold ${header.total - header.start} values after its header, found ${raw.length - header.start}`);
  }
  return { shape: header.shape, data: raw.subarray(header.start) };
}

/** Reads an IDX file (`.gz` or plain). */
export function readIdx(path: string): IdxArray {
  return parseIdx(readFileSync(path), path);
}
