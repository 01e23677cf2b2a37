// lib/data/detection_augment.ts: SSD's randomIoUCrop, randomZoomOut and (paired)
// randomPhotometricDistort: invariants over many seeded draws, exact pixel placement,
// boxes/labels/masks kept in step, and the option checks.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';

import * as P from '../../lib/data/paired_transforms.js';
import * as T from '../../lib/data/transforms.js';
import { arange, ArgumentError, data, DTypeError, manualSeed, ShapeError, tensor, zeros, type Tensor } from '../../lib/index.js';

const H = 30;
const W = 40;
const BOXES = [
  [2, 3, 12, 10],
  [20, 5, 38, 28],
  [8, 15, 18, 29],
  [30, 1, 33, 4],
];

/** A one-channel image whose pixel (y, x) reads y * W + x (so a crop shows where it came from), 4 boxes, labels 10..13 and one mask per box. */
function sample(h = H, w = W) {
  const masks = new Uint8Array(BOXES.length * h * w);
  BOXES.forEach(([x1, y1, x2, y2], k) => {
    for (let y = y1!; y < y2!; ++y) for (let x = x1!; x < x2!; ++x) masks[k * h * w + y * w + x] = k + 1;
  });
  return {
    image: arange(0, h * w, 1, { dtype: 'float32' }).reshape(1, h, w) as Tensor<'float32'>,
    boxes: tensor(BOXES, { dtype: 'float32' }),
    labels: tensor([10, 11, 12, 13], { dtype: 'int32' }),
    mask: tensor(masks).reshape(BOXES.length, h, w),
  };
}

const iou = (b: readonly number[], c: readonly number[]) => {
  const iw = Math.max(0, Math.min(b[2]!, c[2]!) - Math.max(b[0]!, c[0]!));
  const ih = Math.max(0, Math.min(b[3]!, c[3]!) - Math.max(b[1]!, c[1]!));
  return (iw * ih) / ((b[2]! - b[0]!) * (b[3]! - b[1]!) + (c[2]! - c[0]!) * (c[3]! - c[1]!) - iw * ih);
};

describe('randomIoUCrop', () => {
  it('keeps the boxes whose centres lie in the crop, shifted and clipped, with their labels and masks; one meets the IoU', () => {
    const s = sample();
    let cropped = 0;
    for (const minIoU of [0, 0.3, 0.5]) {
      const crop = P.randomIoUCrop({ samplerOptions: [minIoU] });
      manualSeed(40);
      for (let draw = 0; draw < 15; ++draw) {
        const out = crop(s);
        const [, h, w] = out.image.shape as [number, number, number];
        // The crop's top-left pixel tells where it was taken; the whole window must match.
        const origin = out.image.dataSync()[0]!;
        const [top, left] = [Math.floor(origin / W), origin % W];
        expect(out.image.tolist()).toEqual(s.image.slice(1, top, top + h).slice(2, left, left + w).tolist());
        expect(h * w).toBeLessThan(H * W + 1);
        expect(Math.min(h / H, w / W)).toBeGreaterThanOrEqual(0.3 - 1 / H);
        expect(w / h).toBeGreaterThanOrEqual(0.5);
        expect(w / h).toBeLessThanOrEqual(2);
        const window = [left, top, left + w, top + h];
        const kept = BOXES.map((b, k) => [b, k] as const).filter(([b]) => {
          const [cx, cy] = [(b[0]! + b[2]!) / 2, (b[1]! + b[3]!) / 2];
          return left < cx && cx < left + w && top < cy && cy < top + h;
        });
        expect(kept.length).toBeGreaterThan(0);
        expect(Math.max(...kept.map(([b]) => iou(b, window)))).toBeGreaterThanOrEqual(minIoU);
        const clip = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
        expect(out.boxes.tolist()).toEqual(kept.map(([b]) => [clip(b[0]! - left, w), clip(b[1]! - top, h), clip(b[2]! - left, w), clip(b[3]! - top, h)]));
        expect(out.labels.tolist()).toEqual(kept.map(([, k]) => 10 + k));
        expect(out.mask.shape).toEqual([kept.length, h, w]);
        // Plane i is the cropped mask of the i-th kept box.
        kept.forEach(([, k], i) => expect(out.mask.slice(0, i, i + 1).tolist()).toEqual(s.mask.slice(0, k, k + 1).slice(1, top, top + h).slice(2, left, left + w).tolist()));
        if (h !== H || w !== W) cropped += 1;
      }
    }
    expect(cropped).toBeGreaterThan(30);
  });

  it('an option of 1 keeps the sample; no boxes keeps it; a dense mask [H, W] is only cropped', () => {
    const s = sample();
    manualSeed(41);
    expect(P.randomIoUCrop({ samplerOptions: [1] })(s)).toBe(s);
    const bare = { image: s.image, boxes: zeros([0, 4]), labels: tensor([], { dtype: 'int32' }) };
    expect(P.randomIoUCrop({ samplerOptions: [0] })(bare)).toBe(bare);
    expect(P.randomIoUCrop()({ image: s.image })).toEqual({ image: s.image });
    const dense = { image: s.image, boxes: s.boxes, mask: s.image.squeeze(0).to('int32') };
    manualSeed(42);
    const out = P.randomIoUCrop({ samplerOptions: [0], minScale: 0.5, maxScale: 0.5 })(dense);
    expect(out.image.shape).toEqual([1, 15, 20]);
    expect(out.mask.to('float32').tolist()).toEqual(out.image.squeeze(0).tolist());
  });

  it('is deterministic under manualSeed', () => {
    const s = sample();
    const crop = P.randomIoUCrop();
    const run = () => {
      manualSeed(43);
      return Array.from({ length: 6 }, () => {
        const out = crop(s);
        return [out.image.shape, out.boxes.tolist(), out.labels.tolist()];
      });
    };
    const first = run();
    expect(run()).toEqual(first);
    expect(new Set(first.map((x) => JSON.stringify(x))).size).toBeGreaterThan(1);
  });

  it('gives up after its bounded rounds when no crop can meet the IoU, leaving the sample as it is', () => {
    // One 1x1 box: no crop of at least 30% of each side reaches IoU 0.9 with it.
    const s = { image: zeros([1, 20, 20]), boxes: tensor([[5, 5, 6, 6]], { dtype: 'float32' }) };
    expect(P.randomIoUCrop({ samplerOptions: [0.9], trials: 2 })(s)).toBe(s);
  });

  it('rejects bad options and samples, naming the option', () => {
    const s = sample();
    const cases: Array<[() => unknown, RegExp]> = [
      [() => P.randomIoUCrop({ minScale: 0 }), /randomIoUCrop: expected minScale > 0, got 0/],
      [() => P.randomIoUCrop({ minScale: 1.5 }), /randomIoUCrop: expected minScale in \[0, 1\], got 1.5/],
      [() => P.randomIoUCrop({ minScale: 0.6, maxScale: 0.5 }), /randomIoUCrop: expected maxScale in \[0.6, 1\], got 0.5/],
      [() => P.randomIoUCrop({ minAspectRatio: -1 }), /randomIoUCrop: expected minAspectRatio > 0, got -1/],
      [() => P.randomIoUCrop({ minAspectRatio: 2, maxAspectRatio: 1 }), /randomIoUCrop: expected maxAspectRatio in \[2, Infinity\], got 1/],
      [() => P.randomIoUCrop({ samplerOptions: [] }), /randomIoUCrop: expected samplerOptions to be a non-empty list/],
      [() => P.randomIoUCrop({ samplerOptions: [0.5, Number.NaN] }), /expected samplerOptions/],
      [() => P.randomIoUCrop({ trials: 0 }), /randomIoUCrop: expected trials to be an integer >= 1, got 0/],
    ];
    for (const [make, message] of cases) {
      expect(make).toThrow(ArgumentError);
      expect(make).toThrow(message);
    }
    const crop = P.randomIoUCrop();
    expect(() => crop({ ...s, image: s.image.unsqueeze(0) })).toThrow(ShapeError);
    expect(() => crop({ ...s, image: s.image.unsqueeze(0) })).toThrow(/randomIoUCrop: expected an unbatched image \[C, H, W\]/);
    expect(() => crop({ ...s, labels: tensor([1, 2], { dtype: 'int32' }) })).toThrow(/randomIoUCrop: expected labels \[4\] \(one per box\), got \[2\]/);
    expect(() => crop({ ...s, mask: zeros([3, H, W]) })).toThrow(/randomIoUCrop: expected mask \[30, 40\] or one per box \[4, 30, 40\], got \[3, 30, 40\]/);
    expect(() => crop({ ...s, boxes: tensor([[0, 0, 1, 1]]) })).toThrow(DTypeError);
    expect(() => crop({ ...s, boxes: zeros([4, 5]) })).toThrow(/expected boxes of shape \[K, 4\]/);
    expect(() => crop(s.image as never)).toThrow(/randomIoUCrop: expected a sample/);
  });
});

describe('randomZoomOut', () => {
  it('places the image on a canvas of the fill, boxes moved with it, the mask padded with maskFill', () => {
    const rgb = { image: arange(0, 3 * 4 * 5, 1, { dtype: 'float32' }).reshape(3, 4, 5).add(100), boxes: tensor([[1, 1, 3, 4]], { dtype: 'float32' }), labels: tensor([7]), mask: zeros([4, 5], { dtype: 'int32' }).add(1) };
    const zoom = P.randomZoomOut({ fill: [0.25, 0.5, 0.75], sideRange: [1.5, 3], p: 1, maskFill: 9 });
    const sizes = new Set<string>();
    manualSeed(44);
    for (let draw = 0; draw < 10; ++draw) {
      const out = zoom(rgb);
      const [c, h, w] = out.image.shape as [number, number, number];
      expect(c).toBe(3);
      expect(h).toBeGreaterThanOrEqual(6);
      expect(h).toBeLessThanOrEqual(12);
      expect(w).toBeGreaterThanOrEqual(7);
      expect(w).toBeLessThanOrEqual(15);
      expect(Math.abs(w / 5 - h / 4)).toBeLessThan(0.5); // both sides scaled by one ratio, truncated
      sizes.add(`${h}x${w}`);
      const values = out.image.tolist() as number[][][];
      // The image's first pixel (100) tells where it went; everything else is the channel's fill exactly.
      const flat = values[0]!.flat();
      const at = flat.indexOf(100);
      const [top, left] = [Math.floor(at / w), at % w];
      for (let ch = 0; ch < 3; ++ch) {
        for (let y = 0; y < h; ++y) {
          for (let x = 0; x < w; ++x) {
            const inside = y >= top && y < top + 4 && x >= left && x < left + 5;
            expect(values[ch]![y]![x]).toBe(inside ? 100 + ch * 20 + (y - top) * 5 + (x - left) : [0.25, 0.5, 0.75][ch]);
          }
        }
      }
      expect(out.boxes.tolist()).toEqual([[1 + left, 1 + top, 3 + left, 4 + top]]);
      expect(out.labels).toBe(rgb.labels);
      const mask = out.mask.tolist() as number[][];
      mask.forEach((row, y) => row.forEach((m, x) => expect(m).toBe(y >= top && y < top + 4 && x >= left && x < left + 5 ? 1 : 9)));
    }
    expect(sizes.size).toBeGreaterThan(2);
  });

  it('draws the canvas side from sideRange and zooms with probability p', () => {
    const s = sample();
    manualSeed(45);
    const exact = P.randomZoomOut({ sideRange: [2, 2], p: 1 })(s);
    expect(exact.image.shape).toEqual([1, 2 * H, 2 * W]);
    expect(exact.mask.shape).toEqual([4, 2 * H, 2 * W]);
    expect(P.randomZoomOut({ p: 0 })(s)).toBe(s);
    manualSeed(46);
    const zoomed = Array.from({ length: 100 }, () => P.randomZoomOut()(s) !== s).filter(Boolean).length;
    expect(zoomed).toBeGreaterThan(30);
    expect(zoomed).toBeLessThan(70);
  });

  it('rejects bad options and a fill that does not fit the channels', () => {
    const cases: Array<[() => unknown, RegExp]> = [
      [() => P.randomZoomOut({ sideRange: [0.5, 2] }), /randomZoomOut: expected sideRange to be \[lo, hi\] with 1 <= lo <= hi/],
      [() => P.randomZoomOut({ sideRange: [3, 2] }), /randomZoomOut: expected sideRange/],
      [() => P.randomZoomOut({ sideRange: [1, Infinity] }), /randomZoomOut: expected a finite sideRange/],
      [() => P.randomZoomOut({ p: -0.1 }), /randomZoomOut: expected p in \[0, 1\], got -0.1/],
      [() => P.randomZoomOut({ fill: [] }), /randomZoomOut: expected fill to be a finite number or one per channel/],
      [() => P.randomZoomOut({ maskFill: Number.NaN }), /randomZoomOut: expected maskFill to be a finite number/],
    ];
    for (const [make, message] of cases) {
      expect(make).toThrow(ArgumentError);
      expect(make).toThrow(message);
    }
    expect(() => P.randomZoomOut({ fill: [1, 2], p: 1 })(sample())).toThrow(ShapeError);
    expect(() => P.randomZoomOut({ fill: [1, 2], p: 1 })(sample())).toThrow(/randomZoomOut: fill has 2 values for 1 channels/);
  });
});

it('paired randomPhotometricDistort changes the image as the image transform does, and nothing else', () => {
  const s = { ...sample(), image: arange(0, 3 * 4 * 5, 1, { dtype: 'float32' }).reshape(3, 4, 5).div(60) };
  manualSeed(47);
  const out = P.randomPhotometricDistort({ p: 1 })(s);
  manualSeed(47);
  expect(out.image.tolist()).toEqual(T.randomPhotometricDistort({ p: 1 })(s.image).tolist());
  expect(out.boxes).toBe(s.boxes);
  expect(out.labels).toBe(s.labels);
  expect(out.mask).toBe(s.mask);
  expect(() => P.randomPhotometricDistort()({} as never)).toThrow(/randomPhotometricDistort: expected a sample/);
});

it('composes into the SSD recipe: boxes stay inside the output image and labels stay one per box', () => {
  const ssd = P.compose([P.randomPhotometricDistort(), P.randomZoomOut(), P.randomIoUCrop(), P.randomHorizontalFlip(), P.sanitizeBoxes()]);
  const s = { ...sample(), image: arange(0, 3 * H * W, 1, { dtype: 'float32' }).reshape(3, H, W).div(3 * H * W) };
  manualSeed(48);
  for (let draw = 0; draw < 20; ++draw) {
    const out = ssd(s);
    const [, h, w] = out.image.shape as [number, number, number];
    const boxes = out.boxes.tolist() as number[][];
    expect(out.labels.shape).toEqual([boxes.length]);
    expect(out.mask.shape).toEqual([boxes.length, h, w]);
    for (const [x1, y1, x2, y2] of boxes) {
      expect(x1).toBeGreaterThanOrEqual(0);
      expect(y1).toBeGreaterThanOrEqual(0);
      expect(x2! - x1!).toBeGreaterThanOrEqual(1);
      expect(y2! - y1!).toBeGreaterThanOrEqual(1);
      expect(x2).toBeLessThanOrEqual(w);
      expect(y2).toBeLessThanOrEqual(h);
    }
  }
});

describe('in a CocoDetection pipeline', () => {
  const annFile = new URL('../fixtures/coco/instances.json', import.meta.url).pathname;
  const root = mkdtempSync(join(tmpdir(), 'neocog-ssd-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('run on DataLoader workers, reproducibly: boxes inside each image, per-box fields and masks in step', async () => {
    const instances = JSON.parse(readFileSync(annFile, 'utf8')) as {
      images: Array<{ id: number; file_name: string; width: number; height: number }>;
      annotations: Array<{ image_id: number; category_id: number; area: number }>;
    };
    for (const { file_name: file, width, height } of instances.images) {
      const bytes = Buffer.alloc(width * height * 3, 0);
      bytes.forEach((_, i) => (bytes[i] = (i * 37) % 256));
      await sharp(bytes, { raw: { width, height, channels: 3 } }).png().toFile(join(root, file));
    }
    const transforms = { module: new URL('./image_transforms.fixture.ts', import.meta.url).href, exportName: 'ssdAugment', args: { fill: [0.485, 0.456, 0.406] } };
    const dataset = new data.CocoDetection(root, annFile, { masks: true, transforms });
    const run = async () => {
      const out: unknown[] = [];
      await using loader = new data.DataLoader(dataset, { batchSize: 1, shuffle: true, seed: 7, numWorkers: 1, persistentWorkers: true, collate: data.detectionCollate });
      for (let epoch = 0; epoch < 3; ++epoch) {
        for await (const [images, targets] of loader) {
          const [image, target] = [images[0]!, targets[0]!];
          const [c, h, w] = image.shape as [number, number, number];
          expect(c).toBe(3);
          const boxes = target.boxes.tolist() as number[][];
          const k = boxes.length;
          for (const [x1, y1, x2, y2] of boxes) {
            expect(x1! >= 0 && y1! >= 0 && x2! <= w && y2! <= h && x2! - x1! >= 1 && y2! - y1! >= 1, JSON.stringify([x1, y1, x2, y2, w, h])).toBe(true);
          }
          // Each kept (label, area) pair is one of the image's own annotations: labels and areas were picked together.
          const own = instances.annotations.filter((a) => a.image_id === target.imageId).map((a) => `${a.category_id}:${a.area}`);
          const labels = target.labels.tolist() as number[];
          const areas = target.area.tolist() as number[];
          labels.forEach((label, i) => expect(own).toContain(`${label}:${areas[i]}`));
          expect(target.iscrowd.shape).toEqual([k]);
          expect(target.masks!.shape).toEqual([k, h, w]);
          expect(target.masks!.dtype).toBe('uint8');
          out.push([target.imageId, [h, w], boxes, labels, await image.data()]);
        }
      }
      return out;
    };
    const first = await run();
    expect(first).toHaveLength(9);
    // Augmentation happened: some image left the pipeline with another size.
    const sizes = Object.fromEntries(instances.images.map((i) => [i.id, `${i.height},${i.width}`]));
    expect(first.some((item) => `${(item as [number, number[]])[1]}` !== sizes[(item as [number])[0]])).toBe(true);
    expect(await run()).toEqual(first);
  }, 60_000);
});
