import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';

import { ArgumentError, data, FormatError, type Tensor } from '../../lib/index.js';

const root = mkdtempSync(join(tmpdir(), 'neocog-imagefolder-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** RGB bytes (HWC) of a `w` x `h` image whose pixel (y, x) is (10y + x, 100 + seed, 200 - x). */
function pixels(w: number, h: number, seed: number): Buffer {
  const out = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; ++y) for (let x = 0; x < w; ++x) out.set([10 * y + x, 100 + seed, 200 - x], (y * w + x) * 3);
  return out;
}

async function write(path: string, w: number, h: number, seed: number, format: 'png' | 'jpeg' | 'webp'): Promise<void> {
  mkdirSync(join(path, '..'), { recursive: true });
  await sharp(pixels(w, h, seed), { raw: { width: w, height: h, channels: 3 } })
    .toFormat(format)
    .toFile(path);
}

const cls = (name: string) => join(root, 'pets', name);

beforeAll(async () => {
  await write(join(cls('dog'), 'b.png'), 4, 3, 1, 'png');
  await write(join(cls('dog'), 'a.jpg'), 8, 8, 2, 'jpeg');
  await write(join(cls('cat'), 'z.PNG'), 4, 3, 3, 'png');
  await write(join(cls('cat'), 'nested', 'y.webp'), 5, 5, 4, 'webp');
  writeFileSync(join(cls('cat'), 'notes.txt'), 'not an image');
  writeFileSync(join(root, 'pets', 'README.txt'), 'ignored: not in a class folder');
  mkdirSync(join(root, 'pets', '.cache'));
  mkdirSync(join(root, 'broken', 'only'), { recursive: true });
  await write(join(root, 'broken', 'only', 'good.png'), 4, 4, 5, 'png');
  writeFileSync(join(root, 'broken', 'only', 'bad.png'), Buffer.from('\x89PNG\r\n\x1a\n definitely not the rest of a png'));
});

it('indexes classes (sorted subfolders) and samples as torchvision does', () => {
  const dataset = new data.ImageFolder(join(root, 'pets'));
  expect(dataset.classes).toEqual(['cat', 'dog']);
  expect(dataset.classToIdx).toEqual({ cat: 0, dog: 1 });
  expect(dataset.samples).toEqual([
    [join(cls('cat'), 'nested', 'y.webp'), 0],
    [join(cls('cat'), 'z.PNG'), 0],
    [join(cls('dog'), 'a.jpg'), 1],
    [join(cls('dog'), 'b.png'), 1],
  ]);
  expect(dataset.length).toBe(4);
  expect(new data.ImageFolder(join(root, 'pets'), { extensions: ['.png'] }).length).toBe(2);
});

it('decodes to float [C, H, W] in [0, 1]: RGB, grayscale, resized, transformed', async () => {
  const dataset = new data.ImageFolder(join(root, 'pets'));
  const [image, label] = await dataset.get(3); // dog/b.png, 4x3, lossless
  expect(label).toBe(1);
  expect(image.dtype).toBe('float32');
  expect(image.shape).toEqual([3, 3, 4]);
  const values = image.tolist() as number[][][];
  expect(values[0]![2]![1]).toBeCloseTo(21 / 255, 6);
  expect(values[1]![0]![0]).toBeCloseTo(101 / 255, 6);
  expect(values[2]![1]![3]).toBeCloseTo(197 / 255, 6);

  const gray = new data.ImageFolder(join(root, 'pets'), { channels: 1, size: [6, 2] });
  const [small] = await gray.get(2); // the JPEG
  expect(small.shape).toEqual([1, 6, 2]);
  const flat = Array.from(await small.data());
  expect(Math.min(...flat)).toBeGreaterThanOrEqual(0);
  expect(Math.max(...flat)).toBeLessThanOrEqual(1);

  const flipped = new data.ImageFolder(join(root, 'pets'), { transform: (t) => t.mul(-1) });
  expect(((await flipped.get(3))[0].tolist() as number[][][])[1]![0]![0]).toBeCloseTo(-101 / 255, 6);
});

it('batches through the DataLoader, the same in-process and on workers', async () => {
  const transform = { module: new URL('./image_transforms.fixture.ts', import.meta.url).href, exportName: 'scale', args: { factor: 2 } };
  const dataset = new data.ImageFolder(join(root, 'pets'), { size: [8, 8], transform });
  const run = async (numWorkers: number) => {
    const out = [];
    for await (const [x, y] of new data.DataLoader(dataset, { batchSize: 3, shuffle: true, seed: 2, numWorkers })) {
      expect(x!.shape[1]).toBe(3);
      out.push([await x!.data(), y!.tolist()]);
    }
    return out;
  };
  const inProcess = await run(0);
  expect(inProcess.map(([, y]) => y)).toHaveLength(2);
  expect(await run(2)).toEqual(inProcess);
});

it('a file that cannot be decoded is a FormatError naming it, in-process and from workers', async () => {
  const dataset = new data.ImageFolder(join(root, 'broken'));
  const bad = join(root, 'broken', 'only', 'bad.png');
  await expect(dataset.get(0)).rejects.toThrow(FormatError);
  await expect(dataset.get(0)).rejects.toThrow(bad);
  for (const numWorkers of [0, 1]) {
    const loop = (async () => {
      for await (const _ of new data.DataLoader(dataset, { batchSize: 2, numWorkers }));
    })();
    await expect(loop).rejects.toThrow(FormatError);
    await expect(loop).rejects.toThrow(`cannot decode ${bad}`);
  }
});

it('says what it expected when the folder is missing or a class is empty', () => {
  expect(() => new data.ImageFolder(join(root, 'absent'))).toThrow(ArgumentError);
  expect(() => new data.ImageFolder(join(root, 'absent'))).toThrow(/is not a folder \(expected root\/<class>\/<image>\)/);
  mkdirSync(join(root, 'empty', 'lonely'), { recursive: true });
  expect(() => new data.ImageFolder(join(root, 'empty'))).toThrow(/class folder .*lonely holds no/);
  expect(() => new data.ImageFolder(join(root, 'pets'), { channels: 2 as 3 })).toThrow(/channels 1 or 3/);
  expect(() => new data.ImageFolder(join(root, 'pets'), { size: [0, 4] })).toThrow(/size/);
  const withClosure = new data.ImageFolder(join(root, 'pets'), { transform: (t: Tensor) => t });
  expect(() => new data.DataLoader(withClosure, { numWorkers: 1 })).not.toThrow(); // checked when the epoch starts
});
