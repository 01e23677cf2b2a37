import { expect, it } from 'vitest';

import { manualSeed, models, noGrad, randn } from '../../../../lib/index.js';

// Counts of the equivalent torch.nn.Sequential, printed by torch 1.13.
it("the course's small nets: LeNet-5, the Fashion-MNIST CNN and simpleCnn, with their parameter counts and output shapes", () => {
  manualSeed(4);
  const lenet = models.lenet5();
  expect(lenet.parameterCount()).toBe(61706);
  expect([...lenet.stateDict().keys()].slice(0, 2)).toEqual(['0.weight', '0.bias']);
  expect(noGrad(() => lenet.call(randn([2, 1, 28, 28]))).shape).toEqual([2, 10]);
  const fashion = models.fashionMnistCnn({ numClasses: 5 }).eval();
  expect(fashion.parameterCount()).toBe(1413834 - 65 * 5);
  expect(noGrad(() => fashion.call(randn([1, 1, 28, 28]))).shape).toEqual([1, 5]);
  const small = models.simpleCnn({ inChannels: 1 }).eval();
  expect(small.parameterCount()).toBe(421738);
  expect(noGrad(() => small.call(randn([3, 1, 32, 32]))).shape).toEqual([3, 10]);
  for (const net of [lenet, fashion, small]) net.dispose();
});
