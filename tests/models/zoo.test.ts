import { expect, it } from 'vitest';

import { manualSeed, models, nn, noGrad, randn, type Tensor } from '../../lib/index.js';

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

it("the course's CIFAR ResNet-34: 3-4-6-3 residual units, 'same' padding, counts by construction", () => {
  // By hand: the 3x3 stem plus conv/BN pairs of each unit, 1x1 projections where the shape changes, dense 512->10.
  const net = models.resnet34Cifar();
  expect(net.parameterCount()).toBe(21282122);
  expect([...net.modules()].filter((m) => m instanceof models.ResidualUnit)).toHaveLength(16);
  // The ImageNet stem (7x7/2) has torchvision resnet34's parameters exactly.
  const imagenet = models.resnet34Cifar({ stem: 'imagenet' });
  expect(imagenet.parameterCount()).toBe(21289802);
  imagenet.dispose();
  manualSeed(3);
  const x = randn([2, 3, 32, 32]);
  // Stem + 3 units at 64 + the first unit at 128 (stride 2 with 'same' padding halves 32 to 16).
  const layers = [...net.children()] as Array<nn.Module & { call(x: Tensor): Tensor }>;
  const features = layers.slice(0, 7).reduce<Tensor>((t, layer) => layer.call(t), x);
  expect(features.shape).toEqual([2, 128, 16, 16]);
  const out = net.call(x);
  expect(out.shape).toEqual([2, 10]);
  out.sum().backward();
  expect([...net.parameters()].every((p) => p.grad !== null)).toBe(true);
  net.dispose();
  expect(() => models.resnet34Cifar({ stem: 'tiny' as never })).toThrow(/stem 'cifar' or 'imagenet'/);
});

it('VGG parameter counts equal torchvision', () => {
  const v16 = models.vgg16();
  expect(v16.parameterCount()).toBe(138357544);
  v16.dispose();
  const v11 = models.vgg11({ numClasses: 10 });
  expect(v11.parameterCount()).toBe(128807306);
  expect([...v11.stateDict().keys()].slice(0, 2)).toEqual(['features.0.weight', 'features.0.bias']);
  v11.dispose();
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

it('MobileNetV2 matches torchvision; SE and separable blocks keep shapes', () => {
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
  small.dispose();
  const se = new models.SEBlock(32, 8);
  expect(se.call(randn([2, 32, 5, 5])).shape).toEqual([2, 32, 5, 5]);
  expect(se.parameterCount()).toBe(32 * 4 + 4 + 4 * 32 + 32);
  const sep = new models.SeparableConv2d(16, 32, 3, { stride: 2 });
  expect(sep.call(randn([1, 16, 9, 9])).shape).toEqual([1, 32, 5, 5]);
  expect(sep.parameterCount()).toBe(16 * 9 + 16 * 32 + 32);
});
