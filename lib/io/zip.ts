/**
 * A zip reader, enough for PyTorch checkpoints: the central
 * directory (zip64 included, as torch.save writes past 4 GB), STORED and DEFLATED entries,
 * each checked against its CRC-32. Read from the end (APPNOTE 4.3.16): the end-of-central-
 * directory record names the directory, whose entries point at the local headers; torch.save
 * pads local headers so that data is 64-byte aligned, so data offsets come from the local
 * header's own lengths, never the central directory's. Every offset and length is checked
 * against the archive's length before it is used: a malformed file is a FormatError, never a
 * read past its end. The archive is a {@link ZipSource}: bytes in memory, or a file of which
 * only the structure (its end records, directory and local headers) is read.
 * @module
 */
import { readSync } from 'node:fs';
import { crc32, inflateRawSync } from 'node:zlib';

/** Random access to an archive's bytes. */
export interface ZipSource {
  readonly length: number;
  /** The bytes from `at` (at most `length`; fewer only if a file shrank meanwhile). */
  read(at: number, length: number): Uint8Array;
}

/** An archive in memory; reads are views, not copies. */
export function bytesSource(bytes: Uint8Array): ZipSource {
  return { length: bytes.length, read: (at, length) => bytes.subarray(at, at + length) };
}

/** An archive in the file open as `fd`, of `length` bytes; each read is a pread. */
export function fileSource(fd: number, length: number): ZipSource {
  return {
    length,
    read(at, count) {
      const bytes = Buffer.allocUnsafe(count);
      let got = 0;
      for (let n = -1; got < count && n !== 0; got += n) n = readSync(fd, bytes, got, count - got, at + got);
      return bytes.subarray(0, got);
    },
  };
}

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
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Bytes read per window when a field lies outside the current one. */
const WINDOW = 4096;

/**
 * Reads little-endian fields of the archive at absolute positions, failing (not returning
 * undefined) past its end, through one window of the source at a time: the caller loads the
 * window a structure needs (the directory, a local header) with one read.
 */
class Reader {
  #start = 0;
  #bytes: Uint8Array = new Uint8Array(0);
  #view = new DataView(this.#bytes.buffer);
  constructor(
    readonly source: ZipSource,
    readonly fail: (why: string) => never,
  ) {}
  get length(): number {
    return this.source.length;
  }
  need(at: number, length: number, what: string): void {
    if (at < 0 || length < 0 || at + length > this.length) this.fail(`is truncated: its ${what} at byte ${at} needs ${length} bytes, the file has ${this.length}`);
  }
  /** Reads `[at, at + length)` (inside the archive) into the window. */
  load(at: number, length: number): void {
    const bytes = this.source.read(at, length);
    if (bytes.length < length) this.fail(`changed while being read (bytes ${at} to ${at + length} are gone)`);
    this.#start = at;
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  /** `at`'s index in the window, loading one from `at` if `length` bytes there are not in it. */
  #index(at: number, length: number): number {
    if (at < this.#start || at + length > this.#start + this.#bytes.length) this.load(at, Math.max(length, Math.min(WINDOW, this.length - at)));
    return at - this.#start;
  }
  u16(at: number): number {
    return this.#view.getUint16(this.#index(at, 2), true);
  }
  u32(at: number): number {
    return this.#view.getUint32(this.#index(at, 4), true);
  }
  /** A 64-bit size or offset; past 2^53 it cannot index a buffer anyway. */
  u64(at: number, what: string): number {
    const value = this.#view.getBigUint64(this.#index(at, 8), true);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`has a zip64 ${what} of ${value}, past any file this reader can hold`);
    return Number(value);
  }
  /** `length` bytes from `at`, a view of the window. */
  slice(at: number, length: number): Uint8Array {
    const from = this.#index(at, length);
    return this.#bytes.subarray(from, from + length);
  }
}

/** Where the central directory is and how many entries it holds. */
function findDirectory(r: Reader): { count: number; offset: number; size: number } {
  const { length } = r;
  const searchFrom = Math.max(0, length - EOCD_BYTES - MAX_COMMENT);
  r.load(searchFrom, length - searchFrom);
  let eocd = -1;
  for (let at = length - EOCD_BYTES; at >= searchFrom; --at) {
    // The comment must end exactly at the end of the file, so a signature inside it is skipped.
    if (r.u32(at) === EOCD && at + EOCD_BYTES + r.u16(at + 20) === length) {
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
  r.load(offset, size);
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
 * the archive, its method is one this reader extracts, and no name repeats.
 * @param fail throws the caller's FormatError, worded for its file
 */
export function readZipDirectory(archive: Uint8Array | ZipSource, fail: (why: string) => never): Map<string, ZipEntry> {
  const source = archive instanceof Uint8Array ? bytesSource(archive) : archive;
  const r = new Reader(source, fail);
  // Local headers through a reader of their own, so that the directory's window stays loaded.
  const headers = new Reader(source, fail);
  if (r.length < EOCD_BYTES) fail(`is truncated: ${r.length} bytes, a zip archive needs at least ${EOCD_BYTES}`);
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
      name = utf8.decode(r.slice(at + CENTRAL_BYTES, nameLength));
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
    headers.load(local, LOCAL_BYTES);
    if (headers.u32(local) !== LOCAL) fail(`has entry ${name} whose local header (at byte ${local}) lacks its signature`);
    const dataStart = local + LOCAL_BYTES + headers.u16(local + 26) + headers.u16(local + 28);
    r.need(dataStart, fields.compressedSize, `data of ${name}`);
    if (method === 0 && fields.compressedSize !== fields.size) fail(`has STORED entry ${name} whose sizes disagree (${fields.compressedSize} vs ${fields.size})`);
    if (entries.has(name)) fail(`has entry ${name} twice`);
    entries.set(name, { name, method, crc: r.u32(at + 16), compressedSize: fields.compressedSize, size: fields.size, dataStart });
    at += CENTRAL_BYTES + nameLength + extraLength + commentLength;
  }
  return entries;
}

/**
 * An entry's content: as stored for STORED entries (a view of an archive in memory, no
 * copy), inflated otherwise; either way checked against its size and, unless `checkCrc` is
 * false, its CRC-32.
 */
export function extractZipEntry(archive: Uint8Array | ZipSource, entry: ZipEntry, fail: (why: string) => never, checkCrc = true): Uint8Array {
  const source = archive instanceof Uint8Array ? bytesSource(archive) : archive;
  const stored = source.read(entry.dataStart, entry.compressedSize);
  if (stored.length < entry.compressedSize) fail(`changed while being read (entry ${entry.name} is cut short)`);
  let data = stored;
  if (entry.method === 8) {
    try {
      data = inflateRawSync(stored, { maxOutputLength: Math.max(1, entry.size) });
    } catch (error) {
      return fail(`has entry ${entry.name} whose compressed data is corrupt (${(error as Error).message})`);
    }
  }
  if (data.length !== entry.size) fail(`has entry ${entry.name} of ${data.length} bytes where the directory says ${entry.size}`);
  if (checkCrc && crc32(data) !== entry.crc) fail(`has entry ${entry.name} whose CRC-32 does not match its data (the file is corrupt)`);
  return data;
}
