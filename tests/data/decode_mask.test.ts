import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import sharp from 'sharp';
import { describe, expect, it } from 'vitest';

import { data, FormatError } from '../../lib/index.js';
import { gray16Png, indexedPng, vocPalette } from '../helpers/indexed_png.js';

const dir = mkdtempSync(join(tmpdir(), 'neocog-masks-'));
const ids = Array.from({ length: 5 * 7 }, (_, p) => (p % 7 === 6 ? 255 : (p * 3) % 21));

describe('decodeMask', () => {
  it("reads an indexed PNG's palette indices (a VOC SegmentationClass mask, 255 borders included)", async () => {
    const path = join(dir, 'voc.png');
    writeFileSync(path, indexedPng(7, 5, ids, vocPalette()));
    expect(data.pngPalette(indexedPng(7, 5, ids, vocPalette()))!.slice(0, 3)).toEqual([0x000000, 0x800000, 0x008000]);
    const mask = await data.decodeMask(path);
    expect(mask.shape).toEqual([5, 7]);
    expect(Array.from(mask.data)).toEqual(ids);
  });

  it('reads 8- and 16-bit grayscale values as ids, and resizes by nearest neighbour', async () => {
    const gray = join(dir, 'gray.png');
    await sharp(Buffer.from(ids.map((v) => v % 200)), { raw: { width: 7, height: 5, channels: 1 } }).png().toFile(gray);
    expect(Array.from((await data.decodeMask(gray)).data)).toEqual(ids.map((v) => v % 200));
    const wide = join(dir, 'wide.png');
    const values = Uint16Array.from(ids, (v) => v * 200);
    writeFileSync(wide, gray16Png(7, 5, values, [0, 1, 2, 3, 4]));
    expect(Array.from((await data.decodeMask(wide)).data)).toEqual(Array.from(values));
    expect(Array.from((await data.decodeMask(wide, { size: [5, 14] })).data)).toEqual(Array.from(values).flatMap((v) => [v, v]));
    const doubled = await data.decodeMask(join(dir, 'voc.png'), { size: [10, 14] });
    expect(doubled.shape).toEqual([10, 14]);
    // Nearest neighbour: every id is one of the source's.
    expect(new Set(doubled.data)).toEqual(new Set(ids));
  });

  it('refuses a colour outside the palette or a repeated palette colour, and undecodable files, naming the file', async () => {
    const repeated = join(dir, 'repeated.png');
    writeFileSync(repeated, indexedPng(2, 1, [0, 1], [[1, 2, 3], [1, 2, 3]]));
    await expect(data.decodeMask(repeated)).rejects.toThrow(/repeated\.png: the colour #010203 at pixel \(0, 0\) appears more than once in its palette/);
    const broken = join(dir, 'broken.png');
    writeFileSync(broken, Buffer.from('\x89PNG\r\n\x1a\n not a png'));
    await expect(data.decodeMask(broken)).rejects.toThrow(FormatError);
    await expect(data.decodeMask(join(dir, 'absent.png'))).rejects.toThrow(/cannot read .*absent\.png/);
  });
});
