import { describe, expect, it } from 'vitest';

import * as P from '../../lib/data/paired_transforms.js';
import * as T from '../../lib/data/transforms.js';
import { arange, ArgumentError, DTypeError, flip, manualSeed, rot90, ShapeError, tensor, zeros, type Tensor } from '../../lib/index.js';
import { expectClose } from '../helpers/devices.js';

/** An H x W int32 mask with label 1 on the pixels of `box` (xyxy, pixel edges) and 2 on a second block. */
function labelled(h: number, w: number, box: readonly number[]): Tensor<'int32'> {
  const values = new Int32Array(h * w);
  for (let y = 0; y < h; ++y) {
    for (let x = 0; x < w; ++x) {
      if (x >= box[0]! && x < box[2]! && y >= box[1]! && y < box[3]!) values[y * w + x] = 1;
      else if (x >= w - 2 && y >= h - 2) values[y * w + x] = 2;
    }
  }
  return tensor(values).reshape(h, w) as Tensor<'int32'>;
}

/** The pixel-edge box around the pixels of `mask` equal to `label`. */
function boxOf(mask: Tensor, label: number): number[] {
  const [h, w] = mask.shape.slice(-2) as [number, number];
  const v = mask.dataSync();
  const box = [Infinity, Infinity, -Infinity, -Infinity];
  for (let y = 0; y < h; ++y) {
    for (let x = 0; x < w; ++x) {
      if (v[y * w + x] !== label) continue;
      box[0] = Math.min(box[0]!, x);
      box[1] = Math.min(box[1]!, y);
      box[2] = Math.max(box[2]!, x + 1);
      box[3] = Math.max(box[3]!, y + 1);
    }
  }
  return box;
}

/** A sample whose image is its mask as floats, so alignment is an equality. */
function sample(h = 6, w = 6, box = [1, 1, 4, 3]) {
  const mask = labelled(h, w, box);
  return { image: mask.to('float32').reshape(1, h, w), mask, boxes: tensor([box], { dtype: 'float32' }), labels: tensor([7]) };
}

describe('paired flips, crops and resize', () => {
  it('flip image, mask and boxes together; labels pass through', () => {
    const s = sample();
    const out = P.randomHorizontalFlip(1)(s);
    expect(out.image.tolist()).toEqual(T.randomHorizontalFlip(1)(s.image).tolist());
    expect(out.mask.dtype).toBe('int32');
    expect(out.mask.tolist()).toEqual(out.image.squeeze(0).to('int32').tolist());
    expect(out.boxes.tolist()).toEqual([[2, 1, 5, 3]]);
    expect(boxOf(out.mask, 1)).toEqual((out.boxes.tolist() as number[][])[0]);
    expect(out.labels).toBe(s.labels);
    const down = P.randomVerticalFlip(1)(s);
    expect(down.boxes.tolist()).toEqual([[1, 3, 4, 5]]);
    expect(boxOf(down.mask, 1)).toEqual([1, 3, 4, 5]);
    expect(P.randomVerticalFlip(0)(s).boxes.tolist()).toEqual(s.boxes.tolist());
  });

  it('draw as the image transforms do, one flip per image of a batch', () => {
    const masks = arange(0, 64 * 9, 1, { dtype: 'int32' }).reshape(64, 3, 3);
    const images = masks.to('float32').reshape(64, 1, 3, 3);
    manualSeed(21);
    const out = P.randomHorizontalFlip()({ image: images, mask: masks });
    manualSeed(21);
    expect(out.image.tolist()).toEqual(T.randomHorizontalFlip()(images).tolist());
    expect(out.mask.shape).toEqual([64, 3, 3]);
    expect(out.mask.to('float32').tolist()).toEqual(out.image.squeeze(1).tolist());
    const flipped = (out.mask.tolist() as number[][][]).filter((m, i) => m[0]![0] === i * 9 + 2).length;
    expect(flipped).toBeGreaterThan(16);
    expect(flipped).toBeLessThan(48);
  });

  it('centerCrop and randomCrop (padding, maskFill) shift and clip boxes', () => {
    const s = sample(6, 6, [0, 1, 4, 3]);
    const c = P.centerCrop([4, 4])(s);
    expect(c.image.shape).toEqual([1, 4, 4]);
    expect(c.boxes.tolist()).toEqual([[0, 0, 3, 2]]); // clipped on the left
    expect(boxOf(c.mask, 1)).toEqual([0, 0, 3, 2]);
    manualSeed(22);
    const r = P.randomCrop([8, 8], 2, { maskFill: 9 })(s);
    manualSeed(22);
    expect(r.image.tolist()).toEqual(T.randomCrop([8, 8], 2)(s.image).tolist());
    expect(boxOf(r.mask, 1)).toEqual((r.boxes.tolist() as number[][])[0]);
    // Padding: the mask reads maskFill where the image reads 0; elsewhere they agree.
    const pixels = r.image.dataSync();
    r.mask.dataSync().forEach((m, i) => expect(pixels[i]).toBe(m === 9 ? 0 : m));
  });

  it('resize: the image interpolates, the mask stays labels, boxes scale', () => {
    const s = sample(4, 4, [1, 0, 3, 2]);
    const out = P.resize([8, 6])(s);
    expect(out.image.shape).toEqual([1, 8, 6]);
    expect(out.mask.shape).toEqual([8, 6]);
    expect(out.mask.dtype).toBe('int32');
    expect(new Set(out.mask.dataSync())).toEqual(new Set([0, 1, 2]));
    expectClose(out.boxes.dataSync(), [1.5, 0, 4.5, 4]);
    expect(boxOf(out.mask, 1)).toEqual([2, 0, 5, 4]); // nearest: 1.5 -> pixel 2 (column 2 reads source column 1)
  });
});

describe('paired rotation, affine and elastic', () => {
  it('rotation by 90 degrees moves mask and boxes exactly like rot90', () => {
    const s = sample(6, 6, [0, 0, 3, 1]);
    const out = P.randomRotation([90, 90])(s);
    expect(out.mask.tolist()).toEqual(rot90(s.mask, 1, [0, 1]).tolist());
    expect(out.image.tolist()).toEqual(rot90(s.image, 1, [1, 2]).tolist());
    expectClose(out.boxes.dataSync(), boxOf(out.mask, 1), 1e-5);
    expectClose(out.boxes.dataSync(), [0, 3, 1, 6], 1e-5);
  });

  it('the image and the mask stay aligned at any angle, per image of a batch, for every mask dtype', () => {
    const masks = labelled(7, 9, [2, 1, 6, 5]).unsqueeze(0).expand(5, 7, 9).contiguous();
    const batch = { image: masks.to('float32').unsqueeze(1), mask: masks };
    manualSeed(23);
    const out = P.randomRotation(180)(batch);
    expect(out.image.squeeze(1).tolist()).toEqual(out.mask.to('float32').tolist());
    expect(new Set((out.mask.tolist() as number[][][]).map((m) => JSON.stringify(m))).size).toBeGreaterThan(1);
    manualSeed(23);
    expect(out.image.tolist()).toEqual(T.randomRotation(180)(batch.image).tolist());
    for (const dtype of ['uint8', 'bool', 'float32'] as const) {
      const mask = dtype === 'bool' ? masks.eq(1) : masks.to(dtype);
      manualSeed(24);
      const moved = P.randomAffine({ degrees: 40, translate: [0.2, 0.2], scale: [0.7, 1.3], shear: 10 })({ image: mask.to('float32').unsqueeze(1), mask });
      expect(moved.mask.dtype).toBe(dtype);
      expect(moved.image.squeeze(1).tolist()).toEqual(moved.mask.to('float32').tolist());
    }
  });

  it('boxes follow affine maps: the transformed box encloses the transformed object', () => {
    const s = sample(16, 16, [4, 5, 10, 9]);
    expect(P.randomAffine({})(s).boxes.tolist()).toEqual(s.boxes.tolist());
    manualSeed(25);
    for (let trial = 0; trial < 5; ++trial) {
      const out = P.randomAffine({ translate: [0.2, 0.2], scale: [0.6, 1.4] })(s);
      // Scale and shift keep the box axis-aligned, so the mask's box matches to a pixel.
      expectClose(out.boxes.dataSync(), boxOf(out.mask, 1), 1);
    }
    const turned = P.randomRotation([30, 30])(s);
    const [x1, y1, x2, y2] = Array.from(turned.boxes.dataSync());
    const object = boxOf(turned.mask, 1);
    expect(x1).toBeLessThanOrEqual(object[0]! + 0.5);
    expect(y1).toBeLessThanOrEqual(object[1]! + 0.5);
    expect(x2).toBeGreaterThanOrEqual(object[2]! - 0.5);
    expect(y2).toBeGreaterThanOrEqual(object[3]! - 0.5);
    // A box rotated out of the image is clipped to it (and sanitizeBoxes then drops it).
    const out = P.randomAffine({ translate: [1, 0] })({ ...s, boxes: tensor([[0, 0, 2, 2]], { dtype: 'float32' }) });
    const [bx1, , bx2] = Array.from(out.boxes.dataSync());
    expect(bx1).toBeGreaterThanOrEqual(0);
    expect(bx2).toBeLessThanOrEqual(16);
  });

  it('elastic: alpha 0 is the identity, image and mask move together, boxes are refused', () => {
    const { image, mask } = sample(8, 8);
    const still = P.elasticTransform({ alpha: 0, interpolation: 'nearest' })({ image, mask });
    expect(still.mask.tolist()).toEqual(mask.tolist());
    expect(still.image.tolist()).toEqual(image.tolist());
    manualSeed(26);
    const moved = P.elasticTransform({ alpha: 40, sigma: 2, interpolation: 'nearest' })({ image, mask });
    expect(moved.image.squeeze(0).tolist()).toEqual(moved.mask.to('float32').tolist());
    expect(moved.mask.tolist()).not.toEqual(mask.tolist());
    expect(() => P.elasticTransform()(sample())).toThrow(ArgumentError);
    expect(() => P.elasticTransform()(sample())).toThrow(/elasticTransform: boxes cannot follow/);
  });
});

it('compose, imageOnly and sanitizeBoxes', () => {
  const s = { ...sample(8, 8, [0, 0, 3, 3]), boxes: tensor([[0, 0, 3, 3], [5, 5, 5, 8], [2, 2, 4, 2.5]], { dtype: 'float32' }), labels: tensor([1, 2, 3]) };
  const pipeline = P.compose([P.randomHorizontalFlip(1), P.imageOnly(T.normalize([1], [2])), P.sanitizeBoxes()]);
  const out = pipeline(s);
  expect(out.image.tolist()).toEqual(T.normalize([1], [2])(T.randomHorizontalFlip(1)(s.image)).tolist());
  expect(out.boxes.tolist()).toEqual([[5, 0, 8, 3]]);
  expect(out.labels.tolist()).toEqual([1]);
  expect(out.mask.tolist()).toEqual(flip(s.mask, [1]).tolist());
  expect(P.sanitizeBoxes()({ ...s, boxes: zeros([0, 4]), labels: tensor([], { dtype: 'int32' }) }).boxes.shape).toEqual([0, 4]);
});

it("sanitizeBoxes drops boxes as v2's SanitizeBoundingBoxes: too small or outside the image, with their labels and mask planes", () => {
  const boxes = [
    [0, 0, 12, 10], // the whole image: kept
    [2, 2, 3, 3], // 1 x 1: kept (minSize 1)
    [2, 2, 2.9, 5], // narrower than 1
    [4, 4, 8, 4.5], // shorter than 1
    [-1, 0, 4, 4], // left of the image
    [5, 5, 12.5, 8], // beyond the width
    [3, 1, 6, 10.5], // beyond the height
    [6, 6, 5, 9], // x2 < x1
  ];
  const planes = new Int32Array(boxes.length * 10 * 12);
  boxes.forEach((_, k) => planes.fill(k + 1, k * 120, (k + 1) * 120));
  const s = { image: zeros([1, 10, 12]), boxes: tensor(boxes, { dtype: 'float32' }), labels: arange(0, boxes.length, 1, { dtype: 'int32' }), mask: tensor(planes).reshape(boxes.length, 10, 12) };
  const out = P.sanitizeBoxes()(s);
  expect(out.boxes.tolist()).toEqual([[0, 0, 12, 10], [2, 2, 3, 3]]);
  expect(out.labels.tolist()).toEqual([0, 1]);
  expect(out.mask.shape).toEqual([2, 10, 12]);
  expect([...new Set(out.mask.dataSync())]).toEqual([1, 2]);
  expect(P.sanitizeBoxes({ minSize: 2 })(s).labels.tolist()).toEqual([0]);
  const dense = { ...s, mask: zeros([10, 12], { dtype: 'int32' }) };
  expect(P.sanitizeBoxes()(dense).mask).toBe(dense.mask);
  expect(() => P.sanitizeBoxes()({ ...s, mask: zeros([3, 10, 12]) })).toThrow(ShapeError);
  expect(() => P.sanitizeBoxes()({ ...s, mask: zeros([3, 10, 12]) })).toThrow(/sanitizeBoxes: expected mask \[10, 12\] or one per box \[8, 10, 12\], got \[3, 10, 12\]/);
  expect(() => P.sanitizeBoxes({ minSize: 0.4 })).toThrow(ArgumentError);
  expect(() => P.sanitizeBoxes({ minSize: 0.4 })).toThrow(/sanitizeBoxes: expected minSize >= 1/);
});

it('paired transforms reject bad samples, naming the transform and the argument', () => {
  const s = sample();
  expect(() => P.randomHorizontalFlip()({ ...s, mask: zeros([5, 6]) })).toThrow(ShapeError);
  expect(() => P.randomHorizontalFlip()({ ...s, mask: zeros([5, 6]) })).toThrow(/randomHorizontalFlip: expected mask/);
  expect(() => P.resize([3, 3])({ image: zeros([2, 1, 6, 6]), boxes: s.boxes })).toThrow(/resize: boxes need an unbatched image/);
  expect(() => P.centerCrop([2, 2])({ image: s.image, boxes: zeros([2, 5]) })).toThrow(/centerCrop: expected boxes of shape \[K, 4\]/);
  expect(() => P.centerCrop([2, 2])({ image: s.image, boxes: tensor([[0, 0, 1, 1]]) })).toThrow(DTypeError);
  expect(() => P.centerCrop([9, 9])(s)).toThrow(/centerCrop: 9x9 is larger than the image 6x6/);
  expect(() => P.randomCrop([9, 9])(s)).toThrow(ShapeError);
  expect(() => P.randomCrop([2, 2], -1)).toThrow(/randomCrop: expected padding/);
  expect(() => P.randomRotation(10, { maskFill: Number.NaN })).toThrow(/randomRotation: expected maskFill/);
  expect(() => P.randomAffine({ degrees: [5, 1] })).toThrow(ArgumentError);
  expect(() => P.randomHorizontalFlip()(s.image as never)).toThrow(/randomHorizontalFlip: expected a sample/);
  expect(() => P.imageOnly(T.normalize([0], [1]))({} as never)).toThrow(ArgumentError);
  expect(() => P.sanitizeBoxes()({ ...s, labels: tensor([1, 2]) })).toThrow(/sanitizeBoxes: expected labels \[1\]/);
  expect(() => P.randomRotation(10)({ image: s.image.to('int32') })).toThrow(DTypeError);
});
