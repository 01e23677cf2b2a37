import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { arange, ArgumentError, data, DTypeError, manualSeed, randn, rot90, ShapeError, tensor, zeros } from '../../lib/index.js';
import { expectClose } from '../helpers/devices.js';

const T = data.transforms;
const image = () => arange(1, 17, 1, { dtype: 'float32' }).reshape(1, 4, 4); // [C, H, W]

it('normalize, centerCrop, resize and compose', () => {
  const two = tensor([[[1, 3]], [[5, 7]]], { dtype: 'float32' }); // [2, 1, 2]
  expect(T.normalize([1, 5], [2, 1])(two).tolist()).toEqual([[[0, 1]], [[0, 2]]]);
  expect(T.centerCrop([2, 2])(image()).tolist()).toEqual([[[6, 7], [10, 11]]]);
  expect(T.resize([2, 2], 'nearest')(image()).tolist()).toEqual([[[1, 3], [9, 11]]]);
  expect(T.compose([T.centerCrop([2, 2]), T.normalize([6], [1])])(image()).tolist()).toEqual([[[0, 1], [4, 5]]]);
  expect(() => T.centerCrop([5, 5])(image())).toThrow(ShapeError);
  expect(() => T.normalize([0], [1])(tensor([1], { dtype: 'float32' }))).toThrow(/expected an image/);
});

it('flips apply with their probability, per image of a batch', () => {
  expect(T.randomHorizontalFlip(1)(image()).tolist()).toEqual([[[4, 3, 2, 1], [8, 7, 6, 5], [12, 11, 10, 9], [16, 15, 14, 13]]]);
  expect(T.randomVerticalFlip(0)(image()).tolist()).toEqual(image().tolist());
  manualSeed(3);
  const batch = image().unsqueeze(0).expand(64, 1, 4, 4).contiguous();
  const flipped = T.randomHorizontalFlip(0.5)(batch).tolist() as number[][][][];
  const count = flipped.filter((img) => img[0]![0]![0] === 4).length;
  expect(count).toBeGreaterThan(16);
  expect(count).toBeLessThan(48);
});

it('randomCrop with padding, rotation and the same draws under the same seed', () => {
  manualSeed(4);
  const a = T.randomCrop([4, 4], 2)(image());
  manualSeed(4);
  const b = T.randomCrop([4, 4], 2)(image());
  expect(a.tolist()).toEqual(b.tolist());
  expect(a.shape).toEqual([1, 4, 4]);
  expect(T.randomCrop([4, 4])(image()).tolist()).toEqual(image().tolist());
  // A random multiple of 90 degrees: the result is one of the four rotations.
  const candidates = [0, 1, 2, 3].map((k) => JSON.stringify(rot90(image(), k, [-2, -1]).tolist()));
  expect(candidates).toContain(JSON.stringify(T.randomRotation90()(image()).tolist()));
  expect(() => T.randomRotation90()(randn([1, 2, 3]))).toThrow(/square/);
});

it('colorJitter, gamma and noise', () => {
  manualSeed(5);
  const x = image().div(16);
  const jittered = T.colorJitter({ brightness: 0.5 })(x).dataSync();
  const ratio = jittered[0]! / x.dataSync()[0]!;
  expect(ratio).toBeGreaterThanOrEqual(0.5);
  expect(ratio).toBeLessThanOrEqual(1.5);
  expectClose(jittered, Array.from(x.dataSync(), (v) => v * ratio), 1e-5);
  expectClose(T.adjustGamma(2)(tensor([0.5, -1], { dtype: 'float32' }).reshape(1, 1, 2)).dataSync(), [0.25, 0]);
  const noise = Array.from(T.gaussianNoise(0.1)(tensor(new Float32Array(10000)).reshape(1, 100, 100)).dataSync());
  const std = Math.sqrt(noise.reduce((s, v) => s + v * v, 0) / noise.length);
  expect(Math.abs(std - 0.1)).toBeLessThan(0.005);
});

interface AffineCase {
  op: 'affine' | 'rotate';
  params: { angle: number; translate?: [number, number]; scale?: number; shear?: [number, number] };
  interpolation: 'bilinear' | 'nearest';
  fill: number | number[];
  image: { shape: number[]; values: number[] };
  output: { shape: number[]; values: number[] };
}
const affineCases = (JSON.parse(readFileSync(new URL('../fixtures/grid.json', import.meta.url), 'utf8')) as { affine: AffineCase[] }).affine;

describe('affine and rotate match torchvision.transforms.functional', () => {
  for (const c of affineCases) {
    it(`${c.op} ${JSON.stringify(c.params)} ${c.interpolation} fill=${JSON.stringify(c.fill)}`, () => {
      const img = tensor(Float32Array.from(c.image.values)).reshape(c.image.shape);
      const opts = { interpolation: c.interpolation, fill: c.fill };
      const out = c.op === 'affine' ? T.affine(img, c.params, opts) : T.rotate(img, c.params.angle, opts);
      expect(out.shape).toEqual(c.output.shape);
      expectClose(out.dataSync(), c.output.values, 1e-4);
    });
  }
});

it('toTensor converts uint8 HWC pixels to float CHW in [0, 1], as ToTensor', () => {
  const hwc = tensor(Uint8Array.from([0, 255, 51, 102, 153, 204])).reshape(1, 2, 3); // H=1, W=2, C=3
  const expected = [[[0, 0.4]], [[1, 0.6]], [[0.2, 0.8]]];
  expectClose(T.toTensor()(hwc).dataSync(), expected.flat(2), 1e-6);
  expect(T.toTensor()(hwc).shape).toEqual([3, 1, 2]);
  const raw = { data: Uint8ClampedArray.from([0, 255, 51, 102, 153, 204]), width: 2, height: 1 };
  expectClose(T.toTensor()(raw).dataSync(), expected.flat(2), 1e-6);
  expect(T.toTensor({ layout: 'chw' })({ ...raw, channels: 3 }).shape).toEqual([3, 1, 2]);
  expect(T.toTensor()(tensor(Float32Array.of(0.5, 2)).reshape(1, 2)).tolist()).toEqual([[[0.5, 2]]]); // floats are not scaled
  expect(T.toTensor()(zeros([5, 4, 6, 3], { dtype: 'uint8' })).shape).toEqual([5, 3, 4, 6]);
  expect(() => T.toTensor()(tensor([1, 2], { dtype: 'int32' }).reshape(1, 2))).toThrow(DTypeError);
  expect(() => T.toTensor()({ data: new Uint8Array(5), width: 2, height: 1, channels: 3 })).toThrow(/toTensor: 5 values/);
  expect(() => T.toTensor()(zeros([2]))).toThrow(ShapeError);
  expect(() => T.toTensor({ layout: 'whc' as 'hwc' })).toThrow(ArgumentError);
});

it('randomRotation([90, 90]) turns counter-clockwise like rot90; other angles keep the size', () => {
  const square = arange(0, 32, 1, { dtype: 'float32' }).reshape(2, 4, 4);
  const turned = rot90(square, 1, [-2, -1]).dataSync();
  expectClose(T.randomRotation([90, 90])(square).dataSync(), turned, 1e-5);
  expectClose(T.randomRotation([90, 90], { interpolation: 'bilinear' })(square).dataSync(), turned, 1e-4);
  const odd = arange(0, 15, 1, { dtype: 'float32' }).reshape(1, 3, 5);
  expect(T.randomRotation(30, { interpolation: 'bilinear' })(odd).shape).toEqual([1, 3, 5]);
  expect(T.randomRotation([180, 180])(odd).tolist()).toEqual(rot90(odd, 2, [-2, -1]).tolist());
});

it('randomAffine: the identity returns the image; draws are seeded and per image', () => {
  const img = image();
  expect(T.randomAffine({})(img).tolist()).toEqual(img.tolist());
  expectClose(T.randomAffine({ interpolation: 'bilinear' })(img).dataSync(), img.dataSync(), 1e-5);
  // A pure whole-pixel shift: translate [0.25, 0] of width 4 moves by -1, 0 or +1 pixels.
  manualSeed(8);
  const shifted = T.randomAffine({ translate: [0.25, 0] })(img).tolist() as number[][][];
  const planes = img.tolist() as number[][][];
  const candidates = [-1, 0, 1].map((dx) => JSON.stringify(planes.map((plane) => plane.map((row) => row.map((_, x) => row[x - dx] ?? 0)))));
  expect(candidates).toContain(JSON.stringify(shifted));

  const batch = randn([8, 1, 6, 6]);
  const opts = { degrees: 30, translate: [0.1, 0.1], scale: [0.8, 1.2], shear: [-5, 5, -5, 5], interpolation: 'bilinear' } as const;
  manualSeed(9);
  const a = T.randomAffine(opts)(batch).dataSync();
  manualSeed(9);
  expect(T.randomAffine(opts)(batch).dataSync()).toEqual(a);
  // One draw per image: the same image in every slot comes out differently.
  const same = T.randomAffine(opts)(randn([1, 1, 6, 6]).expand(4, 1, 6, 6).contiguous()).tolist() as number[][][][];
  expect(new Set(same.map((x) => JSON.stringify(x))).size).toBeGreaterThan(1);
});

it('elasticTransform: alpha 0 is the identity; fields are seeded and per image', () => {
  const img = randn([3, 1, 8, 8]);
  expectClose(T.elasticTransform({ alpha: 0 })(img).dataSync(), img.dataSync(), 1e-5);
  expect(T.elasticTransform({ alpha: 0, interpolation: 'nearest' })(img).tolist()).toEqual(img.tolist());
  manualSeed(10);
  const a = T.elasticTransform({ alpha: 20, sigma: 2 })(img).dataSync();
  manualSeed(10);
  expect(T.elasticTransform({ alpha: 20, sigma: 2 })(img).dataSync()).toEqual(a);
  expect(Array.from(a)).not.toEqual(Array.from(img.dataSync()));
  const same = T.elasticTransform({ alpha: 20, sigma: 2 })(img.slice(0, 0, 1).expand(3, 1, 8, 8).contiguous()).tolist() as number[][][][];
  expect(new Set(same.map((x) => JSON.stringify(x))).size).toBe(3);
  // Images smaller than the kernel (8 sigma + 1 = 41) still work: the kernel is cut to fit.
  expect(T.elasticTransform()(randn([1, 5, 7])).shape).toEqual([1, 5, 7]);
});

it('centerCrop rounds the offset half to even, as torchvision', () => {
  const x = arange(0, 25, 1, { dtype: 'float32' }).reshape(1, 5, 5);
  expect(T.centerCrop([2, 2])(x).tolist()).toEqual([[[12, 13], [17, 18]]]); // round(1.5) = 2
  expect((T.centerCrop([4, 4])(x).tolist() as number[][][])[0]![0]).toEqual([0, 1, 2, 3]); // round(0.5) = 0
});

it('the resampling transforms reject bad arguments', () => {
  expect(() => T.randomRotation([10, -10])).toThrow(/randomRotation: expected degrees to be a \[min, max\] pair/);
  expect(() => T.randomRotation(-5)).toThrow(ArgumentError);
  expect(() => T.randomAffine({ translate: [2, 0] })).toThrow(/randomAffine: expected translate/);
  expect(() => T.randomAffine({ scale: [0, 1] })).toThrow(/randomAffine: expected a positive scale/);
  expect(() => T.randomAffine({ shear: [1, 2, 3] as unknown as [number, number] })).toThrow(/randomAffine: expected shear/);
  expect(() => T.randomAffine({ interpolation: 'bicubic' as 'nearest' })).toThrow(/randomAffine: expected interpolation/);
  expect(() => T.randomAffine({ fill: [] })).toThrow(/randomAffine: expected fill/);
  expect(() => T.randomAffine({ fill: [1, 2] })(image())).toThrow(/randomAffine: fill has 2 values for 1 channels/);
  expect(() => T.elasticTransform({ alpha: -1 })).toThrow(/elasticTransform: expected alpha/);
  expect(() => T.elasticTransform({ sigma: [1, 2, 3] as unknown as [number, number] })).toThrow(ArgumentError);
  expect(() => T.randomRotation(10)(image().to('int32'))).toThrow(/randomRotation: expected image to have dtype float32/);
  expect(() => T.elasticTransform()(zeros([4, 4]))).toThrow(/elasticTransform: expected an image \[C, H, W\]/);
});
