import { expect, it } from 'vitest';

import { manualSeed, models, nn, noGrad, randn } from '../../../lib/index.js';

// Parameter count printed by torchvision 0.14.
it('MobileNetV2 matches torchvision: parameter count, state-dict names, any class count', () => {
  manualSeed(3);
  const net = models.mobilenetV2();
  expect(net.parameterCount()).toBe(3504872);
  const names = [...net.stateDict().keys()];
  expect(names).toContain('features.1.conv.0.0.weight'); // expansion 1: depthwise first
  expect(names).toContain('features.2.conv.3.running_mean');
  expect(names).toContain('features.18.1.weight');
  expect(names).toContain('classifier.1.bias');
  net.dispose();
  const small = models.mobilenetV2({ numClasses: 5 }).eval();
  expect(noGrad(() => small.call(randn([1, 3, 64, 64]))).shape).toEqual([1, 5]);
  // Its activation is the generic nn.ReLU6 (hardtanh's gradient, tested in tests/nn).
  expect([...small.modules()].some((m) => m instanceof nn.ReLU6)).toBe(true);
  small.dispose();
});

// torchvision 0.14: mobilenet_v2(norm_layer=FrozenBatchNorm2d) has 3,470,760 parameters and
// 262 state-dict entries; its strided blocks (_is_cn) are features 2, 4, 7 and 14.
it('normLayer replaces every BatchNorm2d; blocks expose outChannels and stride as torchvision\'s', () => {
  manualSeed(6);
  const net = models.mobilenetV2({ normLayer: (c) => new nn.FrozenBatchNorm2d(c) });
  expect([...net.modules()].some((m) => m instanceof nn.BatchNorm2d)).toBe(false);
  expect(net.parameterCount()).toBe(3470760);
  expect(net.stateDict().size).toBe(262);
  const blocks = [...net.features.children()];
  const strided = blocks.flatMap((b, i) => (b instanceof models.InvertedResidual && b.stride > 1 ? [i] : []));
  expect(strided).toEqual([2, 4, 7, 14]);
  const out = blocks.map((b) => (b instanceof models.InvertedResidual || b instanceof nn.Conv2dNormActivation ? b.outChannels : -1));
  expect(out).toEqual([32, 16, 24, 24, 32, 32, 32, 64, 64, 64, 64, 96, 96, 96, 160, 160, 160, 320, 1280]);
  net.dispose();
});
