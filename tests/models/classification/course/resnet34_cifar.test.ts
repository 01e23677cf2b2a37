import { expect, it } from 'vitest';

import { manualSeed, models, nn, randn, type Tensor } from '../../../../lib/index.js';

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
