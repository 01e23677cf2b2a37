/**
 * A zip reader for files already in memory, enough for PyTorch checkpoints: the central
 * directory (zip64 included, as torch.save writes past 4 GB), STORED and DEFLATED entries,
 * each checked against its CRC-32. Read from the end (APPNOTE 4.3.16): the end-of-central-
 * directory record names the directory, whose entries point at the local headers; torch.save
 * pads local headers so that data is 64-byte aligned, so data offsets come from the local
 * header's own lengths, never the central directory's. Every offset and length is checked
 * against the buffer before it is used: a malformed file is a FormatError, never a read past
 * its end.
 * @module
 */
import { crc32, inflateRawSync } from 'node:zlib';

/** One file of the archive, located and checked but not yet extracted. */
export interface ZipEntry {
  readonly name: string;
  /** 0 (STORED) or 8 (DEFLATED). */
  readonly method: number;
  readonly crc: number;
  readonly compressedSize: number;
  readonly size: number;
  /** Where the entry's (possibly compressed) data begins in the archive. */
  readonly dataStart: number;
}

const EOCD = 0x06054b50;
const EOCD64 = 0x06064b50;
const EOCD64_LOCATOR = 0x07064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const EOCD_BYTES = 22;
const CENTRAL_BYTES = 46;
const LOCAL_BYTES = 30;
/** The longest comment an EOCD record can carry, so how far back to look for it. */
const MAX_COMMENT = 0xffff;
const ZIP64_EXTRA = 0x0001;

/** Reads little-endian fields of `bytes`, failing (not returning undefined) past its end. */
class Reader {
  readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    readonly fail: (why: string) => never,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  need(at: number, length: number, what: string): void {
    if (at < 0 || length < 0 || at + length > this.bytes.length) this.fail(`is truncated: its ${what} at byte ${at} needs ${length} bytes, the file has ${this.bytes.length}`);
  }
  u16(at: number): number {
    return this.view.getUint16(at, true);
  }
  u32(at: number): number {
    return this.view.getUint32(at, true);
  }
  /** A 64-bit size or offset; past 2^53 it cannot index a buffer anyway. */
  u64(at: number, what: string): number {
    const value = this.view.getBigUint64(at, true);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`has a zip64 ${what} of ${value}, past any file this reader can hold`);
    return Number(value);
  }
}

/** Where the central directory is and how many entries it holds. */
function findDirectory(r: Reader): { count: number; offset: number; size: number } {
  const { bytes } = r;
  let eocd = -1;
  for (let at = bytes.length - EOCD_BYTES; at >= Math.max(0, bytes.length - EOCD_BYTES - MAX_COMMENT); --at) {
    // The comment must end exactly at the end of the file, so a signature inside it is skipped.
    if (r.u32(at) === EOCD && at + EOCD_BYTES + r.u16(at + 20) === bytes.length) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) r.fail('is not a zip archive (no end-of-central-directory record), or is truncated');
  let count = r.u16(eocd + 10);
  let size = r.u32(eocd + 12);
  let offset = r.u32(eocd + 16);
  if (count === 0xffff || size === 0xffffffff || offset === 0xffffffff) {
    const locator = eocd - 20;
    r.need(locator, 20, 'zip64 locator');
    if (r.u32(locator) !== EOCD64_LOCATOR) r.fail('has a saturated end-of-central-directory record but no zip64 locator');
    const at = r.u64(locator + 8, 'end record offset');
    r.need(at, 56, 'zip64 end-of-central-directory record');
    if (r.u32(at) !== EOCD64) r.fail(`has a zip64 locator pointing at byte ${at}, where no zip64 end record is`);
    count = r.u64(at + 32, 'entry count');
    size = r.u64(at + 40, 'directory size');
    offset = r.u64(at + 48, 'directory offset');
  }
  r.need(offset, size, 'central directory');
  return { count, offset, size };
}

/** The zip64 extra field's values, for those of the entry's fields that are saturated. */
function zip64Fields(r: Reader, at: number, length: number, saturated: readonly string[]): Map<string, number> {
  const values = new Map<string, number>();
  for (let p = at; p + 4 <= at + length; ) {
    const id = r.u16(p);
    const bytes = r.u16(p + 2);
    if (p + 4 + bytes > at + length) break;
    if (id === ZIP64_EXTRA) {
      saturated.forEach((field, i) => {
        if (8 * i + 8 <= bytes) values.set(field, r.u64(p + 4 + 8 * i, field));
      });
    }
    p += 4 + bytes;
  }
  return values;
}

/**
 * The archive's entries by name, validated: every entry's local header and data lie inside
 * `bytes`, its method is one this reader extracts, and no name repeats.
 * @param fail throws the caller's FormatError, worded for its file
 */
export function readZipDirectory(bytes: Uint8Array, fail: (why: string) => never): Map<string, ZipEntry> {
  const r = new Reader(bytes, fail);
  if (bytes.length < EOCD_BYTES) fail(`is truncated: ${bytes.length} bytes, a zip archive needs at least ${EOCD_BYTES}`);
  const directory = findDirectory(r);
  const entries = new Map<string, ZipEntry>();
  let at = directory.offset;
  const end = directory.offset + directory.size;
  for (let i = 0; i < directory.count; ++i) {
    if (at + CENTRAL_BYTES > end) fail(`has a central directory of ${directory.size} bytes, too short for its ${directory.count} entries`);
    if (r.u32(at) !== CENTRAL) fail(`has a damaged central directory (entry ${i} at byte ${at} lacks its signature)`);
    const flags = r.u16(at + 8);
    const method = r.u16(at + 10);
    const nameLength = r.u16(at + 28);
    const extraLength = r.u16(at + 30);
    const commentLength = r.u16(at + 32);
    if (at + CENTRAL_BYTES + nameLength + extraLength + commentLength > end) fail(`has a central directory entry ${i} that runs past the directory's end`);
    let name: string;
    try {
      name = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(at + CENTRAL_BYTES, at + CENTRAL_BYTES + nameLength));
    } catch {
      return fail(`has an entry name that is not valid UTF-8 (entry ${i})`);
    }
    if (flags & 1) fail(`has an encrypted entry ${name}`);
    if (method !== 0 && method !== 8) fail(`has entry ${name} compressed with method ${method}; only STORED (0) and DEFLATED (8) are read`);
    const fields = { size: r.u32(at + 24), compressedSize: r.u32(at + 20), localOffset: r.u32(at + 42) };
    const saturated = (['size', 'compressedSize', 'localOffset'] as const).filter((f) => fields[f] === 0xffffffff);
    if (saturated.length > 0) {
      const wide = zip64Fields(r, at + CENTRAL_BYTES + nameLength, extraLength, saturated);
      for (const f of saturated) {
        const value = wide.get(f);
        if (value === undefined) fail(`has entry ${name} whose ${f} needs a zip64 extra field it lacks`);
        fields[f] = value!;
      }
    }
    const local = fields.localOffset;
    r.need(local, LOCAL_BYTES, `local header of ${name}`);
    if (r.u32(local) !== LOCAL) fail(`has entry ${name} whose local header (at byte ${local}) lacks its signature`);
    const dataStart = local + LOCAL_BYTES + r.u16(local + 26) + r.u16(local + 28);
    r.need(dataStart, fields.compressedSize, `data of ${name}`);
    if (method === 0 && fields.compressedSize !== fields.size) fail(`has STORED entry ${name} whose sizes disagree (${fields.compressedSize} vs ${fields.size})`);
    if (entries.has(name)) fail(`has entry ${name} twice`);
    entries.set(name, { name, method, crc: r.u32(at + 16), compressedSize: fields.compressedSize, size: fields.size, dataStart });
    at += CENTRAL_BYTES + nameLength + extraLength + commentLength;
  }
  return entries;
}

/**
 * An entry's content: a view of `bytes` for STORED entries (no copy), inflated otherwise;
 * either way checked against its size and CRC-32.
 */
export function extractZipEntry(bytes: Uint8Array, entry: ZipEntry, fail: (why: string) => never): Uint8Array {
  const stored = bytes.subarray(entry.dataStart, entry.dataStart + entry.compressedSize);
  let data = stored;
  if (entry.method === 8) {
    try {
      data = inflateRawSync(stored, { maxOutputLength: Math.max(1, entry.size) });
    } catch (error) {
      return fail(`has entry ${entry.name} whose compressed data is corrupt (${(error as Error).message})`);
    }
  }
  if (data.length !== entry.size) fail(`has entry ${entry.name} of ${data.length} bytes where the directory says ${entry.size}`);
  if (crc32(data) !== entry.crc) fail(`has entry ${entry.name} whose CRC-32 does not match its data (the file is corrupt)`);
  return data;
}
