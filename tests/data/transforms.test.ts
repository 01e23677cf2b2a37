import { expect, it } from 'vitest';

import { arange, data, manualSeed, randn, rot90, ShapeError, tensor } from '../../lib/index.js';
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
