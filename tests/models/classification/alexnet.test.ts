import { expect, it } from 'vitest';

import { models, noGrad, randn } from '../../../lib/index.js';
import { checkTrainingStep } from '../../helpers/training_step.js';

// torchvision 0.14: alexnet() has 61,100,840 parameters (57,044,810 with num_classes=10) and
// a state_dict of 16 entries, features.0.weight ... classifier.6.bias.
it('alexnet: torchvision\'s parameter count and state-dict names', () => {
  const net = models.alexnet();
  expect(net.parameterCount()).toBe(61_100_840);
  const names = [...net.stateDict().keys()];
  expect(names).toHaveLength(16);
  expect(names).toEqual(expect.arrayContaining(['features.0.weight', 'features.10.bias', 'classifier.1.weight', 'classifier.4.weight', 'classifier.6.bias']));
  // Children in torchvision's order, forward's (flatten is a function there).
  expect([...net.namedChildren()].map(([name]) => name)).toEqual(['features', 'avgpool', 'flatten', 'classifier']);
  net.dispose();
});

it('alexnet: a training step on 2×3×64×64 with 10 classes; 63×63 is the smallest input, as torchvision\'s min_size', { timeout: 60_000 }, async () => {
  const net = models.alexnet({ numClasses: 10 });
  expect(net.parameterCount()).toBe(57_044_810);
  await checkTrainingStep(net, [2, 3, 64, 64], 10);
  net.eval();
  expect(noGrad(() => net.call(randn([1, 3, 63, 63]))).shape).toEqual([1, 10]);
  expect(noGrad(() => net.features.call(randn([1, 3, 63, 63]))).shape).toEqual([1, 256, 1, 1]);
  net.dispose();
});

it('alexnet refuses a dropout outside [0, 1]', () => {
  expect(() => models.alexnet({ dropout: 1.5 })).toThrow(/AlexNet: expected dropout in \[0, 1\], got 1.5/);
});
