import { expect, it } from 'vitest';

import { tensor } from '../../lib/index.js';
import { atan } from '../../lib/ops/atan.js';
import { expectClose } from '../helpers/devices.js';
import { gradcheck } from '../helpers/gradcheck.js';

// The composed arctangent behind completeBoxIou and completeBoxIouLoss (lib/ops/atan.ts).
const samples = [0, 1e-30, 1e-4, 0.1, 0.19, 0.2, 0.41, 0.42, 0.5, 0.999, 1, 1.001, 2, 2.4, 5, 10, 123.4, 1e4, 1e8, 3e38];
const xs = Float32Array.from([...samples, ...samples.map((v) => -v), Infinity, -Infinity]);

it('atan matches Math.atan to float32 rounding over every branch, infinities included', () => {
  const got = atan(tensor(xs)).dataSync();
  const expected = Array.from(xs, (v) => Math.atan(v));
  expectClose(got, expected, 2e-7);
  expect(got[xs.length - 2]).toBeCloseTo(Math.PI / 2, 6);
  expect(Number.isNaN(atan(tensor(Float32Array.of(Number.NaN))).item())).toBe(true);
});

it('the gradient of atan is 1 / (1 + x^2), finite everywhere (0 and the infinities included)', () => {
  const x = tensor(xs).requiresGrad_();
  atan(x).sum().backward();
  const grad = x.grad!.dataSync();
  expectClose(grad, Array.from(xs, (v) => 1 / (1 + v * v)), 1e-6);
  expect(Array.from(grad).every(Number.isFinite)).toBe(true);
  gradcheck((t) => atan(t), [tensor([-3.2, -0.7, -0.15, 0.05, 0.3, 0.95, 1.2, 4.5], { dtype: 'float32' })]);
});
