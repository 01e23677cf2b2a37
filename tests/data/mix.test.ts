import { expect, it } from 'vitest';

import { ArgumentError, crossEntropy, data, DTypeError, full, IndexError, manualSeed, memory, randn, ShapeError, stack, tensor } from '../../lib/index.js';

const labels = tensor(Int32Array.from([0, 2, 1, 2]));

it('mixup mixes images and one-hot targets with the batch rolled by one; targets sum to 1 and train with crossEntropy', async () => {
  manualSeed(0);
  const images = randn([4, 3, 5, 5]);
  const { images: x, labels: y, lambda } = data.mixup(images, labels, { alpha: 0.2, numClasses: 3 });
  expect(lambda).toBeGreaterThanOrEqual(0);
  expect(lambda).toBeLessThanOrEqual(1);
  const pixels = await images.data();
  const mixed = await x.data();
  const size = 3 * 5 * 5;
  for (let i = 0; i < 4; ++i) {
    const prev = (i + 3) % 4;
    for (let j = 0; j < size; j += 7) expect(mixed[i * size + j]).toBeCloseTo(lambda * pixels[i * size + j]! + (1 - lambda) * pixels[prev * size + j]!, 5);
  }
  expect(y.shape).toEqual([4, 3]);
  expect(y.dtype).toBe('float32');
  const soft = Array.from(await y.data());
  const expected = [0, 2, 1, 2].flatMap((c, i) => [0, 1, 2].map((k) => (c === k ? lambda : 0) + ([2, 0, 2, 1][i] === k ? 1 - lambda : 0)));
  soft.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 6));
  for (let i = 0; i < 4; ++i) expect(soft[3 * i]! + soft[3 * i + 1]! + soft[3 * i + 2]!).toBeCloseTo(1, 6);
  expect(Number.isFinite(crossEntropy(randn([4, 3]), y).item())).toBe(true);
});

it('mixup draws λ from Beta(α, α): mean 1/2 and variance 1/(4(2α + 1)) over seeded draws, for α below and above 1', () => {
  const tiny = randn([2, 1, 1, 1]);
  const two = tensor(Int32Array.from([0, 1]));
  for (const alpha of [0.4, 2]) {
    manualSeed(11);
    const lambdas = Array.from({ length: 1500 }, () => data.mixup(tiny, two, { alpha, numClasses: 2 }).lambda);
    const mean = lambdas.reduce((a, b) => a + b, 0) / lambdas.length;
    const variance = lambdas.reduce((a, b) => a + (b - mean) ** 2, 0) / lambdas.length;
    expect(mean).toBeCloseTo(0.5, 1);
    expect(Math.abs(variance / (1 / (4 * (2 * alpha + 1))) - 1)).toBeLessThan(0.12);
  }
});

it('cutmix pastes one box of the rolled batch into every image; λ is the unpasted area fraction; targets sum to 1', async () => {
  // Image i is filled with i + 1, so every pixel tells where it came from.
  const images = stack([1, 2, 3, 4].map((v) => full([2, 8, 10], v)));
  manualSeed(3);
  const seen: number[] = [];
  for (let trial = 0; trial < 20; ++trial) {
    const { images: x, labels: y, lambda } = data.cutmix(images, labels, { alpha: 1, numClasses: 3 });
    const px = await x.data();
    const size = 2 * 8 * 10;
    for (let i = 0; i < 4; ++i) {
      const own = Array.from(px.subarray(i * size, (i + 1) * size));
      const kept = own.filter((v) => v === i + 1).length;
      expect(own.every((v) => v === i + 1 || v === ((i + 3) % 4) + 1)).toBe(true);
      expect(kept / size).toBeCloseTo(lambda, 6);
    }
    const soft = Array.from(await y.data());
    for (let i = 0; i < 4; ++i) expect(soft[3 * i]! + soft[3 * i + 1]! + soft[3 * i + 2]!).toBeCloseTo(1, 6);
    expect(soft[0]).toBeCloseTo(lambda, 6); // image 0 (class 0) took its box from image 3 (class 2)
    seen.push(lambda);
  }
  expect(Math.min(...seen)).toBeLessThan(1);
});

it('mixup and cutmix leave only their two results behind', () => {
  const images = randn([4, 3, 6, 6]);
  for (const fn of [data.mixup, data.cutmix]) {
    const before = memory('cpu').tensors;
    const out = fn(images, labels, { numClasses: 3 });
    expect(memory('cpu').tensors).toBe(before + 2);
    out.images.dispose();
    out.labels.dispose();
  }
});

it('mixup and cutmix refuse bad options and batches before drawing', () => {
  const images = randn([4, 3, 4, 4]);
  for (const fn of [data.mixup, data.cutmix]) {
    expect(() => fn(images, labels, { alpha: 0, numClasses: 3 })).toThrow(/expected alpha > 0, got 0/);
    expect(() => fn(images, labels, { numClasses: 2.5 })).toThrow(ArgumentError);
    expect(() => fn(images, labels, { numClasses: 2 })).toThrow(IndexError);
    expect(() => fn(images.reshape(4, 48), labels, { numClasses: 3 })).toThrow(ShapeError);
    expect(() => fn(images, labels.float(), { numClasses: 3 })).toThrow(DTypeError);
    expect(() => fn(images, tensor(Int32Array.from([0, 1])), { numClasses: 3 })).toThrow(/expected labels \[4\] \(one per image\), got shape \[2\]/);
  }
});
