// A zip writer for tests of lib/io/zip.ts and lib/io/torch.ts: archives with the features a
// reader must handle (DEFLATED entries, padded local headers as torch.save writes, zip64
// records, a trailing comment) and with a pickle swapped for a mutant under a valid CRC-32,
// so that fuzzing reaches the unpickler rather than stopping at the checksum.
import { crc32, deflateRawSync } from 'node:zlib';

import { extractZipEntry, readZipDirectory } from '../../lib/io/zip.js';

/** One entry to write. */
export interface ZipInput {
  name: string;
  data: Uint8Array;
  /** 8 compresses it (DEFLATED); default 0 (STORED). */
  method?: 0 | 8;
}

/** How to write the archive. */
export interface ZipWriteOptions {
  /** Pads each local header's extra field so that data starts on a multiple of this (torch.save: 64). */
  align?: number;
  /** Writes sizes and offsets in zip64 extra fields and the zip64 end records. */
  zip64?: boolean;
  /** The end record's comment. */
  comment?: string;
}

/** A zip archive of `entries`. */
export function writeZip(entries: readonly ZipInput[], opts: ZipWriteOptions = {}): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const method = entry.method ?? 0;
    const stored = method === 8 ? deflateRawSync(entry.data) : Buffer.from(entry.data);
    const name = Buffer.from(entry.name);
    const wide = Buffer.alloc(opts.zip64 ? 28 : 0);
    if (opts.zip64) {
      wide.writeUInt16LE(0x0001, 0);
      wide.writeUInt16LE(24, 2);
      wide.writeBigUInt64LE(BigInt(entry.data.length), 4);
      wide.writeBigUInt64LE(BigInt(stored.length), 12);
      wide.writeBigUInt64LE(BigInt(offset), 20);
    }
    const headerEnd = offset + 30 + name.length;
    const pad = opts.align ? (opts.align - ((headerEnd + 4) % opts.align)) % opts.align : 0;
    const extra = opts.align ? Buffer.alloc(4 + pad) : Buffer.alloc(0);
    if (opts.align) {
      extra.writeUInt16LE(0x4246, 0); // 'FB', the id torch's writer uses for its padding
      extra.writeUInt16LE(pad, 2);
    }
    const crc = crc32(entry.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(opts.zip64 ? 45 : 20, 4);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(stored.length, 18);
    local.writeUInt32LE(entry.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(extra.length, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(opts.zip64 ? 45 : 20, 4);
    central.writeUInt16LE(opts.zip64 ? 45 : 20, 6);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(opts.zip64 ? 0xffffffff : stored.length, 20);
    central.writeUInt32LE(opts.zip64 ? 0xffffffff : entry.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt16LE(wide.length, 30);
    central.writeUInt32LE(opts.zip64 ? 0xffffffff : offset, 42);
    locals.push(local, name, extra, stored);
    centrals.push(central, name, wide);
    offset += local.length + name.length + extra.length + stored.length;
  }
  const directory = Buffer.concat(centrals);
  const tail: Buffer[] = [];
  if (opts.zip64) {
    const record = Buffer.alloc(56);
    record.writeUInt32LE(0x06064b50, 0);
    record.writeBigUInt64LE(44n, 4);
    record.writeBigUInt64LE(BigInt(entries.length), 24);
    record.writeBigUInt64LE(BigInt(entries.length), 32);
    record.writeBigUInt64LE(BigInt(directory.length), 40);
    record.writeBigUInt64LE(BigInt(offset), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(offset + directory.length), 8);
    locator.writeUInt32LE(1, 16);
    tail.push(record, locator);
  }
  const comment = Buffer.from(opts.comment ?? '');
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(opts.zip64 ? 0xffff : entries.length, 8);
  end.writeUInt16LE(opts.zip64 ? 0xffff : entries.length, 10);
  end.writeUInt32LE(opts.zip64 ? 0xffffffff : directory.length, 12);
  end.writeUInt32LE(opts.zip64 ? 0xffffffff : offset, 16);
  end.writeUInt16LE(comment.length, 20);
  return Buffer.concat([...locals, directory, ...tail, end, comment]);
}

/** Every entry of `archive`, in directory order, read with lib/io/zip.ts (tested on its own), for rewriting a fixture. */
export function zipEntries(archive: Uint8Array): ZipInput[] {
  const fail = (why: string): never => {
    throw new Error(`zipEntries: the archive ${why}`);
  };
  return [...readZipDirectory(archive, fail).values()].map((e) => ({ name: e.name, data: extractZipEntry(archive, e, fail) }));
}
