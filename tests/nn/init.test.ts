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
