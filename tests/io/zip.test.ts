import { readFileSync } from 'node:fs';

import { expect, it } from 'vitest';

import { FormatError } from '../../lib/index.js';
import { extractZipEntry, readZipDirectory } from '../../lib/io/zip.js';
import { writeZip, type ZipInput } from '../helpers/zip_writer.js';

const fail = (why: string): never => {
  throw new FormatError(`test.zip ${why}`);
};
const read = (archive: Uint8Array) => new Map([...readZipDirectory(archive, fail)].map(([name, e]) => [name, Buffer.from(extractZipEntry(archive, e, fail)).toString()]));
const inputs: ZipInput[] = [
  { name: 'a/data.pkl', data: Buffer.from('pickle bytes') },
  { name: 'a/data/0', data: Buffer.from('x'.repeat(1000)), method: 8 },
  { name: 'a/empty', data: new Uint8Array(0) },
  { name: 'a/ünï', data: Buffer.from('named in UTF-8') },
];
const expected = new Map(inputs.map((e) => [e.name, Buffer.from(e.data).toString()]));

it('reads STORED and DEFLATED entries, padded local headers, zip64 records and a trailing comment', () => {
  expect(read(writeZip(inputs))).toEqual(expected);
  expect(read(writeZip(inputs, { align: 64 }))).toEqual(expected);
  expect(read(writeZip(inputs, { zip64: true, align: 64 }))).toEqual(expected);
  // A comment that itself holds an end-record signature: the real record is the one whose comment ends the file.
  expect(read(writeZip(inputs, { comment: 'PK\u0005\u0006 decoy' }))).toEqual(expected);
});

it('finds 64-byte aligned data in a torch.save archive and reads it in place', () => {
  const archive = readFileSync(new URL('../fixtures/torch/state_dict.pth', import.meta.url));
  const entries = readZipDirectory(archive, fail);
  expect([...entries.keys()]).toContain('state_dict/data.pkl');
  const storage = entries.get('state_dict/data/0')!;
  expect(storage.dataStart % 64).toBe(0);
  const data = extractZipEntry(archive, storage, fail);
  expect(data.buffer).toBe(archive.buffer); // STORED: a view, no copy
});

it('rejects what is not a zip, truncations, damaged directories, CRC mismatches and unknown methods with FormatError', () => {
  const good = writeZip(inputs, { align: 64 });
  expect(() => read(Buffer.from('not a zip at all, and long enough to search'))).toThrow(/test\.zip is not a zip archive/);
  expect(() => read(good.subarray(0, 10))).toThrow(/is truncated/);
  expect(() => read(good.subarray(0, good.length - 5))).toThrow(FormatError);
  const corrupt = Buffer.from(good);
  const stored = corrupt.indexOf('pickle bytes');
  corrupt[stored] = corrupt[stored]! ^ 1;
  expect(() => read(corrupt)).toThrow(/a\/data\.pkl whose CRC-32 does not match/);
  const method = Buffer.from(good);
  const central = method.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
  method.writeUInt16LE(12, central + 10); // bzip2
  expect(() => read(method)).toThrow(/compressed with method 12; only STORED \(0\) and DEFLATED \(8\)/);
  const pointer = Buffer.from(good);
  pointer.writeUInt32LE(good.length - 10, central + 42); // local header past the end
  expect(() => read(pointer)).toThrow(/is truncated: its local header of a\/data\.pkl/);
  const twice = writeZip([inputs[0]!, inputs[0]!]);
  expect(() => read(twice)).toThrow(/has entry a\/data\.pkl twice/);
  const inflated = Buffer.from(good);
  const second = inflated.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]), central + 1);
  inflated.writeUInt32LE(999, second + 24); // the deflated entry claims more bytes than it inflates to
  expect(() => read(inflated)).toThrow(/a\/data\/0 of 1000 bytes where the directory says 999|corrupt/);
});
