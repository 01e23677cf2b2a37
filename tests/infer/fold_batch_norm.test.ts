import { describe, expect, it } from 'vitest';

import { manualSeed, nn, randn } from '../../lib/index.js';
import { foldBatchNorms } from '../../lib/infer/index.js';
import { resnet18 } from '../../lib/models/index.js';
import { maxRelDiff, trainedNet } from '../helpers/folding_net.js';

describe('foldBatchNorms', () => {
  it('folds each BatchNorm fed by a convolution alone, leaves shared outputs, and restores the model', () => {
    const net = trainedNet();
    const x = randn([2, 3, 12, 12]);
    const reference = net.call(x);
    const folded = foldBatchNorms(net, x);
    expect(folded.pairs).toEqual([
      ['conv1', 'bn1'],
      ['conv2', 'bn2'],
    ]);
    expect(maxRelDiff(net.call(x), reference)).toBeLessThan(1e-5);
    // Training mode takes the layers' own forward: batch statistics, running stats updated.
    net.train();
    const before = net.bn1.runningMean!.tolist();
    net.call(x);
    expect(net.bn1.runningMean!.tolist()).not.toEqual(before);
    net.eval();
    folded.restore();
    expect(Object.hasOwn(net.conv1, 'forward')).toBe(false);
    expect(Object.hasOwn(net.bn1, 'forward')).toBe(false);
  });

  it("matches torchvision's resnet18 structure: every BatchNorm of the network folds, outputs agree to 1e-4", () => {
    manualSeed(0);
    const model = resnet18({ numClasses: 10 }).eval();
    for (const m of model.modules()) {
      if (m instanceof nn.BatchNorm2d) {
        m.runningMean = randn([m.numFeatures]).mul(0.1);
        m.runningVar = randn([m.numFeatures]).abs().add(0.5);
      }
    }
    const x = randn([2, 3, 64, 64]);
    const reference = model.call(x);
    const folded = foldBatchNorms(model, x);
    expect(folded.pairs.length).toBe(20); // stem + 16 block convs + 3 downsample convs
    expect(maxRelDiff(model.call(x), reference)).toBeLessThan(1e-4);
    folded.restore();
    expect(maxRelDiff(model.call(x), reference)).toBe(0);
  });
});
