import { describe, expect, it } from 'vitest';

import { nn, randn, type Tensor } from '../../../lib/index.js';

class Net extends nn.Module {
  conv = new nn.Conv2d(3, 4, 3);
  bn = new nn.BatchNorm2d(4, { momentum: 0.2 });
  head = new nn.Sequential(new nn.Flatten(), new nn.BatchNorm1d(4 * 6 * 6), new nn.ReLU());
  forward(x: Tensor): Tensor {
    return this.head.call(this.bn.call(this.conv.call(x)));
  }
}

describe('SyncBatchNorm', () => {
  it('convertSyncBatchnorm replaces every batch norm, in fields and containers, keeping names and values', async () => {
    const original = new Net();
    original.bn.runningMean!.add(0.5).dataSync();
    const before = original.stateDict();
    const values = new Map<string, number[]>();
    for (const [k, v] of before) values.set(k, Array.from(await v.data(), Number));
    const reference = new Net();
    reference.loadStateDict(before);

    const converted = nn.SyncBatchNorm.convertSyncBatchnorm(original) as Net;
    expect(converted).toBe(original);
    expect(converted.bn).toBeInstanceOf(nn.SyncBatchNorm);
    expect(converted.head.at(1)).toBeInstanceOf(nn.SyncBatchNorm);
    expect(converted.head.at(2)).toBeInstanceOf(nn.ReLU);
    const after = converted.stateDict();
    expect([...after.keys()]).toEqual([...before.keys()]);
    for (const [k, v] of after) expect(Array.from(await v.data(), Number), k).toEqual(values.get(k));
    expect((converted.bn as nn.SyncBatchNorm).options.momentum).toBe(0.2);

    // Without a process group it is an ordinary batch norm, in training and in eval.
    for (const train of [true, false]) {
      converted.train(train);
      reference.train(train);
      const x = randn([2, 3, 8, 8]);
      const [a, b] = [await converted.call(x).data(), await reference.call(x).data()];
      expect(Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)))).toBeLessThan(1e-6);
    }
  });

  it('converts a bare batch norm into a new module and keeps its mode and frozen parameters', () => {
    const bn = new nn.BatchNorm2d(3).eval();
    bn.requiresGrad_(false);
    const sync = nn.SyncBatchNorm.convertSyncBatchnorm(bn);
    expect(sync).toBeInstanceOf(nn.SyncBatchNorm);
    expect(sync.training).toBe(false);
    expect((sync as nn.SyncBatchNorm).weight!.requiresGrad).toBe(false);
    const plain = new nn.Linear(2, 2);
    expect(nn.SyncBatchNorm.convertSyncBatchnorm(plain)).toBe(plain);
  });
});
