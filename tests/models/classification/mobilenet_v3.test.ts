// MobileNetV3's layout against torchvision 0.14 (counts and shapes printed there); its
// outputs against torchvision's are in interop.test.ts.
import { expect, it } from 'vitest';

import { ArgumentError, manualSeed, models, nn, noGrad, randn } from '../../../lib/index.js';

it('mobilenetV3Large matches torchvision: parameter count, state-dict names, strided blocks, widths', () => {
  manualSeed(3);
  const net = models.mobilenetV3Large();
  expect(net.parameterCount()).toBe(5483032);
  expect(net.stateDict().size).toBe(312);
  const names = [...net.stateDict().keys()];
  expect(names).toContain('features.1.block.0.0.weight'); // expansion 1: depthwise first
  expect(names).toContain('features.4.block.2.fc1.weight'); // squeeze-and-excitation
  expect(names).toContain('features.16.1.running_var');
  expect(names).toContain('classifier.3.bias');
  const blocks = [...net.features.children()];
  // torchvision's _is_cn blocks, and each block's out_channels.
  expect(blocks.flatMap((b, i) => (b instanceof models.InvertedResidualV3 && b.startsStage ? [i] : []))).toEqual([2, 4, 7, 13]);
  const widths = blocks.map((b) => (b instanceof models.InvertedResidualV3 || b instanceof nn.Conv2dNormActivation ? b.outChannels : -1));
  expect(widths).toEqual([16, 16, 24, 24, 40, 40, 40, 80, 80, 80, 80, 112, 112, 160, 160, 160, 960]);
  // SE width _make_divisible(72 // 4, 8) = 24; the gate is a Hardsigmoid; BN eps 0.001.
  const se = [...net.modules()].find((m) => m instanceof nn.SqueezeExcitation) as nn.SqueezeExcitation;
  expect(se.fc1.outChannels).toBe(24);
  expect(se.scaleActivation).toBeInstanceOf(nn.Hardsigmoid);
  const bn = [...net.modules()].find((m) => m instanceof nn.BatchNorm2d) as nn.BatchNorm2d;
  expect(bn.options).toEqual({ eps: 0.001, momentum: 0.01 });
  net.dispose();
});

it('mobilenetV3Small matches torchvision: parameter count and state-dict entries; any class count', () => {
  manualSeed(4);
  const net = models.mobilenetV3Small({ numClasses: 7 }).eval();
  expect(net.stateDict().size).toBe(244);
  expect(net.stateDict().get('classifier.0.weight')!.shape).toEqual([1024, 576]);
  expect(noGrad(() => net.call(randn([2, 3, 71, 71]))).shape).toEqual([2, 7]);
  net.dispose();
  expect(models.mobilenetV3Small().parameterCount()).toBe(2542856);
  // torchvision: mobilenet_v3_small(reduced_tail=True, width_mult=0.75) has 752,848.
  expect(models.mobilenetV3Small({ reducedTail: true, widthMult: 0.75 }).parameterCount()).toBe(752848);
});

it('dilated keeps output stride 16 for LR-ASPP (71x71 -> 5x5, not 3x3) with the same parameters', () => {
  manualSeed(5);
  const plain = models.mobilenetV3Large().eval();
  const dilated = models.mobilenetV3Large({ dilated: true }).eval();
  expect(dilated.parameterCount()).toBe(plain.parameterCount());
  const x = randn([1, 3, 71, 71]);
  expect(noGrad(() => plain.features.call(x)).shape).toEqual([1, 960, 3, 3]);
  expect(noGrad(() => dilated.features.call(x)).shape).toEqual([1, 960, 5, 5]);
  // Its first last-stage block still starts a stage, as torchvision's _is_cn.
  expect(([...dilated.features.children()][13] as models.InvertedResidualV3).startsStage).toBe(true);
  plain.dispose();
  dilated.dispose();
});

it('makeDivisible is torchvision\'s _make_divisible', () => {
  // _make_divisible(v, 8) for these v, printed by torchvision 0.14.
  expect([18, 16 * 0.75, 72 * 0.35, 1280, 3, 100].map((v) => models.makeDivisible(v))).toEqual([24, 16, 24, 1280, 8, 104]);
});

it('rejects bad options naming the model and the option', () => {
  expect(() => models.mobilenetV3Large({ widthMult: 0 })).toThrow(ArgumentError);
  expect(() => models.mobilenetV3Large({ widthMult: 0 })).toThrow(/mobilenetV3Large: expected widthMult to be a positive number, got 0/);
  expect(() => models.mobilenetV3Small({ dropout: 2 })).toThrow(/mobilenetV3Small: expected dropout in \[0, 1\], got 2/);
  expect(() => models.mobilenetV3Small({ numClasses: 0 })).toThrow(/mobilenetV3Small/);
  const cnf = { inputChannels: 8, kernel: 3, expandedChannels: 8, outChannels: 8, useSe: false, useHardswish: false, stride: 3, dilation: 1 };
  expect(() => new models.InvertedResidualV3(cnf)).toThrow(/InvertedResidualV3: expected stride 1 or 2, got 3/);
});
