import { expect, it } from 'vitest';

import { manualSeed, models, noGrad, randn } from '../../../lib/index.js';

// Parameter counts printed by torchvision 0.14 for the same architectures.
it('ResNet parameter counts and state-dict names equal torchvision', () => {
  manualSeed(1);
  const r18 = models.resnet18();
  expect(r18.parameterCount()).toBe(11689512);
  const names = [...r18.stateDict().keys()];
  expect(names).toContain('layer2.0.downsample.0.weight');
  expect(names).toContain('layer4.1.bn2.running_var');
  expect(names).toContain('fc.bias');
  expect(names).toHaveLength(122); // torchvision's resnet18 state_dict has 122 entries
  r18.dispose();
  const r50 = models.resnet50();
  expect(r50.parameterCount()).toBe(25557032);
  r50.dispose();
  const r34 = models.resnet34({ numClasses: 10 });
  expect(r34.parameterCount()).toBe(21289802);
  r34.dispose();
});

it('a ResNet runs forward and backward on small images with any class count', () => {
  manualSeed(2);
  const net = models.resnet18({ numClasses: 7, inChannels: 1 });
  const x = randn([2, 1, 32, 32]);
  const out = net.call(x);
  expect(out.shape).toEqual([2, 7]);
  out.sum().backward();
  expect(net.conv1.weight.grad!.shape).toEqual([64, 1, 7, 7]);
  net.eval();
  expect(noGrad(() => net.call(x)).shape).toEqual([2, 7]);
  net.dispose();
});
