import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect, it } from 'vitest';

import { crossEntropy, io, KeyError, manualSeed, models, nn, noGrad, optim, randn, relu, ShapeError, tensor, zeros, type Tensor } from '../../lib/index.js';

class TinyNet extends nn.Module {
  conv = new nn.Conv2d(1, 4, 3, { padding: 1 });
  bn = new nn.BatchNorm2d(4);
  head = new nn.Sequential({ flatten: new nn.Flatten(), fc: new nn.Linear(4 * 6 * 6, 3) });
  forward(x: Tensor): Tensor {
    return this.head.call(relu(this.bn.call(this.conv.call(x))));
  }
}

it('fields register modules and parameters under PyTorch state-dict names', () => {
  const net = new TinyNet();
  expect([...net.stateDict().keys()]).toEqual([
    'conv.weight', 'conv.bias', 'bn.weight', 'bn.bias', 'head.fc.weight', 'head.fc.bias',
    'bn.running_mean', 'bn.running_var', 'bn.num_batches_tracked',
  ]);
  expect(net.parameterCount()).toBe(4 * 9 + 4 + 4 + 4 + 144 * 3 + 3);
  expect(String(net)).toContain('(conv): Conv2d(1, 4, kernelSize=[3, 3], padding=1)');
});

it('parameter counts equal PyTorch for the zoo models', () => {
  expect(models.lenet5().parameterCount()).toBe(61706);
  expect(models.fashionMnistCnn().parameterCount()).toBe(1413834);
});

it('default initialisation follows PyTorch bounds', () => {
  manualSeed(1);
  const fc = new nn.Linear(100, 10);
  const w = Array.from(fc.weight.dataSync());
  expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(0.1);
  expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(0.09);
});

it('train/eval switch dropout and batch statistics; batch norm tracks its batches', () => {
  manualSeed(2);
  const net = new TinyNet();
  const x = randn([2, 1, 6, 6]);
  net.call(x);
  net.call(x);
  const buffers = net.stateDict();
  expect(buffers.get('bn.num_batches_tracked')!.item()).toBe(2);
  expect(Math.abs((buffers.get('bn.running_mean')!.tolist() as number[])[0]!)).toBeGreaterThan(0);
  net.eval();
  expect([...net.modules()].every((m) => !m.training)).toBe(true);
  const a = net.call(x).dataSync();
  const b = net.call(x).dataSync();
  expect(Array.from(a)).toEqual(Array.from(b)); // eval is deterministic
  expect(net.stateDict().get('bn.num_batches_tracked')!.item()).toBe(2);
});

it('state dicts round-trip through safetensors and load strictly', () => {
  manualSeed(3);
  const net = new TinyNet().eval();
  const path = join(mkdtempSync(join(tmpdir(), 'neocog-nn-')), 'tiny.safetensors');
  io.saveSafetensorsSync(path, net.stateDict());
  const copy = new TinyNet().eval();
  copy.loadStateDict(io.loadSafetensorsSync(path).tensors);
  const x = randn([2, 1, 6, 6]);
  expect(Array.from(copy.call(x).dataSync())).toEqual(Array.from(net.call(x).dataSync()));
  const partial = new Map(net.stateDict());
  partial.delete('conv.bias');
  partial.set('extra', tensor([1]));
  expect(() => copy.loadStateDict(partial)).toThrow(KeyError);
  expect(() => copy.loadStateDict(partial)).toThrow(/missing 1: conv.bias; unexpected 1: extra\)$/);
  expect(copy.loadStateDict(partial, { strict: false })).toEqual({ missing: ['conv.bias'], unexpected: ['extra'] });
  const wrong = new Map(net.stateDict());
  wrong.set('conv.weight', randn([4, 1, 5, 5]));
  const before = Array.from(copy.conv.weight.dataSync());
  expect(() => copy.loadStateDict(wrong)).toThrow(ShapeError);
  expect(Array.from(copy.conv.weight.dataSync())).toEqual(before); // nothing changed
});

it('a strict load with other keys is a KeyError listing a few of them, and names a DataParallel module. prefix', () => {
  const net = models.lenet5();
  const before = Array.from(net.stateDict().get('0.weight')!.dataSync());
  const wrapped = new Map([...models.lenet5().stateDict()].map(([k, t]) => [`module.${k}`, t]));
  let error: unknown;
  try {
    net.loadStateDict(wrapped);
  } catch (caught) {
    error = caught;
  }
  expect(error).toBeInstanceOf(KeyError);
  const message = (error as Error).message;
  expect(message).toMatch(/^loadStateDict: .*missing 10: 0\.weight, 0\.bias, 3\.weight, 3\.bias, 7\.weight and 5 more; unexpected 10: module\.0\.weight/);
  expect(message).toMatch(/saved from a DataParallel-wrapped model; strip the prefix/);
  expect(Array.from(net.stateDict().get('0.weight')!.dataSync())).toEqual(before); // nothing changed
  // Without the prefix it loads; a plain mismatch does not mention DataParallel.
  net.loadStateDict(new Map([...wrapped].map(([k, t]) => [k.replace(/^module\./, ''), t])));
  const missingOne = new Map(net.stateDict());
  missingOne.delete('0.bias');
  expect(() => net.loadStateDict(missingOne)).toThrow(KeyError);
  expect(() => net.loadStateDict(missingOne)).not.toThrow(/DataParallel/);
});

it('freezing, hooks and zeroGrad', () => {
  const net = new TinyNet();
  net.requiresGrad_(false, ['conv']);
  expect([...net.namedParameters()].filter(([, p]) => !p.requiresGrad).map(([n]) => n)).toEqual(['conv.weight', 'conv.bias']);
  const shapes: number[][] = [];
  const remove = net.bn.registerForwardHook((_m, _inputs, out) => shapes.push([...out.shape]));
  const loss = crossEntropy(net.call(randn([2, 1, 6, 6])), tensor([0, 2]));
  loss.backward();
  remove();
  net.call(randn([1, 1, 6, 6]));
  expect(shapes).toEqual([[2, 4, 6, 6]]);
  expect(net.conv.weight.grad).toBeNull();
  expect(net.head.at(1)).toBeInstanceOf(nn.Linear);
  net.zeroGrad();
  expect([...net.parameters()].every((p) => p.grad === null)).toBe(true);
});

it('a short training run lowers the loss', () => {
  manualSeed(4);
  const net = new TinyNet();
  const x = randn([16, 1, 6, 6]);
  const y = tensor(Array.from({ length: 16 }, (_, i) => i % 3));
  const sgd = new optim.SGD(net.parameters(), { lr: 0.1, momentum: 0.9 });
  const lossAt = () => noGrad(() => crossEntropy(net.call(x), y).item());
  const initial = lossAt();
  for (let step = 0; step < 30; ++step) {
    sgd.zeroGrad();
    crossEntropy(net.call(x), y).backward();
    sgd.step();
  }
  expect(lossAt()).toBeLessThan(initial * 0.5);
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
