// lib/data/coco.ts: CocoDetection over the fixture instances file (tests/fixtures/coco/,
// made by make_coco_fixtures.py with pycocotools' masks), its checks and its workers.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ArgumentError, data, FormatError, type Tensor } from '../../lib/index.js';
import { countsOf } from '../helpers/mask_runs.js';

const annFile = new URL('../fixtures/coco/instances.json', import.meta.url).pathname;
const instances = JSON.parse(readFileSync(annFile, 'utf8')) as {
  images: Array<{ id: number; file_name: string; width: number; height: number }>;
  annotations: Array<Record<string, unknown>>;
  categories: unknown[];
};
const pycocotools = (JSON.parse(readFileSync(new URL('../fixtures/coco_masks.json', import.meta.url), 'utf8')) as { annotations: Record<string, number[]> })
  .annotations;

const root = mkdtempSync(join(tmpdir(), 'neocog-coco-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** RGB value of pixel (y, x) of image `id`. */
const pixel = (id: number, y: number, x: number): [number, number, number] => [(7 * y + x) % 256, id, 255 - x];

beforeAll(async () => {
  for (const { id, file_name: file, width, height } of instances.images) {
    const bytes = Buffer.alloc(width * height * 3);
    for (let y = 0; y < height; ++y) for (let x = 0; x < width; ++x) bytes.set(pixel(id, y, x), (y * width + x) * 3);
    await sharp(bytes, { raw: { width, height, channels: 3 } }).png().toFile(join(root, file));
  }
});

/** Writes a variant of the fixture's instances file and returns its path. */
function variant(name: string, edit: (json: typeof instances) => unknown): string {
  const path = join(root, `${name}.json`);
  writeFileSync(path, JSON.stringify(edit(structuredClone(instances))));
  return path;
}

const rows = (t: Tensor) => t.tolist() as number[][];

describe('CocoDetection', () => {
  it('indexes images by increasing id and converts boxes to xyxy clipped to the image', async () => {
    const dataset = new data.CocoDetection(root, annFile);
    expect(dataset.length).toBe(3);
    expect(dataset.ids).toEqual([3, 7, 9]);
    expect(dataset.categories.map((c) => c.id)).toEqual([1, 5, 90]);

    const [image, target] = await dataset.get(1); // id 7, 24x16
    expect(image.dtype).toBe('float32');
    expect(image.shape).toEqual([3, 16, 24]);
    const values = image.tolist() as number[][][];
    expect(values[0]![5]![3]).toBeCloseTo(pixel(7, 5, 3)[0] / 255, 6);
    expect(values[1]![2]![9]).toBeCloseTo(7 / 255, 6);
    expect(values[2]![0]![20]).toBeCloseTo(235 / 255, 6);

    expect(target.imageId).toBe(7);
    expect(target.boxes.dtype).toBe('float32');
    // 102 runs to x = 27 in a 24-wide image: clipped; 104 (zero width) is dropped.
    expect(rows(target.boxes)).toEqual([
      [2, 1.5, 11.5, 11.5],
      [13, 6, 24, 15],
      [15, 1, 23, 5],
    ]);
    expect(target.labels.dtype).toBe('int32');
    expect(target.labels.tolist()).toEqual([1, 5, 90]);
    expect(target.area.tolist()).toEqual([55, 60.5, 32]);
    expect(target.iscrowd.dtype).toBe('uint8');
    expect(target.iscrowd.tolist()).toEqual([0, 0, 1]);
    expect(target.masks).toBeUndefined();

    const [, first] = await dataset.get(0); // id 3: 203 starts at x = -1
    expect(rows(first.boxes)[1]![0]).toBe(0);
    expect(rows(first.boxes)[1]![3]).toBeCloseTo(19.3, 5);
    const [, empty] = await dataset.get(2);
    expect(empty.boxes.shape).toEqual([0, 4]);
    expect(empty.labels.shape).toEqual([0]);
  });

  it('counts what it drops: degenerate boxes (and crowds with dropCrowd), with index, id, image and reason', () => {
    const dataset = new data.CocoDetection(root, annFile);
    expect(dataset.dropped).toEqual([
      { index: 3, id: 104, imageId: 7, reason: 'degenerate box' }, // zero width
      { index: 5, id: 202, imageId: 3, reason: 'degenerate box' }, // wholly right of the image
    ]);
    const noCrowd = new data.CocoDetection(root, annFile, { dropCrowd: true });
    expect(noCrowd.dropped.map((d) => [d.id, d.reason])).toEqual([
      [103, 'crowd'],
      [104, 'degenerate box'],
      [202, 'degenerate box'],
    ]);
  });

  it('drops inverted boxes and boxes wholly outside the image on any side, counting each', () => {
    const path = variant('outside', (j) => {
      j.annotations = [
        { id: 1, image_id: 9, category_id: 1, bbox: [2, 1, -1, 3], area: 1 }, // negative width
        { id: 2, image_id: 9, category_id: 1, bbox: [2, 1, 3, -2], area: 1 }, // negative height
        { id: 3, image_id: 9, category_id: 1, bbox: [-5, 1, 4, 3], area: 1 }, // left of the 8x6 image
        { id: 4, image_id: 9, category_id: 1, bbox: [1, 6, 2, 2], area: 1 }, // below it
        { id: 5, image_id: 9, category_id: 5, bbox: [-2, -2, 20, 20], area: 1 }, // over every edge: clipped
      ];
      return j;
    });
    const dataset = new data.CocoDetection(root, path);
    expect(dataset.dropped.map((d) => [d.index, d.id, d.imageId, d.reason])).toEqual([1, 2, 3, 4].map((id) => [id - 1, id, 9, 'degenerate box']));
    expect(dataset.index.images.find((image) => image.id === 9)!.objects.map((o) => [o.box, o.label])).toEqual([[[0, 0, 8, 6], 5]]);
  });

  it("gives masks [K, H, W] equal to pycocotools' (polygons, multi-part, RLE, compressed RLE), for kept annotations only", async () => {
    const dataset = new data.CocoDetection(root, annFile, { masks: true });
    const expected: Record<number, number[]> = { 0: [201, 203], 1: [101, 102, 103], 2: [] };
    for (const [item, ids] of Object.entries(expected)) {
      const [image, target] = await dataset.get(Number(item));
      const [, h, w] = image.shape as [number, number, number];
      const masks = target.masks!;
      expect(masks.dtype).toBe('uint8');
      expect(masks.shape).toEqual([ids.length, h, w]);
      const planes = await masks.data();
      ids.forEach((id, k) => expect(countsOf(planes.subarray(k * h * w, (k + 1) * h * w), h, w), `annotation ${id}`).toEqual(pycocotools[String(id)]));
    }
  });

  it('applies transforms to (image, target), and batches the same in-process and on 2 workers', async () => {
    const shifted = new data.CocoDetection(root, annFile, { transforms: (image, target) => [image.mul(2), { ...target, imageId: -target.imageId }] });
    const [image, target] = await shifted.get(0);
    expect(target.imageId).toBe(-3);
    expect(Math.max(...(await image.data()))).toBeGreaterThan(1);

    const transforms = { module: new URL('./image_transforms.fixture.ts', import.meta.url).href, exportName: 'shiftBoxes', args: { factor: 2, shift: 1 } };
    const dataset = new data.CocoDetection(root, annFile, { transforms, masks: true });
    const run = async (numWorkers: number) => {
      const out = [];
      const loader = new data.DataLoader(dataset, { batchSize: 2, shuffle: true, seed: 4, numWorkers, collate: data.detectionCollate });
      for await (const [images, targets] of loader) {
        expect(images).toHaveLength(targets.length);
        for (const [i, t] of targets.entries()) {
          expect(t.boxes.dtype).toBe('float32');
          expect(t.iscrowd.dtype).toBe('uint8');
          expect(t.masks!.dtype).toBe('uint8');
          out.push([t.imageId, images[i]!.shape, await images[i]!.data(), rows(t.boxes), t.labels.tolist(), t.area.tolist(), t.iscrowd.tolist(), await t.masks!.data()]);
        }
      }
      return out;
    };
    const inProcess = await run(0);
    expect(inProcess.map(([id]) => id).sort()).toEqual([3, 7, 9]);
    const item7 = inProcess.find(([id]) => id === 7)!;
    expect((item7[3] as number[][])[0]).toEqual([3, 1.5, 12.5, 11.5]); // shifted by the transforms
    expect(await run(2)).toEqual(inProcess);
  });

  it('rejects malformed files with a FormatError naming the file and the record', () => {
    const cases: Array<[string, (json: typeof instances) => unknown, RegExp]> = [
      ['not-object', () => [1, 2], /expected a JSON object with images, annotations and categories/],
      ['no-images', (j) => ({ ...j, images: undefined }), /expected "images" to be an array/],
      ['bad-image', (j) => (j.images[1]!.width = 0, j), /images\[1\] \(id 3\): expected width to be a positive integer, got 0/],
      ['no-file', (j) => ({ ...j, images: [{ id: 1, width: 2, height: 2 }] }), /images\[0\] \(id 1\): expected file_name/],
      ['twice', (j) => (j.images[2]!.id = 7, j), /images\[2\]: image id 7 appears twice/],
      ['unknown-image', (j) => (j.annotations[4]!.image_id = 42, j), /annotations\[4\] \(id 201\): expected image_id among the file's images, got 42/],
      ['unknown-category', (j) => (j.annotations[2]!.category_id = 2, j), /annotations\[2\] \(id 103\): expected category_id among the 3 categories, got 2/],
      ['no-bbox', (j) => (delete j.annotations[0]!.bbox, j), /annotations\[0\] \(id 101\): expected bbox \[x, y, w, h\]/],
      ['nan-bbox', (j) => (j.annotations[0]!.bbox = [1, 2, 'x', 4], j), /annotations\[0\] \(id 101\): expected bbox/],
      ['no-area', (j) => (delete j.annotations[1]!.area, j), /annotations\[1\] \(id 102\): expected area/],
      ['crowd-2', (j) => (j.annotations[1]!.iscrowd = 2, j), /annotations\[1\] \(id 102\): expected iscrowd 0 or 1, got 2/],
      ['no-id', (j) => (delete j.annotations[6]!.id, j), /annotations\[6\] \(id undefined\): expected an integer id/],
    ];
    for (const [name, edit, message] of cases) {
      const path = variant(name, edit);
      expect(() => new data.CocoDetection(root, path), name).toThrow(FormatError);
      expect(() => new data.CocoDetection(root, path), name).toThrow(message);
      expect(() => new data.CocoDetection(root, path), name).toThrow(path);
    }
    const truncated = join(root, 'truncated.json');
    writeFileSync(truncated, readFileSync(annFile, 'utf8').slice(0, 300));
    expect(() => new data.CocoDetection(root, truncated)).toThrow(FormatError);
    expect(() => new data.CocoDetection(root, truncated)).toThrow(`CocoDetection: ${truncated}: expected JSON, got a parse error`);
    expect(() => new data.CocoDetection(root, join(root, 'absent.json'))).toThrow(ArgumentError);
  });

  it('takes a filtered index from readCocoAnnotations, with the masks it was read with', async () => {
    const index = data.readCocoAnnotations(annFile, { masks: true });
    const withBoxes = { ...index, images: index.images.filter((image) => image.objects.length > 0) };
    const dataset = new data.CocoDetection(root, withBoxes);
    expect(dataset.ids).toEqual([3, 7]);
    expect((await dataset.get(1))[1].masks!.shape).toEqual([3, 16, 24]);
    expect(() => new data.CocoDetection(root, data.readCocoAnnotations(annFile), { masks: true })).toThrow(ArgumentError);
    expect(() => new data.CocoDetection(root, data.readCocoAnnotations(annFile), { masks: true })).toThrow(/masks: true needs an index read with masks/);
  });

  it('checks segmentations only when masks are asked for', () => {
    const path = variant('bad-polygon', (j) => ((j.annotations[0]!.segmentation = [[1, 2, 3, 4, 5]]), j));
    expect(() => new data.CocoDetection(root, path)).not.toThrow();
    expect(() => new data.CocoDetection(root, path, { masks: true })).toThrow(/annotations\[0\] \(id 101\): segmentation: expected polygon 0/);
    const rle = variant('bad-rle', (j) => ((j.annotations[2]!.segmentation = { size: [16, 24], counts: [5, 5] }), j));
    expect(() => new data.CocoDetection(root, rle, { masks: true })).toThrow(FormatError);
    expect(() => new data.CocoDetection(root, rle, { masks: true })).toThrow(/annotations\[2\] \(id 103\): segmentation: expected RLE counts to cover 384 pixels, got 10/);
  });

  it('an image whose size differs from the file, or that cannot be decoded, is a FormatError naming it', async () => {
    const other = join(root, 'other');
    mkdirSync(other);
    copyFileSync(join(root, 'b.png'), join(other, 'a.png')); // 20x20 where 24x16 is expected
    writeFileSync(join(other, 'b.png'), 'not a png');
    const dataset = new data.CocoDetection(other, annFile);
    await expect(dataset.get(1)).rejects.toThrow(FormatError);
    await expect(dataset.get(1)).rejects.toThrow(`CocoDetection: ${join(other, 'a.png')} is 20x20, but ${annFile} gives image id 7 as 24x16`);
    await expect(dataset.get(0)).rejects.toThrow(`cannot decode ${join(other, 'b.png')}`);
    await expect(dataset.get(3)).rejects.toThrow(/index 3 is out of range for 3 images/);
  });

  it('needs a ModuleRef for transforms on workers', async () => {
    const dataset = new data.CocoDetection(root, annFile, { transforms: (image, target) => [image, target] });
    const loop = (async () => {
      for await (const _ of new data.DataLoader(dataset, { numWorkers: 1, collate: data.detectionCollate }));
    })();
    await expect(loop).rejects.toThrow(/CocoDetection: transforms given as a function cannot run in DataLoader workers/);
  });
});
