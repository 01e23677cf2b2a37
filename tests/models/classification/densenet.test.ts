import { expect, it } from 'vitest';

import { models, noGrad, randn } from '../../../lib/index.js';
import { checkTrainingStep } from '../../helpers/training_step.js';

// torchvision 0.14: densenet121() has 7,978,856 parameters (6,964,106 with num_classes=10)
// and a state_dict of 727 entries.
it('densenet121: torchvision\'s parameter count, state-dict names and features layout', () => {
  const net = models.densenet121();
  expect(net.parameterCount()).toBe(7_978_856);
  const names = [...net.stateDict().keys()];
  expect(names).toHaveLength(727);
  expect(names).toEqual(expect.arrayContaining([
    'features.conv0.weight', 'features.norm0.running_mean',
    'features.denseblock1.denselayer1.norm1.weight', 'features.denseblock1.denselayer6.conv2.weight',
    'features.transition3.conv.weight', 'features.denseblock4.denselayer16.norm2.num_batches_tracked',
    'features.norm5.running_var', 'classifier.weight',
  ]));
  expect([...net.features.namedChildren()].map(([name]) => name)).toEqual([
    'conv0', 'norm0', 'relu0', 'pool0',
    'denseblock1', 'transition1', 'denseblock2', 'transition2', 'denseblock3', 'transition3', 'denseblock4', 'norm5',
  ]);
  const layer = [...net.features.namedModules()].find(([name]) => name === 'denseblock2.denselayer1')![1];
  expect([...layer.namedChildren()].map(([name]) => name)).toEqual(['norm1', 'relu1', 'conv1', 'norm2', 'relu2', 'conv2']);
  net.dispose();
});

it('a dense block concatenates its input with every layer\'s output; a transition halves channels and size', () => {
  const block = new models.DenseBlock(3, 8, 4, 2);
  expect(block.call(randn([2, 8, 6, 5])).shape).toEqual([2, 8 + 3 * 4, 6, 5]);
  expect(new models.DenseTransition(20, 10).call(randn([2, 20, 6, 5])).shape).toEqual([2, 10, 3, 2]);
  block.dispose();
});

it('densenet121: a training step on 2×3×32×32 with 10 classes', { timeout: 60_000 }, async () => {
  const net = models.densenet121({ numClasses: 10 });
  expect(net.parameterCount()).toBe(6_964_106);
  await checkTrainingStep(net, [2, 3, 32, 32], 10);
  net.eval();
  expect(noGrad(() => net.features.call(randn([1, 3, 64, 64]))).shape).toEqual([1, 1024, 2, 2]);
  net.dispose();
});

it('DenseNet takes torchvision\'s growth rate, block sizes and stem width, and refuses bad ones', () => {
  const small = new models.DenseNet({ growthRate: 4, blockConfig: [1, 2, 2, 1], numInitFeatures: 8, bnSize: 2, dropRate: 0.2, numClasses: 3 });
  // Channels: 8 -> +4 = 12 -> 6 -> +8 = 14 -> 7 -> +8 = 15 -> 7 -> +4 = 11 into the classifier.
  expect(small.classifier.weight.shape).toEqual([3, 11]);
  expect(small.call(randn([2, 3, 32, 32])).shape).toEqual([2, 3]);
  small.dispose();
  expect(() => new models.DenseNet({ blockConfig: [6, 12, 24] as never })).toThrow(/DenseNet: expected blockConfig to list 4 blocks, got 3/);
  expect(() => new models.DenseNet({ growthRate: 0 })).toThrow(/DenseNet: expected growthRate to be an integer >= 1, got 0/);
  expect(() => models.densenet121({ dropRate: 2 })).toThrow(/DenseNet: expected dropRate in \[0, 1\], got 2/);
});
