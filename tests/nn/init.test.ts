import { expect, it } from 'vitest';

import { manualSeed, nn, ShapeError, zeros } from '../../lib/index.js';

it('init functions fill with the documented distributions', () => {
  manualSeed(6);
  const w = zeros([64, 32, 3, 3]);
  nn.init.kaimingNormal_(w, { nonlinearity: 'relu' });
  const values = Array.from(w.dataSync());
  const std = Math.sqrt(values.reduce((s, v) => s + v * v, 0) / values.length);
  expect(Math.abs(std - Math.sqrt(2 / (32 * 9)))).toBeLessThan(0.005);
  nn.init.xavierUniform_(w);
  expect(Math.max(...Array.from(w.dataSync()).map(Math.abs))).toBeLessThanOrEqual(Math.sqrt(6 / (32 * 9 + 64 * 9)));
  const up = zeros([2, 2, 4, 4]);
  nn.init.bilinearUpsampling_(up);
  expect((up.tolist() as number[][][][])[0]![0]![1]).toEqual([0.1875, 0.5625, 0.5625, 0.1875]);
  expect((up.tolist() as number[][][][])[0]![1]![1]).toEqual([0, 0, 0, 0]);
  expect(nn.init.calculateGain('leakyRelu', 0.2)).toBeCloseTo(Math.sqrt(2 / 1.04));
  expect(() => nn.init.bilinearUpsampling_(zeros([2, 3, 4, 4]))).toThrow(ShapeError);
});

it('truncNormal_ draws N(mean, std^2) cut to [a, b], as torch.nn.init.trunc_normal_', () => {
  manualSeed(44);
  const w = zeros([100, 100]);
  nn.init.truncNormal_(w, { mean: 0.5, std: 1, a: -0.5, b: 1 });
  const values = Array.from(w.dataSync());
  expect(Math.min(...values)).toBeGreaterThanOrEqual(-0.5);
  expect(Math.max(...values)).toBeLessThanOrEqual(1);
  // Mass piles up nowhere: the cut-offs hold no more than their share of values.
  expect(values.filter((v) => v === -0.5 || v === 1).length).toBe(0);
  // Symmetric cut around the mean of a narrow normal: mean 0, std just below 0.02 (ConvNeXt's init).
  nn.init.truncNormal_(w, { std: 0.02 });
  const narrow = Array.from(w.dataSync());
  const mean = narrow.reduce((s, v) => s + v, 0) / narrow.length;
  const std = Math.sqrt(narrow.reduce((s, v) => s + (v - mean) ** 2, 0) / narrow.length);
  expect(Math.abs(mean)).toBeLessThan(0.001);
  expect(Math.abs(std - 0.02)).toBeLessThan(0.001);
  expect(() => nn.init.truncNormal_(w, { std: 0 })).toThrow(/truncNormal_: expected std > 0/);
  expect(() => nn.init.truncNormal_(w, { a: 1, b: 0 })).toThrow(/truncNormal_/);
});
