// The fused optimizer primitives (lib/ops/optimizer_step.ts) on hand-computed values; the
// optimizers on top are checked against torch.optim in tests/optim.
import { expect, it } from 'vitest';

import { ArgumentError, DTypeError, randn, ShapeError, tensor, zeros, type Tensor } from '../../lib/index.js';
import { optimizerStep, unscaleGradients, zeroStateLike, type OptimizerStepSettings } from '../../lib/ops/optimizer_step.js';
import { baseStep } from '../../lib/optim/optimizer.js';
import { describeDevices, expectClose } from '../helpers/devices.js';

const f32 = (values: number[], device: string) => tensor(values, { dtype: 'float32', device: device as 'cpu' });

describeDevices('optimizerStep', (device) => {
  it('one call updates two parameters with SGD, momentum 0.9 (the first step stores the gradient as the buffer)', () => {
    const a = f32([1, 2, 3], device), b = f32([-1, 0.5], device);
    const ga = f32([0.5, -1, 2], device), gb = f32([4, 0], device);
    const settings: OptimizerStepSettings = { ...baseStep(0, 0.1, 0), momentum: 0.9, firstStep: true };
    const bufA = zeroStateLike(a), bufB = zeroStateLike(b);
    optimizerStep(settings, [
      { param: a, grad: ga, slots: [bufA, null, null] },
      { param: b, grad: gb, slots: [bufB, null, null] },
    ]);
    expectClose(a.cpu().dataSync(), [0.95, 2.1, 2.8]);
    expectClose(b.cpu().dataSync(), [-1.4, 0.5]);
    expectClose(bufA.cpu().dataSync(), [0.5, -1, 2]);
    expectClose(bufB.cpu().dataSync(), [4, 0]);
  });

  it('zeroStateLike gives zeros in the parameter layout (channels-last [2, 3, 2, 2])', () => {
    const p = randn([2, 3, 2, 2], { device }).permute([0, 2, 3, 1]).contiguous().permute([0, 3, 1, 2]);
    const state = zeroStateLike(p);
    expect(state.shape).toEqual(p.shape);
    expect(state.strides).toEqual(p.strides);
    expect(Array.from(state.cpu().dataSync()).every((v) => v === 0)).toBe(true);
  });

  it('unscaleGradients divides in place and flags only non-finite gradients', () => {
    const g1 = f32([2, 4, 8], device), g2 = f32([16], device);
    const found = zeros([1], { device });
    unscaleGradients([g1, g2], 0.5, found);
    expectClose(g1.cpu().dataSync(), [1, 2, 4]);
    expectClose(g2.cpu().dataSync(), [8]);
    expect(found.item()).toBe(0);
    unscaleGradients([f32([1, Infinity], device)], 0.5, found);
    expect(found.item()).toBe(1);
  });
});

it('optimizerStep and unscaleGradients name what they refuse', () => {
  const p = tensor([1, 2], { dtype: 'float32' });
  const settings = baseStep(0, 0.1, 0);
  const entry = (param: Tensor, grad: Tensor) => ({ param, grad, slots: [null, null, null] as const });
  expect(() => optimizerStep(settings, [entry(p, tensor([1, 2, 3], { dtype: 'float32' }))])).toThrow(ShapeError);
  expect(() => optimizerStep(settings, [entry(p, tensor([1, 2, 3], { dtype: 'float32' }))])).toThrow(/optimizer.step: expected grad 0 of its parameter's shape \[2\], got \[3\]/);
  expect(() => optimizerStep(settings, [entry(tensor([1, 2], { dtype: 'int32' }), p)])).toThrow(DTypeError);
  expect(() => unscaleGradients([p], Infinity, zeros([1]))).toThrow(ArgumentError);
  expect(() => unscaleGradients([p], Infinity, zeros([1]))).toThrow(/GradScaler.unscale_: expected a finite inverse scale, got Infinity/);
  expect(() => unscaleGradients([p], 1, zeros([1], { dtype: 'int32' }))).toThrow(DTypeError);
});
