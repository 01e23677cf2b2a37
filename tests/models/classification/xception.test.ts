// Xception (no torchvision reference): its layout against the paper's Figure 5, its
// parameter count worked out by hand (and equal to Keras' trainable count), shapes through
// the three flows, and a training step.
import { expect, it } from 'vitest';

import { ArgumentError, manualSeed, models, nn, noGrad, randn } from '../../../lib/index.js';
import { trainStep } from '../../helpers/train_step.js';

/** Parameters of Xception with widths `w` (32, 64, 128, 256, 728, 1024, 1536, 2048 scaled), counted layer by layer. */
function handCount(w: readonly number[], middleBlocks: number, numClasses: number): number {
  const [w32, w64, w128, w256, w728, w1024, w1536, w2048] = w as [number, number, number, number, number, number, number, number];
  const conv = (i: number, o: number, k: number) => i * o * k * k; // bias-free
  const bn = (c: number) => 2 * c; // weight and bias
  const sep = (i: number, o: number) => conv(1, i, 3) + conv(i, o, 1) + bn(o); // depthwise 3x3, pointwise, its BatchNorm
  const shortcut = (i: number, o: number) => conv(i, o, 1) + bn(o);
  const entry = conv(3, w32, 3) + bn(w32) + conv(w32, w64, 3) + bn(w64) +
    sep(w64, w128) + sep(w128, w128) + shortcut(w64, w128) +
    sep(w128, w256) + sep(w256, w256) + shortcut(w128, w256) +
    sep(w256, w728) + sep(w728, w728) + shortcut(w256, w728);
  const middle = middleBlocks * 3 * sep(w728, w728);
  const exit = sep(w728, w728) + sep(w728, w1024) + shortcut(w728, w1024) + sep(w1024, w1536) + sep(w1536, w2048);
  return entry + middle + exit + w2048 * numClasses + numClasses;
}

it('xception has the paper\'s parameter count: worked out by hand, and 22,855,952 (Keras\' trainable count) with 1000 classes', () => {
  manualSeed(1);
  const net = models.xception();
  const widths = [32, 64, 128, 256, 728, 1024, 1536, 2048];
  expect(handCount(widths, 8, 1000)).toBe(22855952);
  expect(net.parameterCount()).toBe(22855952);
  expect([net.entryFlow.length, net.middleFlow.length, net.exitFlow.length]).toEqual([9, 8, 7]);
  const block = net.entryFlow.at(6) as models.XceptionBlock;
  expect(block.rep.at(0)).toBeInstanceOf(nn.SeparableConv2d); // the first block starts without a ReLU
  expect([...block.skip!.stateDict().keys()]).toEqual(['0.weight', '1.weight', '1.bias', '1.running_mean', '1.running_var', '1.num_batches_tracked']);
  expect((net.middleFlow.at(0) as models.XceptionBlock).skip).toBeNull(); // identity shortcut
  net.dispose();
  // Scaled: widths x 0.25, rounded to multiples of 8 as models.makeDivisible does.
  const small = models.xception({ widthMult: 0.25, middleBlocks: 2, numClasses: 10 });
  expect(small.parameterCount()).toBe(handCount([8, 16, 32, 64, 184, 256, 384, 512], 2, 10));
  small.dispose();
});

it('a scaled xception keeps the flows\' strides (71x71 -> 3x3, 299x299 -> 10x10) and trains a step on 71x71, its smallest input', () => {
  manualSeed(2);
  const net = models.xception({ widthMult: 0.25, middleBlocks: 2, numClasses: 10 });
  net.eval();
  const features = (x: ReturnType<typeof randn>) => noGrad(() => net.exitFlow.call(net.middleFlow.call(net.entryFlow.call(x))));
  expect(features(randn([1, 3, 71, 71])).shape).toEqual([1, 512, 3, 3]);
  expect(features(randn([1, 3, 299, 299])).shape).toEqual([1, 512, 10, 10]);
  expect(noGrad(() => net.call(randn([1, 3, 80, 120]))).shape).toEqual([1, 10]);
  trainStep(net, randn([2, 3, 71, 71]), 10);
  net.dispose();
});

it('xception and XceptionBlock reject bad options, naming them', () => {
  expect(() => models.xception({ widthMult: 0 })).toThrow(/Xception: expected widthMult to be a positive number, got 0/);
  expect(() => models.xception({ middleBlocks: 1.5 })).toThrow(/Xception: expected middleBlocks/);
  expect(() => models.xception({ numClasses: 0 })).toThrow(ArgumentError);
  expect(() => new models.XceptionBlock(8, 8, { stride: 3 })).toThrow(/XceptionBlock: expected stride 1 or 2, got 3/);
  expect(() => new models.XceptionBlock(8, 8, { reps: 0 })).toThrow(/XceptionBlock: expected reps/);
  // growFirst false widens at the last separable conv (the exit flow's block).
  const late = new models.XceptionBlock(8, 16, { reps: 2, stride: 2, growFirst: false });
  expect((late.rep.at(1) as nn.SeparableConv2d).pointwise.outChannels).toBe(8);
  expect(late.call(randn([1, 8, 9, 9])).shape).toEqual([1, 16, 5, 5]);
});
