// readTiffVolume against stacks Pillow wrote (tests/fixtures/make_tiff_volume_fixtures.py),
// encodeTiffVolume round trips, and a seeded fuzz of truncated and corrupted files.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { ArgumentError, data, DTypeError, FormatError, ShapeError, tensor, zeros } from '../../lib/index.js';

interface Volume {
  dtype: 'uint8' | 'int32' | 'float32';
  shape: number[];
  data: number[];
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/tiff_volumes.json', import.meta.url), 'utf8')) as { compressions: string[]; volumes: Record<string, Volume & { bits?: number[] }> };
// Float pages come as float32 bit patterns (JSON has no NaN or infinities).
for (const volume of Object.values(fixture.volumes)) if (volume.bits) volume.data = Array.from(new Float32Array(Uint32Array.from(volume.bits).buffer));
const fixturePath = (file: string) => fileURLToPath(new URL(`../fixtures/tiff/${file}`, import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'neocog-tiff-'));

const cases = Object.entries(fixture.volumes).flatMap(([name, volume]) => fixture.compressions.map((compression) => [name, compression, volume] as const));

describe('readTiffVolume', () => {
  it('has fixtures for every kind of stack and compression', () => {
    expect(Object.keys(fixture.volumes).sort()).toEqual(['bits', 'float32', 'int32', 'rgb', 'uint16', 'uint8']);
    expect(fixture.compressions).toEqual(['none', 'lzw', 'deflate', 'packbits']);
  });

  it.each(cases)('reads %s pages (%s) exactly as Pillow wrote them', async (name, compression, volume) => {
    const read = await data.readTiffVolume(fixturePath(`${name}_${compression}.tif`));
    expect(read.dtype).toBe(volume.dtype);
    expect(read.shape).toEqual(volume.shape);
    if (name === 'float32') expect(volume.data.slice(0, 7)).toEqual([Number.NaN, Infinity, -Infinity, Math.fround(3.4e38), Math.fround(-1e-42), 0, -0]);
    const values = Array.from(await read.data());
    expect(values).toHaveLength(volume.data.length);
    // Object.is: -0 stays -0, and every bit pattern of a float page survives.
    values.forEach((v, i) => expect(Object.is(v, volume.data[i]), `value ${i}: ${v} vs ${volume.data[i]}`).toBe(true));
  });

  it('reads bytes as well as paths, a range of pages, and a single page as depth 1', async () => {
    const volume = fixture.volumes.uint16!;
    const bytes = readFileSync(fixturePath('uint16_lzw.tif'));
    const slice = await data.readTiffVolume(bytes, { page: 1, pages: 2 });
    expect(slice.shape).toEqual([2, 5, 7]);
    expect(Array.from(await slice.data())).toEqual(volume.data.slice(35, 105));
    expect(Array.from(await (await data.readTiffVolume(bytes, { page: 3 })).data())).toEqual(volume.data.slice(105));
    const single = await data.readTiffVolume(fixturePath('single.tif'));
    expect(single.shape).toEqual([1, 5, 7]);
    expect(Array.from(await single.data())).toEqual(fixture.volumes.uint8!.data.slice(0, 35));
  });

  it('refuses non-TIFFs, pages of different sizes, out-of-range pages and huge declared sizes', async () => {
    await expect(data.readTiffVolume(fixturePath('page.png'))).rejects.toThrow(/readTiffVolume: .*page\.png is a png image, expected a TIFF/);
    await expect(data.readTiffVolume(fixturePath('ragged.tif'))).rejects.toThrow(FormatError);
    await expect(data.readTiffVolume(fixturePath('ragged.tif'))).rejects.toThrow(/ragged\.tif/);
    await expect(data.readTiffVolume(join(dir, 'missing.tif'))).rejects.toThrow(/cannot read .*missing\.tif/);
    await expect(data.readTiffVolume(fixturePath('uint8_none.tif'), { page: 4 })).rejects.toThrow(/page 4 is out of range: .* has 4 pages/);
    await expect(data.readTiffVolume(fixturePath('uint8_none.tif'), { page: 1, pages: 4 })).rejects.toThrow(ArgumentError);
    await expect(data.readTiffVolume(fixturePath('uint8_none.tif'), { limitInputPixels: 139 })).rejects.toThrow(/declares 4 pages of 7×5 pixels, more than limitInputPixels \(139\)/);
    await expect(data.readTiffVolume(fixturePath('uint8_none.tif'), { limitInputPixels: 140 })).resolves.toBeDefined();
    await expect(data.readTiffVolume(42 as never)).rejects.toThrow(/expected a file path or a Uint8Array/);
  });

  it('fails every truncated or corrupted file with a FormatError naming it, never a crash or a hang (400 seeded mutants)', async () => {
    const random = data.seededRandom(2014);
    const sources = ['uint16_lzw.tif', 'uint8_none.tif', 'float32_deflate.tif', 'rgb_packbits.tif'].map((file) => readFileSync(fixturePath(file)));
    let failed = 0;
    let read = 0;
    for (let m = 0; m < 400; ++m) {
      const source = sources[m % sources.length]!;
      let mutant: Buffer;
      if (m % 3 === 0) {
        mutant = source.subarray(0, Math.floor(random() * source.length));
      } else {
        mutant = Buffer.from(source);
        // Mostly the header and directories (the first and last bytes), where a flip changes the structure.
        const flips = 1 + Math.floor(random() * 4);
        for (let f = 0; f < flips; ++f) {
          const at = random() < 0.5 ? Math.floor(random() * Math.min(64, mutant.length)) : Math.floor(random() * mutant.length);
          mutant[at] = mutant[at]! ^ (1 << Math.floor(random() * 8));
        }
      }
      try {
        const volume = await data.readTiffVolume(mutant);
        // A flip in pixel data decodes to other values: still a well-formed volume.
        expect(volume.shape.length === 3 || volume.shape.length === 4).toBe(true);
        expect(volume.shape.every((s) => Number.isInteger(s) && s > 0)).toBe(true);
        ++read;
        volume.dispose();
      } catch (error) {
        expect(error, `mutant ${m}: ${String(error)}`).toBeInstanceOf(FormatError);
        expect((error as Error).message).toContain(`readTiffVolume: `);
        expect((error as Error).message).toContain(`a buffer of ${mutant.length} bytes`);
        ++failed;
      }
    }
    expect(failed).toBeGreaterThan(100); // every truncation at least, and many flips
    expect(failed + read).toBe(400);
    // Named by path when read from a file.
    const truncated = join(dir, 'truncated.tif');
    writeFileSync(truncated, sources[0]!.subarray(0, 100));
    await expect(data.readTiffVolume(truncated)).rejects.toThrow(new RegExp(`readTiffVolume: cannot decode ${truncated.replace(/[.]/g, '\\.')}`));
  }, 120_000);
});

describe('encodeTiffVolume / writeTiffVolume', () => {
  const u8 = fixture.volumes.uint8!;
  const u16 = fixture.volumes.uint16!;
  const rgb = fixture.volumes.rgb!;

  it.each(['none', 'lzw', 'deflate'] as const)('round-trips uint8, 16-bit and RGB volumes exactly (%s)', async (compression) => {
    for (const volume of [u8, u16, rgb]) {
      const values = volume.dtype === 'uint8' ? Uint8Array.from(volume.data) : Int32Array.from(volume.data);
      const encoded = await data.encodeTiffVolume(tensor(values, { shape: volume.shape }), { compression });
      const back = await data.readTiffVolume(encoded);
      expect(back.dtype).toBe(volume.dtype);
      expect(back.shape).toEqual(volume.shape);
      expect(Array.from(await back.data())).toEqual(volume.data);
    }
    // The full 16-bit range, RGB included.
    const wide = tensor(Int32Array.from({ length: 2 * 3 * 4 * 5 }, (_, i) => (i * 11_113) % 65536), { shape: [2, 3, 4, 5] });
    expect(Array.from(await (await data.readTiffVolume(await data.encodeTiffVolume(wide, { compression }))).data())).toEqual(Array.from(await wide.data()));
  });

  it('writes a file atomically that reads back, and a [D, 1, H, W] volume as [D, H, W]', async () => {
    const path = join(dir, 'labels.tif');
    await data.writeTiffVolume(tensor(Uint8Array.from(u8.data), { shape: [4, 1, 5, 7] }), path);
    const back = await data.readTiffVolume(path);
    expect(back.shape).toEqual([4, 5, 7]);
    expect(Array.from(await back.data())).toEqual(u8.data);
  });

  it('refuses float32 volumes, values beyond 16 bits and bad shapes with typed errors', async () => {
    await expect(data.encodeTiffVolume(zeros([2, 3, 4]))).rejects.toThrow(DTypeError);
    await expect(data.encodeTiffVolume(zeros([2, 3, 4]))).rejects.toThrow(/sharp writes raw float pages as 8-bit/);
    await expect(data.encodeTiffVolume(tensor(Int32Array.from([0, 65536]), { shape: [1, 1, 2] }))).rejects.toThrow(/values must be in 0\.\.65535, got 65536 at \[0, 0, 1\]/);
    await expect(data.encodeTiffVolume(tensor(Int32Array.from([-1, 0]), { shape: [1, 1, 2] }))).rejects.toThrow(ArgumentError);
    await expect(data.encodeTiffVolume(zeros([2, 2, 3, 4], { dtype: 'uint8' }))).rejects.toThrow(ShapeError);
    await expect(data.encodeTiffVolume(zeros([3, 4], { dtype: 'uint8' }))).rejects.toThrow(ShapeError);
    await expect(data.encodeTiffVolume(zeros([1, 3, 4], { dtype: 'uint8' }), { compression: 'jpeg' as never })).rejects.toThrow(/compression/);
    await expect(data.writeTiffVolume(zeros([2, 3, 4]), join(dir, 'float.tif'))).rejects.toThrow(/writeTiffVolume: expected volume of dtype uint8 or int32/);
  });
});
