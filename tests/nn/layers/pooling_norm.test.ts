import { describe, expect, it } from 'vitest';

import { ArgumentError, batchNorm, KeyError, manualSeed, maxPool3d, memory, nn, noGrad, profile, randn, ShapeError, synchronize, tensor, zeros, type Tensor } from '../../../lib/index.js';
import { gradcheck } from '../../helpers/gradcheck.js';

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

it('BatchNorm2d in training counts the batch with one add into numBatchesTracked, and frees its scalar', async () => {
  const bn = new nn.BatchNorm2d(3);
  const x = randn([2, 3, 4, 4]);
  await synchronize(); // the kernels queued before stay out of the profile
  const before = memory('cpu').tensors;
  const { ops } = await profile(() => noGrad(() => bn.call(x).dispose()));
  // The scalar 1 (full) and one add; bumping it through a new tensor also queued a copy back.
  expect(ops.filter((o) => o.op === 'add' || o.op === 'copy' || o.op === 'full').map((o) => [o.op, o.count]).sort()).toEqual([['add', 1], ['full', 1]]);
  expect(memory('cpu').tensors).toBe(before);
  bn.call(x).dispose();
  expect(bn.numBatchesTracked!.dtype).toBe('int32');
  expect(bn.numBatchesTracked!.item()).toBe(2);
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

describe('FrozenBatchNorm2d', () => {
  // torchvision.ops.FrozenBatchNorm2d.forward, in float64: x * w / sqrt(rv + eps) + (b - rm * w / sqrt(rv + eps)).
  const reference = (x: Tensor, w: number[], b: number[], rm: number[], rv: number[], eps: number) => {
    const [, c, h, wd] = x.shape as [number, number, number, number];
    return Array.from(x.dataSync(), (v, i) => {
      const ch = Math.floor(i / (h * wd)) % c;
      const scale = w[ch]! / Math.sqrt(rv[ch]! + eps);
      return v * scale + (b[ch]! - rm[ch]! * scale);
    });
  };

  it('has torchvision buffers and no parameters, and applies them in training mode too, changing nothing', () => {
    manualSeed(3);
    const bn = new nn.FrozenBatchNorm2d(3);
    expect([...bn.stateDict().keys()]).toEqual(['weight', 'bias', 'running_mean', 'running_var']);
    expect(bn.parameterCount()).toBe(0);
    const stats = { w: [0.5, 2, -1], b: [0.1, -0.2, 0.3], rm: [1, -1, 0.5], rv: [0.25, 4, 1.5] };
    bn.loadStateDict({
      weight: tensor(stats.w, { dtype: 'float32' }),
      bias: tensor(stats.b, { dtype: 'float32' }),
      running_mean: tensor(stats.rm, { dtype: 'float32' }),
      running_var: tensor(stats.rv, { dtype: 'float32' }),
    });
    const x = randn([2, 3, 4, 5]);
    const expected = reference(x, stats.w, stats.b, stats.rm, stats.rv, 1e-5);
    for (const mode of [true, false]) {
      bn.train(mode);
      const out = bn.call(x);
      expect(out.shape).toEqual([2, 3, 4, 5]);
      Array.from(out.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
    }
    expect(Array.from(bn.runningMean.dataSync())).toEqual(stats.rm);
    expect(Array.from(bn.runningVar.dataSync())).toEqual(stats.rv);
    expect(bn.getBuffer('weight')).toBe(bn.weight);
    expect(bn.toString()).toBe('FrozenBatchNorm2d(3, eps=0.00001)');
  });

  it('passes gradients to its input only', () => {
    const bn = new nn.FrozenBatchNorm2d(2, 1e-3);
    bn.loadStateDict({ weight: tensor([2, 3], { dtype: 'float32' }), bias: zeros([2]), running_mean: zeros([2]), running_var: tensor([1, 4], { dtype: 'float32' }) });
    const x = randn([1, 2, 2, 2]).requiresGrad_();
    bn.call(x).sum().backward();
    const g = Array.from(x.grad!.dataSync());
    [0, 1, 2, 3].forEach((i) => expect(g[i]).toBeCloseTo(2 / Math.sqrt(1.001), 5));
    [4, 5, 6, 7].forEach((i) => expect(g[i]).toBeCloseTo(3 / Math.sqrt(4.001), 5));
    expect(bn.weight.grad).toBeNull();
  });

  it('loads a BatchNorm2d state dict strictly, dropping num_batches_tracked as torchvision does, without touching the caller\'s dict', () => {
    manualSeed(4);
    const trained = new nn.BatchNorm2d(4);
    trained.call(randn([8, 4, 3, 3]).mul(3).add(2)); // moves the running statistics, counts a batch
    trained.eval();
    const dict = trained.stateDict();
    expect(dict.has('num_batches_tracked')).toBe(true);
    const frozen = new nn.FrozenBatchNorm2d(4);
    expect(frozen.loadStateDict(dict)).toEqual({ missing: [], unexpected: [] });
    expect(dict.size).toBe(5);
    const x = randn([2, 4, 3, 3]);
    const diff = noGrad(() => frozen.call(x).sub(trained.call(x)).abs().max().item());
    expect(diff).toBeLessThan(1e-5);
    // Inside a model, under its prefix, too.
    const net = new nn.Sequential(new nn.Conv2d(4, 4, 1), new nn.BatchNorm2d(4));
    const frozenNet = new nn.Sequential(new nn.Conv2d(4, 4, 1), new nn.FrozenBatchNorm2d(4));
    expect(() => frozenNet.loadStateDict(net.stateDict())).not.toThrow();
    // Other keys still count: a strict load with a stray one fails.
    expect(() => frozen.loadStateDict({ ...Object.fromEntries(dict), extra: zeros([1]) })).toThrow(KeyError);
  });

  it('refuses bad arguments with typed errors naming the layer', () => {
    expect(() => new nn.FrozenBatchNorm2d(0)).toThrow(/FrozenBatchNorm2d: expected numFeatures/);
    expect(() => new nn.FrozenBatchNorm2d(3, 0)).toThrow(ArgumentError);
    expect(() => new nn.FrozenBatchNorm2d(3, 0)).toThrow(/FrozenBatchNorm2d: expected eps > 0, got 0/);
    const bn = new nn.FrozenBatchNorm2d(3);
    expect(() => bn.call(zeros([3, 4, 4]))).toThrow(ShapeError);
    expect(() => bn.call(zeros([3, 4, 4]))).toThrow(/FrozenBatchNorm2d: expected input \[N, 3, H, W\], got shape \[3, 4, 4\]/);
    expect(() => bn.call(zeros([1, 2, 4, 4]))).toThrow(/batchNorm/);
  });
});

it('MaxPool3d and BatchNorm3d work on volumes [N, C, D, H, W]', () => {
  const x = randn([2, 3, 4, 4, 6]);
  expect(new nn.MaxPool3d(2).call(x).shape).toEqual([2, 3, 2, 2, 3]);
  expect(Array.from(new nn.MaxPool3d(2).call(x).dataSync())).toEqual(Array.from(maxPool3d(x, 2).dataSync()));
  expect(() => new nn.MaxPool3d([2, 2])).toThrow(/MaxPool3d: expected kernelSize/);
  const bn = new nn.BatchNorm3d(3);
  const y = bn.call(x);
  // Per channel: mean 0 and (biased) variance 1 over N, D, H, W.
  const mean = y.mean([0, 2, 3, 4]).dataSync();
  const variance = y.pow(2).mean([0, 2, 3, 4]).dataSync();
  mean.forEach((m) => expect(Math.abs(m)).toBeLessThan(1e-5));
  variance.forEach((v) => expect(Math.abs(v - 1)).toBeLessThan(1e-3));
  expect(bn.runningMean!.shape).toEqual([3]);
});

it('BatchNorm2d takes a one-channel channels-last map (a 1-channel conv output)', () => {
  // Convolutions return channels-last, so one channel has strides [HW, 1, W, 1].
  const x = new nn.Conv2d(1, 1, 3, { padding: 1 }).call(randn([1, 1, 6, 6]));
  expect(x.strides).toEqual([36, 1, 6, 1]);
  const y = new nn.BatchNorm2d(1).call(x);
  expect(y.shape).toEqual([1, 1, 6, 6]);
});

it("LayerNorm2d normalises each pixel's channels with eps and affine, as torchvision's (float64 reference)", () => {
  manualSeed(41);
  const norm = new nn.LayerNorm2d(5, { eps: 1e-6 });
  expect([...norm.namedParameters()].map(([name, p]) => [name, p.shape])).toEqual([
    ['weight', [5]],
    ['bias', [5]],
  ]);
  const w = [0.5, 1, 1.5, 2, -1];
  const b = [0, 0.1, -0.2, 0.3, 1];
  norm.loadStateDict({ weight: tensor(w, { dtype: 'float32' }), bias: tensor(b, { dtype: 'float32' }) });
  const x = randn([2, 5, 3, 4]);
  const xs = Array.from(x.dataSync());
  const expected = new Array<number>(xs.length);
  for (let n = 0; n < 2; ++n) {
    for (let p = 0; p < 12; ++p) {
      const at = (c: number) => (n * 5 + c) * 12 + p;
      const v = [0, 1, 2, 3, 4].map((c) => xs[at(c)]!);
      const mean = v.reduce((s, e) => s + e, 0) / 5;
      const variance = v.reduce((s, e) => s + (e - mean) ** 2, 0) / 5;
      v.forEach((e, c) => (expected[at(c)] = ((e - mean) / Math.sqrt(variance + 1e-6)) * w[c]! + b[c]!));
    }
  }
  const out = norm.call(x);
  expect(out.shape).toEqual([2, 5, 3, 4]);
  Array.from(out.dataSync()).forEach((v, i) => expect(Math.abs(v - expected[i]!)).toBeLessThan(1e-5));
  expect(() => norm.call(randn([2, 5, 3]))).toThrow(/LayerNorm2d: expected input \[N, 5, H, W\], got shape \[2, 5, 3\]/);
});

it('LayerNorm2d: the input gradient matches finite differences; weight and bias get theirs per channel', () => {
  manualSeed(42);
  const norm = new nn.LayerNorm2d(3);
  norm.loadStateDict({ weight: randn([3]), bias: randn([3]) });
  gradcheck((x) => norm.call(x!), [randn([2, 3, 2, 2])]);
  // d sum(out) / d bias = N * H * W for every channel; d / d weight = the normalised values' sum.
  norm.zeroGrad();
  const x = randn([2, 3, 2, 2]);
  norm.call(x).sum().backward();
  expect(Array.from(norm.bias!.grad!.dataSync())).toEqual([8, 8, 8]);
  expect(norm.weight!.grad!.shape).toEqual([3]);
});
