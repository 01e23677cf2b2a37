import { expect, it } from 'vitest';

import {
  ArgumentError,
  DTypeError,
  focalLoss,
  manualSeed,
  memory,
  noGrad,
  rand,
  randint,
  randn,
  ShapeError,
  sigmoidFocalLoss,
  tensor,
  zeros,
  type FocalLossOptions,
  type Tensor,
} from '../../lib/index.js';
import { boxLossFixture, boxLossFixtureTests } from '../helpers/box_loss_cases.js';
import { describeDevices, expectClose } from '../helpers/devices.js';
import { gradcheck } from '../helpers/gradcheck.js';
import { segmentationLossTests } from '../helpers/segmentation_cases.js';

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

describeDevices("focalLoss (segmentation) vs MONAI's FocalLoss (written out in torch)", (device) => {
  segmentationLossTests(device, { focal: (x, t, o) => focalLoss(x, t, o as FocalLossOptions) });
});

it('focalLoss with alpha 1, gamma 2 at p_t 0.9 is 0.0010536 (issue 14), binary and multi-class', () => {
  const expected = 0.01 * -Math.log(0.9);
  expectClose([expected], [0.0010536], 1e-4);
  const binary = focalLoss(tensor([[[Math.log(9)]]], { dtype: 'float32' }), tensor([[[1]]], { dtype: 'float32' }), { alpha: 1, gamma: 2 });
  expectClose(binary.dataSync(), [expected], 1e-5);
  // Two classes, the target's probability 0.9; the other class's term is 0.
  const multi = focalLoss(tensor([[[0], [Math.log(9)]]], { dtype: 'float32' }), tensor([[1]]), { softmax: true, alpha: 1, gamma: 2, reduction: 'sum' });
  expectClose(multi.dataSync(), [expected], 1e-5);
  // gamma 0 and no alpha is binary cross entropy.
  expectClose(focalLoss(tensor([[[Math.log(9)]]], { dtype: 'float32' }), tensor([[[1]]], { dtype: 'float32' }), { gamma: 0 }).dataSync(), [-Math.log(0.9)], 1e-5);
});

it('focalLoss stays finite at saturated logits', () => {
  const loss = focalLoss(tensor([[[80, -80]]], { dtype: 'float32' }), tensor([[[0, 1]]], { dtype: 'float32' }), { reduction: 'none' });
  expectClose(loss.dataSync(), [80, 80], 1e-5);
});

it('focalLoss matches finite differences', () => {
  manualSeed(17);
  const labels = randint(0, 3, [2, 3, 4]);
  gradcheck((x) => focalLoss(x, labels, { softmax: true, alpha: 0.25 }), [randn([2, 3, 3, 4])]);
  gradcheck((x) => focalLoss(x, labels, { softmax: true, gamma: 1.5, includeBackground: false, reduction: 'sum' }), [randn([2, 3, 3, 4])]);
  const masks = rand([2, 1, 3, 3]).gt(0.5).float();
  gradcheck((x) => focalLoss(x, masks, { alpha: 0.75, reduction: 'none' }), [randn([2, 1, 3, 3]).mul(2)]);
});

it('focalLoss refuses bad options, naming itself and the option', () => {
  const [x, t] = [randn([1, 2, 3, 3]), randint(0, 2, [1, 3, 3])];
  expect(() => focalLoss(x, t, { alpha: 1.5 })).toThrow(/focalLoss: expected alpha to be a number in \[0, 1\] or null \(no weighting\), got 1.5/);
  expect(() => focalLoss(x, t, { gamma: -2 })).toThrow(/focalLoss: expected gamma to be a finite number >= 0, got -2/);
  expect(() => focalLoss(x.slice(1, 0, 1), t, { softmax: true })).toThrow(/focalLoss: softmax over a single channel is always 1/);
  expect(() => focalLoss(x.slice(1, 0, 1), t, { includeBackground: false })).toThrow(/focalLoss: includeBackground false would drop the only channel/);
  expect(() => focalLoss(x, zeros([1, 3]))).toThrow(/focalLoss: expected target of shape \[1, 3, 3\] \(int32 class indices\) or \[1, 2, 3, 3\] \(one-hot\) for input \[1, 2, 3, 3\], got \[1, 3\]/);
  expect(() => focalLoss(x, t, { reduction: 'avg' as never })).toThrow(ArgumentError);
});
