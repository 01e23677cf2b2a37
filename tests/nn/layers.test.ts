import { expect, it } from 'vitest';

import { ArgumentError, batchNorm, manualSeed, memory, nn, noGrad, randn, ShapeError, tensor, zeros, type Tensor } from '../../lib/index.js';

it('LazyLinear creates its weight from the first input', () => {
  manualSeed(5);
  const lazy = new nn.LazyLinear(3);
  expect([...lazy.parameters()]).toHaveLength(0);
  expect(lazy.call(randn([2, 7])).shape).toEqual([2, 3]);
  expect([...lazy.namedParameters()].map(([name, p]) => [name, p.shape])).toEqual([
    ['weight', [3, 7]],
    ['bias', [3]],
  ]);
});

it('ModuleList and ModuleDict register children in order and by name', () => {
  const list = new nn.ModuleList([new nn.Linear(2, 2), new nn.ReLU()]);
  list.push(new nn.Linear(2, 1));
  expect(list.length).toBe(3);
  expect([...list.namedParameters()].map(([n]) => n)).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
  expect(list.at(-1)).toBeInstanceOf(nn.Linear);
  expect(() => list.at(5)).toThrow(ArgumentError);
  const dict = new nn.ModuleDict({ encoder: new nn.Linear(4, 2) });
  dict.set('decoder', new nn.Linear(2, 4));
  expect([...dict.stateDict().keys()]).toEqual(['encoder.weight', 'encoder.bias', 'decoder.weight', 'decoder.bias']);
  expect(dict.get('decoder')).toBeInstanceOf(nn.Linear);
});

it('layers refuse bad arguments at construction, not at the first forward', () => {
  // torch: "dropout probability has to be between 0 and 1, but got 2"; this used to be accepted.
  expect(() => new nn.Dropout(2)).toThrow(ArgumentError);
  expect(() => new nn.Dropout(2)).toThrow('Dropout: expected p in [0, 1], got 2 (number)');
  expect(() => new nn.Dropout(-0.1)).toThrow(ArgumentError);
  expect(() => new nn.Dropout2d(NaN)).toThrow(/Dropout2d: expected p in \[0, 1\]/);
  expect(new nn.Dropout(1).p).toBe(1);
  expect(() => new nn.Linear(0, 3)).toThrow(/Linear: expected inFeatures to be an integer >= 1, got 0/);
  expect(() => new nn.Linear(3, 2.5)).toThrow(ArgumentError);
  expect(() => new nn.LazyLinear(-1)).toThrow(/LazyLinear: expected outFeatures/);
  expect(() => new nn.Flatten(0.5)).toThrow(/Flatten: expected startDim to be an integer, got 0.5/);
  expect(() => new nn.Conv2d(0, 8, 3)).toThrow(/Conv2d: expected inChannels to be an integer >= 1/);
  expect(() => new nn.Conv2d(3, 8, 0)).toThrow(/Conv2d: expected kernelSize/);
  expect(() => new nn.Conv2d(3, 8, [3])).toThrow(/Conv2d: expected kernelSize to be an integer >= 1 or a list of 2 of them/);
  expect(() => new nn.Conv2d(3, 8, 3, { stride: [1] })).toThrow(/Conv2d: expected stride/);
  expect(() => new nn.Conv1d(3, 8, 3, { padding: [1, 1] })).toThrow(/Conv1d: expected padding/);
  expect(() => new nn.Conv3d(3, 8, 3, { dilation: 0 })).toThrow(/Conv3d: expected dilation/);
  expect(() => new nn.Conv2d(4, 8, 3, { groups: 0 })).toThrow(ShapeError);
  expect(() => new nn.Conv2d(4, 8, 3, { padding: 'full' as never })).toThrow(/Conv2d: expected padding to be a number, a list, 'same' or 'valid'/);
  expect(() => new nn.Conv2d(4, 8, 3, { paddingMode: 'mirror' as never })).toThrow(/Conv2d: expected paddingMode/);
  expect(() => new nn.ConvTranspose2d(4, 6, 2, { groups: 4 })).toThrow(/ConvTranspose2d: expected groups to be a positive integer dividing/);
  expect(() => new nn.ConvTranspose2d(4, 6, 2, { outputPadding: [1] })).toThrow(/ConvTranspose2d: expected outputPadding/);
  expect(() => new nn.MaxPool2d(0)).toThrow(/MaxPool2d: expected kernelSize/);
  expect(() => new nn.AvgPool2d(2, { stride: [2] })).toThrow(/AvgPool2d: expected stride/);
  expect(() => new nn.MaxUnpool2d(2, { padding: -1 })).toThrow(/MaxUnpool2d: expected padding/);
  expect(() => new nn.AdaptiveAvgPool2d([7])).toThrow(/AdaptiveAvgPool2d: expected outputSize/);
  expect(() => new nn.AdaptiveAvgPool2d(0)).toThrow(ArgumentError);
  expect(new nn.AdaptiveAvgPool2d([null, 3]).call(zeros([1, 1, 4, 6])).shape).toEqual([1, 1, 4, 3]);
  expect(() => new nn.Upsample({})).toThrow(/Upsample: give exactly one of size and scaleFactor/);
  expect(() => new nn.Upsample({ scaleFactor: 0 })).toThrow(/Upsample: expected scaleFactor to hold positive finite numbers, got 0/);
  expect(() => new nn.Upsample({ size: [2.5, 3] })).toThrow(/Upsample: expected size to hold positive integers/);
  expect(() => new nn.Upsample({ scaleFactor: 2, mode: 'area' as never })).toThrow(/Upsample: expected mode/);
  expect(() => new nn.Softmax(0.5)).toThrow(/Softmax: expected dim to be an integer, got 0.5/);
  expect(() => new nn.LogSoftmax(undefined as never)).toThrow(ArgumentError);
  expect(() => new nn.GroupNorm(3, 8)).toThrow(/GroupNorm: numChannels 8 must be divisible by numGroups 3/);
  expect(() => new nn.GroupNorm(0, 8)).toThrow(ArgumentError);
  expect(() => new nn.LayerNorm([4, 0])).toThrow(/LayerNorm: expected normalizedShape\[1\] to be an integer >= 1/);
  // Valid configurations still build.
  expect(new nn.Conv2d(4, 8, [3, 1], { stride: [2, 1], padding: 'same', groups: 4 }).weight.shape).toEqual([8, 1, 3, 1]);
  expect(new nn.MaxPool2d([2, 2], { stride: 1 }).kernelSize).toEqual([2, 2]);
});

it('layers keep PyTorch shapes and reject bad configurations', () => {
  expect(new nn.Conv2d(4, 8, 3, { groups: 2 }).weight.shape).toEqual([8, 2, 3, 3]);
  expect(new nn.ConvTranspose2d(4, 6, 2).weight.shape).toEqual([4, 6, 2, 2]);
  expect(() => new nn.Conv2d(3, 8, 3, { groups: 2 })).toThrow(ShapeError);
  expect(new nn.Upsample({ scaleFactor: 2, mode: 'nearest' }).call(zeros([1, 1, 2, 2])).shape).toEqual([1, 1, 4, 4]);
  expect(new nn.Sequential(new nn.Identity(), new nn.Flatten()).call(zeros([2, 3, 4])).shape).toEqual([2, 12]);
  expect(() => new nn.Sequential({ bad: 3 as never })).toThrow(/not a Module/);
});

it('init functions fill with the documented distributions', () => {
  manualSeed(6);
  const w = zeros([64, 32, 3, 3]);
  nn.init.kaimingNormal_(w, { nonlinearity: 'relu' });
  const values = Array.from(w.dataSync());
  const std = Math.sqrt(values.reduce((s, v) => s + v * v, 0) / values.length);
  expect(Math.abs(std - Math.sqrt(2 / (32 * 9)))).toBeLessThan(0.005);
  nn.init.xavierUniform_(w);
  expect(Math.max(...Array.from(w.dataSync()).map(Math.abs))).toBeLessThanOrEqual(Math.sqrt(6 / (32 * 9 + 64 * 9)));
  const up = zeros([2, 2, 4, 4]);
  nn.init.bilinearUpsampling_(up);
  expect((up.tolist() as number[][][][])[0]![0]![1]).toEqual([0.1875, 0.5625, 0.5625, 0.1875]);
  expect((up.tolist() as number[][][][])[0]![1]![1]).toEqual([0, 0, 0, 0]);
  expect(nn.init.calculateGain('leakyRelu', 0.2)).toBeCloseTo(Math.sqrt(2 / 1.04));
  expect(() => nn.init.bilinearUpsampling_(zeros([2, 3, 4, 4]))).toThrow(ShapeError);
});

it('summary tabulates output shapes, parameters and FLOPs, leaving the mode unchanged', async () => {
  const { models } = await import('../../lib/index.js');
  const net = models.lenet5();
  const text = net.summary([1, 1, 28, 28]);
  expect(text).toContain('0      Conv2d     [1, 6, 28, 28]      156  235,200');
  expect(text).toContain('total parameters: 61,706');
  expect(text).toContain('total FLOPs per forward: 833,040');
  expect(net.training).toBe(true);
  const rows = nn.summarize(models.simpleCnn({ inChannels: 1 }), [2, 1, 28, 28]);
  expect(rows.find((r) => r.type === 'Linear')!.outputShape).toEqual([2, 128]);
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

it('typed weight/bias of every parameterised layer are its state-dict entries', () => {
  const layers: Array<[string, nn.Module & { weight: unknown; bias: unknown }]> = [
    ['Linear', new nn.Linear(3, 2)],
    ['Conv1d', new nn.Conv1d(2, 2, 3)],
    ['Conv2d', new nn.Conv2d(2, 2, 3)],
    ['Conv3d', new nn.Conv3d(2, 2, 3)],
    ['ConvTranspose2d', new nn.ConvTranspose2d(2, 2, 3)],
    ['BatchNorm1d', new nn.BatchNorm1d(2)],
    ['BatchNorm2d', new nn.BatchNorm2d(2)],
    ['GroupNorm', new nn.GroupNorm(1, 2)],
    ['LayerNorm', new nn.LayerNorm([2])],
  ];
  for (const [name, layer] of layers) {
    const dict = layer.stateDict();
    expect([name, layer.weight === dict.get('weight'), layer.bias === dict.get('bias')]).toEqual([name, true, true]);
  }
  const lazy = new nn.LazyLinear(2);
  lazy.call(randn([1, 5]));
  expect(lazy.weight).toBe(lazy.stateDict().get('weight'));
});

it('assigning a layer property keeps the registry in step, and refuses what cannot stand in', () => {
  const fc = new nn.Linear(3, 2);
  fc.bias = null;
  expect([...fc.stateDict().keys()]).toEqual(['weight']);
  expect(fc.call(zeros([1, 3])).dataSync()).toEqual(new Float32Array([0, 0]));
  expect(() => {
    fc.weight = zeros([2, 3]);
  }).toThrow(/Module: cannot assign a plain tensor of shape \[2, 3\] to parameter 'weight'; expected a tensor made by parameter\(\), or null/);
  const bn = new nn.BatchNorm2d(2);
  expect(() => {
    (bn as unknown as Record<string, unknown>).running_mean = 3;
  }).toThrow(/cannot assign a value of type number to buffer 'running_mean'; expected a tensor or null/);
  // The PyTorch-named field and the camelCase accessor name one buffer.
  const replacement = zeros([2]);
  (bn as unknown as Record<string, unknown>).running_mean = replacement;
  expect(bn.runningMean).toBe(replacement);
  expect(() => bn.getBuffer('running_average')).toThrow(/Module.getBuffer: target 'running_average' is not a registered buffer/);
  const seq = new nn.Sequential({ bn });
  expect(seq.getBuffer('bn.running_mean')).toBe(replacement);
  expect(() => seq.getBuffer('head.running_mean')).toThrow(/names no submodule 'head'/);
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

it('ReLU6 is hardtanh(0, 6) as torch.nn.ReLU6: no gradient at either bound, NaN kept', () => {
  // Printed by torch 1.13: nn.ReLU6()(x) and the gradient of its sum (clamp passed it at 0 and 6).
  const x = tensor([-2, 0, 3, 6, 7], { dtype: 'float32', requiresGrad: true });
  const y = new nn.ReLU6().call(x);
  expect(Array.from(y.dataSync())).toEqual([0, 0, 3, 6, 6]);
  y.sum().backward();
  expect(Array.from(x.grad!.dataSync())).toEqual([0, 0, 1, 0, 0]);
  expect(Number.isNaN(new nn.ReLU6().call(tensor([NaN], { dtype: 'float32' })).item())).toBe(true);
});
