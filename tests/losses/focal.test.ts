import { expect, it } from 'vitest';

import { ArgumentError, DTypeError, manualSeed, memory, noGrad, rand, randn, ShapeError, sigmoidFocalLoss, tensor, zeros, type Tensor } from '../../lib/index.js';
import { boxLossFixture, boxLossFixtureTests } from '../helpers/box_loss_cases.js';
import { describeDevices } from '../helpers/devices.js';
import { gradcheck } from '../helpers/gradcheck.js';

describeDevices('sigmoidFocalLoss vs torchvision.ops', (device) => {
  boxLossFixtureTests(device, boxLossFixture.focal, { focal: (x: Tensor, t: Tensor, opts) => sigmoidFocalLoss(x, t, opts) });
});

it('sigmoidFocalLoss is differentiable in inputs and targets (finite differences)', () => {
  manualSeed(5);
  const logits = randn([3, 4]).mul(2);
  const targets = rand([3, 4]);
  gradcheck((x, t) => sigmoidFocalLoss(x, t), [logits, targets]);
  gradcheck((x, t) => sigmoidFocalLoss(x, t, { alpha: -1, gamma: 1.5, reduction: 'mean' }), [logits, targets]);
});

it('sigmoidFocalLoss leaves no temporaries behind', () => {
  const [x, t] = [randn([4, 3]), rand([4, 3])];
  const before = memory('cpu').tensors;
  noGrad(() => sigmoidFocalLoss(x, t, { reduction: 'sum' })).dispose();
  expect(memory('cpu').tensors).toBe(before);
});

it('sigmoidFocalLoss refuses bad arguments, naming itself and the argument', () => {
  const x = zeros([2, 3]);
  expect(() => sigmoidFocalLoss(x, zeros([3]))).toThrow(/sigmoidFocalLoss: expected targets of the shape of inputs \[2, 3\], got \[3\]/);
  expect(() => sigmoidFocalLoss(x, zeros([2, 3], { dtype: 'int32' }))).toThrow(/sigmoidFocalLoss: expected targets to have dtype float32, got int32/);
  expect(() => sigmoidFocalLoss(x.to('int32'), x)).toThrow(DTypeError);
  expect(() => sigmoidFocalLoss(x, x, { alpha: Number.NaN })).toThrow(/sigmoidFocalLoss: expected alpha to be a number/);
  expect(() => sigmoidFocalLoss(x, x, { gamma: Number.POSITIVE_INFINITY })).toThrow(/sigmoidFocalLoss: expected gamma to be a finite number, got Infinity/);
  expect(() => sigmoidFocalLoss(x, x, { reduction: 'all' as never })).toThrow(ArgumentError);
  expect(() => sigmoidFocalLoss(x, tensor([[1, 0, 1]], { dtype: 'float32' }))).toThrow(ShapeError);
});
