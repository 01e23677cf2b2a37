import { expect, it } from 'vitest';

import { ArgumentError, batchNorm, manualSeed, memory, nn, noGrad, randn, tensor, zeros, type Tensor } from '../../../lib/index.js';

it('pooling and normalization layers refuse bad arguments at construction, not at the first forward', () => {
  expect(() => new nn.MaxPool2d(0)).toThrow(/MaxPool2d: expected kernelSize/);
  expect(() => new nn.AvgPool2d(2, { stride: [2] })).toThrow(/AvgPool2d: expected stride/);
  expect(() => new nn.MaxUnpool2d(2, { padding: -1 })).toThrow(/MaxUnpool2d: expected padding/);
  expect(() => new nn.AdaptiveAvgPool2d([7])).toThrow(/AdaptiveAvgPool2d: expected outputSize/);
  expect(() => new nn.AdaptiveAvgPool2d(0)).toThrow(ArgumentError);
  expect(new nn.AdaptiveAvgPool2d([null, 3]).call(zeros([1, 1, 4, 6])).shape).toEqual([1, 1, 4, 3]);
  expect(() => new nn.GroupNorm(3, 8)).toThrow(/GroupNorm: numChannels 8 must be divisible by numGroups 3/);
  expect(() => new nn.GroupNorm(0, 8)).toThrow(ArgumentError);
  expect(() => new nn.LayerNorm([4, 0])).toThrow(/LayerNorm: expected normalizedShape\[1\] to be an integer >= 1/);
  expect(new nn.MaxPool2d([2, 2], { stride: 1 }).kernelSize).toEqual([2, 2]);
});

it('BatchNorm runningMean/runningVar/numBatchesTracked are the registered buffers, under PyTorch names', () => {
  manualSeed(7);
  const bn = new nn.BatchNorm2d(3);
  const dict = bn.stateDict();
  expect([...dict.keys()]).toEqual(['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
  expect(bn.runningMean).toBe(dict.get('running_mean'));
  expect(bn.runningVar).toBe(dict.get('running_var'));
  expect(bn.numBatchesTracked).toBe(dict.get('num_batches_tracked'));
  bn.call(randn([4, 3, 2, 2]).add(5));
  expect(bn.numBatchesTracked!.item()).toBe(1);
  expect(Math.min(...Array.from(bn.runningMean!.dataSync()))).toBeGreaterThan(0.3); // 0.1 * ~5

  // Assigning a property replaces the buffer the state dict, to() and eval mode use.
  bn.runningMean = tensor([1, 2, 3], { dtype: 'float32' });
  bn.runningVar = tensor([4, 4, 4], { dtype: 'float32' });
  expect(Array.from(bn.stateDict().get('running_mean')!.dataSync())).toEqual([1, 2, 3]);
  expect(bn.getBuffer('running_var')).toBe(bn.runningVar);
  bn.eval();
  const out = bn.call(tensor([1, 2, 3], { dtype: 'float32' }).reshape([1, 3, 1, 1]));
  expect(Array.from(out.dataSync()).map((v) => Math.round(v * 1e4) / 1e4)).toEqual([0, 0, 0]);

  const untracked = new nn.BatchNorm1d(2, { trackRunningStats: false });
  expect([untracked.runningMean, untracked.runningVar, untracked.numBatchesTracked]).toEqual([null, null, null]);
  expect([...untracked.stateDict().keys()]).toEqual(['weight', 'bias']);
});

it('a training-mode BatchNorm forward leaves behind no more tensors than the functional batchNorm it calls', () => {
  // (ops/norm.ts's running-statistics update leaves its own temporaries to the GC today;
  // the layer must add none of its own, e.g. the num_batches_tracked increment.)
  const bn = new nn.BatchNorm2d(2);
  const x = randn([2, 2, 3, 3]);
  const leftBy = (step: () => Tensor) => {
    noGrad(step).dispose(); // warm-up: anything made once
    const before = memory('cpu').tensors;
    for (let i = 0; i < 3; i++) noGrad(step).dispose();
    return memory('cpu').tensors - before;
  };
  const functional = leftBy(() => batchNorm(x, bn.runningMean, bn.runningVar, bn.weight, bn.bias, { training: true, momentum: 0.1, eps: 1e-5 }));
  expect(leftBy(() => bn.call(x))).toBe(functional);
  expect(bn.numBatchesTracked!.item()).toBe(4);
});
