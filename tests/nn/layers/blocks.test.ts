// The generic blocks of lib/nn/layers/blocks.ts: squeeze-and-excitation against a
// float64 reference of its formula, the separable convolution's layout, and
// Conv2dNormActivation's names against torchvision's.
import { describe, expect, it } from 'vitest';

import { manualSeed, models, nn, noGrad, profile, randn, type Tensor } from '../../../lib/index.js';
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

describe('Conv2dNormActivation in eval mode without autograd: one convolution', () => {
  /** A block with BatchNorm statistics away from their defaults, in eval mode. */
  function block(activationLayer: (() => nn.Module) | null, groups = 1): nn.Conv2dNormActivation {
    const b = new nn.Conv2dNormActivation(8, 8, 3, { groups, activationLayer });
    const norm = b.at(1) as nn.BatchNorm2d;
    for (const [t, low, high] of [[norm.runningMean!, -1, 1], [norm.runningVar!, 0.5, 2], [norm.weight!, 0.5, 1.5], [norm.bias!, -0.5, 0.5]] as const) {
      nn.init.uniform_(t, low, high);
    }
    return b.eval();
  }
  /** The block's layers one by one: a forward hook makes the block take that path. */
  const layerByLayer = (b: nn.Conv2dNormActivation, x: Tensor) => {
    const remove = b.registerForwardHook(() => undefined);
    const out = noGrad(() => b.call(x));
    remove();
    return out;
  };
  const opsOf = async (fn: () => unknown) => (await profile(fn)).ops.map((o) => o.op);

  it.each([
    ['ReLU', () => new nn.ReLU(), 1],
    ['ReLU6', () => new nn.ReLU6(), 1],
    ['SiLU', () => new nn.SiLU(), 1],
    ['SiLU, depthwise', () => new nn.SiLU(), 8],
    ['no activation', null, 1],
  ] as const)('%s: folds the BatchNorm and applies the activation in the convolution, as the layers compute', async (_, act, groups) => {
    manualSeed(3);
    const b = block(act, groups);
    const x = randn([2, 8, 9, 7]).mul(3);
    const want = layerByLayer(b, x);
    expect(await opsOf(() => layerByLayer(b, x))).toContain('batchNorm');
    let got: Tensor | null = null;
    const ops = await opsOf(() => (got = noGrad(() => b.call(x))));
    expect(ops).not.toContain('batchNorm');
    expect(ops.filter((op) => op === 'conv2d' || op === 'relu' || op === 'silu' || op === 'relu6')).toEqual(['conv2d']);
    expectClose(got!, want, 1e-5);
  });

  it('runs the layers one by one in training, with autograd, under hooks on a layer, or for an activation it cannot fuse', async () => {
    manualSeed(4);
    const x = randn([2, 8, 6, 6]);
    // A separate relu kernel shows that the layers ran one by one.
    const relu = block(() => new nn.ReLU());
    expect(await opsOf(() => noGrad(() => relu.call(x)))).not.toContain('relu');
    expect(await opsOf(() => relu.call(x))).toContain('relu'); // parameters that need gradients
    const hooked = block(() => new nn.ReLU());
    (hooked.at(1) as nn.BatchNorm2d).registerForwardHook(() => undefined);
    expect(await opsOf(() => noGrad(() => hooked.call(x)))).toContain('relu');
    const training = block(() => new nn.ReLU()).train();
    expect(await opsOf(() => noGrad(() => training.call(x)))).toContain('relu');
    const hardswish = block(() => new nn.Hardswish());
    expect(await opsOf(() => noGrad(() => hardswish.call(x)))).toContain('batchNorm');
  });
});
