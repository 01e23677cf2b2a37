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
