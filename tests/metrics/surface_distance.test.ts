import { expect, it } from 'vitest';

import { ArgumentError, memory, metrics, ShapeError, tensor, zeros } from '../../lib/index.js';
import { euclideanDistanceTransform, maskSurface } from '../../lib/metrics/surface_distance.js';
import { describeDevices, expectClose } from '../helpers/devices.js';
import { segmentationFixture, type SurfaceCase } from '../helpers/segmentation_cases.js';

/** A case's pair as [1, 1, ...shape] masks on `device`. */
function pair(c: SurfaceCase, device: 'cpu' | 'cuda:0' = 'cpu') {
  const shape = [1, 1, ...c.shape];
  return [tensor(Int32Array.from(c.pred), { device }).reshape(shape), tensor(Int32Array.from(c.target), { device }).reshape(shape)] as const;
}

describeDevices("hausdorffDistance and averageSurfaceDistance vs SciPy's distance_transform_edt (MONAI's method)", (device) => {
  for (const c of segmentationFixture.surface) {
    it(`${c.name} [${c.shape}]`, async () => {
      const [pred, target] = pair(c, device as 'cpu' | 'cuda:0');
      const spacing = c.spacing ?? undefined;
      const hd = await metrics.hausdorffDistance(pred, target, { spacing, percentile: c.percentile });
      expect(hd.shape).toEqual([1, 1]);
      expectClose(await hd.cpu().data(), [c.hausdorff], 1e-4);
      expectClose(await (await metrics.hausdorffDistance(pred, target, { spacing, percentile: 100 })).cpu().data(), [c.hausdorffMax], 1e-4);
      expectClose(await (await metrics.averageSurfaceDistance(pred, target, { spacing })).cpu().data(), [c.averageSurface], 1e-4);
      expectClose(await (await metrics.averageSurfaceDistance(pred, target, { spacing, symmetric: true })).cpu().data(), [c.averageSurfaceSymmetric], 1e-4);
    });
  }
});

it('the distance transform is exact: a single feature gives the Euclidean distance to it, with spacing', () => {
  const shape = [5, 7];
  const features = new Uint8Array(35);
  features[2 * 7 + 3] = 1;
  const d = euclideanDistanceTransform(features, shape, [2, 0.5]);
  for (let i = 0; i < 5; ++i) for (let j = 0; j < 7; ++j) expect(d[i * 7 + j]).toBeCloseTo(Math.hypot(2 * (i - 2), 0.5 * (j - 3)), 12);
  // Brute force over random features in 3-D.
  const shape3 = [4, 5, 6];
  const random = Uint8Array.from({ length: 120 }, (_, i) => ((i * 7919) % 13 === 0 ? 1 : 0));
  const spacing = [1.5, 1, 0.7];
  const field = euclideanDistanceTransform(random, shape3, spacing);
  const at = (i: number) => [Math.floor(i / 30), Math.floor(i / 6) % 5, i % 6];
  for (let i = 0; i < 120; ++i) {
    let best = Infinity;
    for (let j = 0; j < 120; ++j) if (random[j]) best = Math.min(best, Math.hypot(...at(i).map((v, k) => (v - at(j)[k]!) * spacing[k]!)));
    expect(field[i]).toBeCloseTo(best, 12);
  }
  expect(Array.from(euclideanDistanceTransform(new Uint8Array(6), [2, 3], [1, 1]))).toEqual(new Array<number>(6).fill(Infinity));
});

it('the surface of a mask is the mask less its erosion; the grid border counts as background', () => {
  const mask = [1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0, 0];
  expect(Array.from(maskSurface(mask, [4, 4]))).toEqual([1, 1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 0, 0, 0, 0, 0]);
});

it('an empty prediction or target gives NaN; label maps with numClasses work per class', async () => {
  const mask = tensor([[[0, 1, 1, 0], [0, 1, 1, 0]]], { dtype: 'float32' }).unsqueeze(0);
  const empty = zeros([1, 1, 2, 4]);
  expect(Number.isNaN((await (await metrics.hausdorffDistance(empty, mask)).data())[0]!)).toBe(true);
  expect(Number.isNaN((await (await metrics.averageSurfaceDistance(mask, empty)).data())[0]!)).toBe(true);
  expect(Number.isNaN((await (await metrics.hausdorffDistance(empty, empty)).data())[0]!)).toBe(true);
  // Labels [1, 2, 4]: class 1 shifted right by one pixel; class 0 its complement (pred column 3 is 2 from
  // target columns 0-1); class 2 absent from both.
  const pred = tensor([[[0, 1, 1, 0], [0, 1, 1, 0]]]);
  const target = tensor([[[0, 0, 1, 1], [0, 0, 1, 1]]]);
  const hd = await (await metrics.hausdorffDistance(pred, target, { numClasses: 3, percentile: 100 })).data();
  expectClose(Array.from(hd), [2, 1, Number.NaN], 1e-6);
  const asd = await metrics.averageSurfaceDistance(pred, target, { numClasses: 3, includeBackground: false });
  expect(asd.shape).toEqual([1, 2]);
});

it('surface distances check their options at the call and leave no temporaries behind', async () => {
  const [mask, wider] = [zeros([1, 1, 3, 3]).add(1), zeros([1, 1, 3, 4])];
  const before = memory('cpu').tensors;
  expect(() => metrics.hausdorffDistance(mask, mask, { spacing: [1, 1, 1] })).toThrow(ArgumentError);
  expect(() => metrics.hausdorffDistance(mask, mask, { spacing: [1, 1, 1] })).toThrow(
    'hausdorffDistance: expected spacing to be a positive number or 2 positive numbers (one per spatial dim), got [1,1,1]',
  );
  expect(() => metrics.averageSurfaceDistance(mask, mask, { spacing: 0 })).toThrow(/averageSurfaceDistance: expected spacing to be a positive number/);
  expect(() => metrics.hausdorffDistance(mask, mask, { percentile: 101 })).toThrow('hausdorffDistance: expected percentile in [0, 100], got 101');
  expect(() => metrics.hausdorffDistance(mask, wider)).toThrow(ShapeError);
  expect(memory('cpu').tensors).toBe(before);
  (await metrics.hausdorffDistance(mask, mask)).dispose();
  expect(memory('cpu').tensors).toBe(before);
});
