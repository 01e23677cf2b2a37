import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';

import { ArgumentError, data, flip, IndexError, ShapeError } from '../../lib/index.js';
import { indexedPng, vocPalette } from '../helpers/indexed_png.js';

const root = mkdtempSync(join(tmpdir(), 'neocog-segfolder-'));
const [H, W] = [6, 8];
const maskIds = (seed: number) => Array.from({ length: H * W }, (_, p) => (p + seed) % 3);

async function writePair(dir: string, name: string, seed: number, ids = maskIds(seed), size: [number, number] = [H, W]): Promise<void> {
  mkdirSync(join(dir, 'images'), { recursive: true });
  mkdirSync(join(dir, 'masks'), { recursive: true });
  const pixels = Buffer.from(Array.from({ length: size[0] * size[1] * 3 }, (_, i) => (i * 7 + seed * 31) % 256));
  await sharp(pixels, { raw: { width: size[1], height: size[0], channels: 3 } }).png().toFile(join(dir, 'images', `${name}.png`));
  writeFileSync(join(dir, 'masks', `${name}.png`), indexedPng(W, H, ids, vocPalette()));
}

beforeAll(async () => {
  await writePair(join(root, 'ok'), 'a', 1);
  await writePair(join(root, 'ok'), 'b', 2);
  await writePair(join(root, 'ok'), 'c', 3);
});

describe('SegmentationFolder', () => {
  it('pairs images and masks by name and gives [image, mask] tensors', async () => {
    const set = new data.SegmentationFolder(join(root, 'ok'), { numClasses: 3 });
    expect(set.length).toBe(3);
    expect(set.pairs.map(([i, m]) => [i.split('/').at(-1), m.split('/').slice(-2).join('/')])).toEqual([['a.png', 'masks/a.png'], ['b.png', 'masks/b.png'], ['c.png', 'masks/c.png']]);
    const [image, mask] = await set.get(1);
    expect(image.shape).toEqual([3, H, W]);
    expect(image.dtype).toBe('float32');
    expect(mask.shape).toEqual([H, W]);
    expect(mask.dtype).toBe('int32');
    expect(Array.from(mask.dataSync())).toEqual(maskIds(2));
  });

  it('batches through DataLoader workers, resized, with a ModuleRef-free pipeline', async () => {
    const set = new data.SegmentationFolder(join(root, 'ok'), { size: [4, 4] });
    const loader = new data.DataLoader(set, { batchSize: 3, numWorkers: 1 });
    const batches = [];
    for await (const [images, masks] of loader) batches.push([images.shape, masks.shape, masks.dtype]);
    expect(batches).toEqual([[[3, 3, 4, 4], [3, 4, 4], 'int32']]);
  });

  it('applies transforms to the image and mask together', async () => {
    const set = new data.SegmentationFolder(join(root, 'ok'), { transforms: (image, mask) => [flip(image, [2]), flip(mask, [1])] });
    const [, mask] = await set.get(0);
    const want = maskIds(1);
    expect(Array.from(mask.dataSync())).toEqual(Array.from({ length: H * W }, (_, p) => want[Math.floor(p / W) * W + (W - 1 - (p % W))]));
  });

  it('names the file for a size mismatch, an id past numClasses, and unpaired files', async () => {
    await writePair(join(root, 'bad'), 'wrong_size', 1, maskIds(1), [H + 2, W]);
    await writePair(join(root, 'bad'), 'class9', 1, maskIds(1).map((v, p) => (p === 9 ? 9 : v)));
    await writePair(join(root, 'bad'), 'border', 1, maskIds(1).map((v, p) => (p < W ? 255 : v)));
    const set = new data.SegmentationFolder(join(root, 'bad'), { numClasses: 3 });
    const index = (name: string) => set.pairs.findIndex(([image]) => image.endsWith(`${name}.png`));
    await expect(set.get(index('wrong_size'))).rejects.toThrow(ShapeError);
    await expect(set.get(index('wrong_size'))).rejects.toThrow(/mask .*wrong_size\.png is 6×8 but image .*wrong_size\.png is 8×8/);
    await expect(set.get(index('class9'))).rejects.toThrow(IndexError);
    await expect(set.get(index('class9'))).rejects.toThrow(/mask .*class9\.png has class id 9 at pixel \(1, 1\), but numClasses is 3/);
    // VOC's 255 border is the ignore index, not a class.
    await expect(set.get(index('border'))).resolves.toHaveLength(2);
    writeFileSync(join(root, 'bad', 'images', 'lonely.png'), '');
    expect(() => new data.SegmentationFolder(join(root, 'bad'))).toThrow(/image .*lonely\.png has no mask/);
    expect(() => new data.SegmentationFolder(join(root, 'absent'))).toThrow(ArgumentError);
    expect(() => new data.SegmentationFolder(join(root, 'ok'), { size: [0, 4] })).toThrow(/expected size \[H, W\] of positive integers/);
  });
});
