// The generic blocks of lib/nn/layers/blocks.ts: squeeze-and-excitation against a
// float64 reference of its formula, the separable convolution's layout, and
// Conv2dNormActivation's names against torchvision's.
import { expect, it } from 'vitest';

import { manualSeed, models, nn, randn, type Tensor } from '../../../lib/index.js';
import { expectClose } from '../../helpers/devices.js';

const values = (t: Tensor | null) => Array.from(t!.dataSync());

it('SEBlock(6, 2) on [2, 6, 3, 3] scales each channel by sigmoid(fc2(relu(fc1(mean))))', () => {
  manualSeed(11);
  const se = new nn.SEBlock(6, 2);
  expect([...se.namedParameters()].map(([name, p]) => [name, p.shape])).toEqual([
    ['fc1.weight', [3, 6, 1, 1]],
    ['fc1.bias', [3]],
    ['fc2.weight', [6, 3, 1, 1]],
    ['fc2.bias', [6]],
  ]);
  const x = randn([2, 6, 3, 3]);
  const [w1, b1, w2, b2] = [values(se.fc1.weight), values(se.fc1.bias), values(se.fc2.weight), values(se.fc2.bias)];
  const xs = values(x);
  const expected: number[] = [];
  for (let n = 0; n < 2; ++n) {
    const mean = Array.from({ length: 6 }, (_, c) => xs.slice((n * 6 + c) * 9, (n * 6 + c + 1) * 9).reduce((a, v) => a + v, 0) / 9);
    const hidden = Array.from({ length: 3 }, (_, j) => Math.max(0, b1[j]! + mean.reduce((a, m, c) => a + w1[j * 6 + c]! * m, 0)));
    const scale = Array.from({ length: 6 }, (_, c) => 1 / (1 + Math.exp(-(b2[c]! + hidden.reduce((a, h, j) => a + w2[c * 3 + j]! * h, 0)))));
    for (let c = 0; c < 6; ++c) for (let k = 0; k < 9; ++k) expected.push(xs[(n * 6 + c) * 9 + k]! * scale[c]!);
  }
  const out = se.call(x);
  expect(out.shape).toEqual([2, 6, 3, 3]);
  expectClose(out.dataSync(), expected, 1e-5);
  // The squeeze never reaches zero channels.
  expect(new nn.SEBlock(8, 16).fc1.outChannels).toBe(1);
});

it("SqueezeExcitation(6, 3) is SEBlock(6, 2) with torchvision's names, and takes MobileNetV3's Hardsigmoid gate", () => {
  manualSeed(13);
  const reference = new nn.SEBlock(6, 2);
  const plain = new nn.SqueezeExcitation(6, 3);
  expect(plain.loadStateDict(reference.stateDict())).toEqual({ missing: [], unexpected: [] });
  const x = randn([2, 6, 3, 3]);
  expectClose(plain.call(x).dataSync(), Array.from(reference.call(x).dataSync()), 1e-7);
  // Hardsigmoid gate: x * clamp(z / 6 + 1/2, 0, 1) with z = fc2(relu(fc1(mean))).
  const gated = new nn.SqueezeExcitation(6, 3, { scaleActivation: () => new nn.Hardsigmoid() });
  gated.loadStateDict(reference.stateDict());
  const [w1, b1, w2, b2] = [values(gated.fc1.weight), values(gated.fc1.bias), values(gated.fc2.weight), values(gated.fc2.bias)];
  const xs = values(x);
  const expected: number[] = [];
  for (let n = 0; n < 2; ++n) {
    const mean = Array.from({ length: 6 }, (_, c) => xs.slice((n * 6 + c) * 9, (n * 6 + c + 1) * 9).reduce((a, v) => a + v, 0) / 9);
    const hidden = Array.from({ length: 3 }, (_, j) => Math.max(0, b1[j]! + mean.reduce((a, m, c) => a + w1[j * 6 + c]! * m, 0)));
    const scale = Array.from({ length: 6 }, (_, c) => Math.min(1, Math.max(0, (b2[c]! + hidden.reduce((a, h, j) => a + w2[c * 3 + j]! * h, 0)) / 6 + 0.5)));
    for (let c = 0; c < 6; ++c) for (let k = 0; k < 9; ++k) expected.push(xs[(n * 6 + c) * 9 + k]! * scale[c]!);
  }
  expectClose(gated.call(x).dataSync(), expected, 1e-5);
});

it('SeparableConv2d(16, 32, 3, stride 2): a bias-free depthwise 3x3 then a pointwise 1x1', () => {
  manualSeed(12);
  const sep = new nn.SeparableConv2d(16, 32, 3, { stride: 2 });
  expect([...sep.namedParameters()].map(([name, p]) => [name, p.shape])).toEqual([
    ['depthwise.weight', [16, 1, 3, 3]],
    ['pointwise.weight', [32, 16, 1, 1]],
    ['pointwise.bias', [32]],
  ]);
  expect(sep.call(randn([1, 16, 9, 9])).shape).toEqual([1, 32, 5, 5]);
  // 'same' padding by default keeps the size at stride 1; bias: false drops the last bias.
  const plain = new nn.SeparableConv2d(4, 8, 5, { bias: false });
  expect(plain.call(randn([2, 4, 7, 7])).shape).toEqual([2, 8, 7, 7]);
  expect(plain.parameterCount()).toBe(4 * 25 + 4 * 8);
});

it("Conv2dNormActivation has torchvision's layers, names and defaults", () => {
  manualSeed(13);
  // Printed by torchvision 0.14: Conv2dNormActivation(16, 32, 3, stride=2).state_dict().keys().
  const block = new nn.Conv2dNormActivation(16, 32, 3, { stride: 2 });
  expect([...block.stateDict().keys()]).toEqual(['0.weight', '1.weight', '1.bias', '1.running_mean', '1.running_var', '1.num_batches_tracked']);
  expect(block.at(2)).toBeInstanceOf(nn.ReLU);
  expect(block.call(randn([1, 16, 9, 9])).shape).toEqual([1, 32, 5, 5]);
  // Without a norm layer the convolution keeps its bias; padding follows the dilation: (5 - 1) / 2 * 2 = 4.
  const bare = new nn.Conv2dNormActivation(4, 8, 5, { normLayer: null, activationLayer: null, dilation: 2 });
  expect([...bare.stateDict().keys()]).toEqual(['0.weight', '0.bias']);
  expect(bare.call(randn([1, 4, 11, 11])).shape).toEqual([1, 8, 11, 11]);
  const depthwise = new nn.Conv2dNormActivation(8, 8, 3, { groups: 8, activationLayer: () => new nn.ReLU6() });
  expect(depthwise.at(2)).toBeInstanceOf(nn.ReLU6);
  expect((depthwise.at(0) as nn.Conv2d).weight.shape).toEqual([8, 1, 3, 3]);
  expect(() => new nn.Conv2dNormActivation(4, 8, 3, { dilation: 0 })).toThrow(/Conv2dNormActivation: expected dilation to be an integer >= 1, got 0/);
});

it('the blocks keep their old names under models', () => {
  expect(models.SEBlock).toBe(nn.SEBlock);
  expect(models.SeparableConv2d).toBe(nn.SeparableConv2d);
  expect(models.ReLU6).toBe(nn.ReLU6);
});

