import { readFileSync } from 'node:fs';

import { expect, it } from 'vitest';

import { ArgumentError, argmax, maxAlong, sort, tensor, topk, type Tensor } from '../../lib/index.js';
import { describeDevices, expectClose } from '../helpers/devices.js';

interface Result {
  dtype: string;
  shape: number[];
  values: number[];
}
type Pair = { values: Result; indices: Result };
const { methods: m } = JSON.parse(readFileSync(new URL('../fixtures/reduce.json', import.meta.url), 'utf8')) as {
  methods: Record<string, Result | Pair> & { input: number[]; shape: number[] };
};

function expectResult(out: Tensor, expected: Result | Pair | undefined): void {
  const r = expected as Result;
  expect(out.dtype).toBe(r.dtype);
  expect(out.shape).toEqual(r.shape);
  expectClose(out.cpu().dataSync(), r.values, 1e-5);
}

function expectPair(out: { values: Tensor; indices: Tensor }, expected: Result | Pair | undefined): void {
  const p = expected as Pair;
  expectResult(out.values, p.values);
  expectResult(out.indices, p.indices);
}

describeDevices('Tensor methods as PyTorch writes them', (device) => {
  const x = () => tensor(Float32Array.from(m.input), { shape: m.shape, device });

  it('max() and min() without dim give the extreme element as a 0-d tensor', () => {
    expectResult(x().max(), m.max);
    expectResult(x().min(), m.min);
  });

  it('max(dim) and min(dim) give { values, indices }, like torch.max(x, dim)', () => {
    expectPair(x().max(1), m.maxDim1);
    expectPair(x().min(0), m.minDim0);
    const kept = x().max(1, { keepdim: true });
    expect([kept.values.shape, kept.indices.shape]).toEqual([[3, 1], [3, 1]]);
  });

  it('max(other) and min(other) are elementwise, like torch.max(x, other)', () => {
    const a = tensor([1, 5, -2], { dtype: 'float32', device });
    const b = tensor([3, 4, -1], { dtype: 'float32', device });
    expect(a.max(b).tolist()).toEqual([3, 5, -1]);
    expect(a.min(b).tolist()).toEqual([1, 4, -2]);
  });

  it('argmax, argmin, amax, amin', () => {
    expectResult(x().argmax(), m.argmax);
    expectResult(x().argmin(1), m.argmin1);
    expectResult(x().amax(0), m.amax0);
    expectResult(x().amin(1), m.amin1);
    expect(x().argmax(1, { keepdim: true }).shape).toEqual([3, 1]);
  });

  it('softmax, logSoftmax, clamp, std, var, mean, cumsum', () => {
    expectResult(x().softmax(1), m.softmax1);
    expectResult(x().logSoftmax(0), m.logSoftmax0);
    expectResult(x().clamp(-0.5, 0.5), m.clamp);
    expectResult(x().std(1), m.std1);
    expectResult(x().var(), m.var);
    expectResult(x().variance(), m.var);
    expectResult(x().mean(0), m.mean0);
    expectResult(x().cumsum(1), m.cumsum1);
  });

  it('topk and sort give { values, indices }', () => {
    expectPair(x().topk(2), m.topk2);
    expectPair(x().sort(0, { descending: true }), m.sortDesc0);
    expectResult(x().argsort(0, { descending: true }), (m.sortDesc0 as Pair).indices);
  });

  it('elementwise methods: abs, exp, sigmoid, tanh, relu, pow', () => {
    expectResult(x().abs(), m.abs);
    expectResult(x().exp(), m.exp);
    expectResult(x().sigmoid(), m.sigmoid);
    expectResult(x().tanh(), m.tanh);
    expectResult(x().relu(), m.relu);
    expectResult(x().pow(2), m.pow2);
  });

  it('methods agree with the functional ops and carry gradients', () => {
    const w = x().requiresGrad_();
    w.max(1).values.sum().backward();
    const grad = w.grad!.tolist() as number[][];
    const positions = argmax(x(), 1).tolist() as number[];
    grad.forEach((row, i) => expect(row).toEqual(row.map((_, j) => (j === positions[i] ? 1 : 0))));
    expect(x().max(0).indices.tolist()).toEqual(maxAlong(x(), 0).indices.tolist());
    expect(x().topk(3, 0).values.tolist()).toEqual(topk(x(), 3, 0).values.tolist());
    expect(x().sort().indices.tolist()).toEqual(sort(x()).indices.tolist());
  });

  it('float(), int() and bool() convert, as PyTorch users write accuracy', () => {
    const predicted = tensor([2, 0, 1, 1], { device });
    const labels = tensor([2, 1, 1, 0], { device });
    const correct = predicted.eq(labels).float();
    expect([correct.dtype, correct.mean().item()]).toEqual(['float32', 0.5]);
    expect(tensor([-1.7, 2.9], { device }).int().tolist()).toEqual([-1, 2]);
    expect(tensor([0, 3], { device }).bool().tolist()).toEqual([false, true]);
  });

  it('methods validate like their ops', () => {
    expect(() => x().topk(9)).toThrow(ArgumentError);
    expect(() => x().max(5)).toThrow(/dim/);
    expect(() => x().clamp()).toThrow(/at least one of min and max/);
  });
});
