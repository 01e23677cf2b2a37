// lib/tensor/tensor.ts: the Tensor class — its methods as PyTorch writes them, and its views
// (reshape, permute, slice, expand, contiguous).
import { readFileSync } from 'node:fs';

import { expect, it } from 'vitest';

import { arange, ArgumentError, argmax, maxAlong, ShapeError, sort, tensor, topk, type Tensor } from '../../lib/index.js';
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

  it('floor, ceil, round, nonzero and maskedSelect as methods', () => {
    const v = tensor([-1.5, 0.5, 2.5, 0], { device });
    expect([v.floor().tolist(), v.ceil().tolist(), v.round().tolist()]).toEqual([[-2, 0, 2, 0], [-1, 1, 3, 0], [-2, 0, 2, 0]]);
    expect(v.nonzero().tolist()).toEqual([[0], [1], [2]]);
    expect(v.maskedSelect(v.gt(0)).tolist()).toEqual([0.5, 2.5]);
  });

  it('methods validate like their ops', () => {
    expect(() => x().topk(9)).toThrow(ArgumentError);
    expect(() => x().max(5)).toThrow(/dim/);
    expect(() => x().clamp()).toThrow(/at least one of min and max/);
  });
});

describeDevices('views', (device) => {
  const grid = () => arange(24, { device }).reshape(2, 3, 4);

  it('reshape and view share memory when the layout allows', () => {
    const x = grid();
    expect(x.view(6, 4).shape).toEqual([6, 4]);
    expect(x.reshape(-1).tolist()).toEqual([...Array(24).keys()]);
    expect(x.reshape([4, -1]).shape).toEqual([4, 6]);
    expect(x.view(2, 12).strides).toEqual([12, 1]);
  });

  it('view refuses a layout that needs a copy; reshape copies', () => {
    const t = grid().transpose(1, 2);
    expect(() => t.view(24)).toThrow(ShapeError);
    expect(() => t.view(24)).toThrow(/use reshape/);
    expect(t.reshape(24).tolist()).toEqual([0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11, 12, 16, 20, 13, 17, 21, 14, 18, 22, 15, 19, 23]);
  });

  it('permute and transpose reorder dims without copying', () => {
    const x = grid();
    const p = x.permute(2, 0, 1);
    expect(p.shape).toEqual([4, 2, 3]);
    expect(p.strides).toEqual([1, 12, 4]);
    expect(p.isContiguous()).toBe(false);
    expect(p.tolist()).toEqual([
      [[0, 4, 8], [12, 16, 20]],
      [[1, 5, 9], [13, 17, 21]],
      [[2, 6, 10], [14, 18, 22]],
      [[3, 7, 11], [15, 19, 23]],
    ]);
    expect(tensor([[1, 2], [3, 4]], { device }).transpose(0, 1).tolist()).toEqual([[1, 3], [2, 4]]);
  });

  it('slice follows Python slicing', () => {
    const x = arange(10, { device });
    expect(x.slice(0, 2, 5).tolist()).toEqual([2, 3, 4]);
    expect(x.slice(0, -3).tolist()).toEqual([7, 8, 9]);
    expect(x.slice(0, 1, 100, 3).tolist()).toEqual([1, 4, 7]);
    expect(x.slice(0, 5, 2).tolist()).toEqual([]);
    expect(grid().slice(2, 1, 3).tolist()).toEqual([
      [[1, 2], [5, 6], [9, 10]],
      [[13, 14], [17, 18], [21, 22]],
    ]);
  });

  it('squeeze, unsqueeze, flatten and expand', () => {
    const x = arange(6, { device }).reshape(1, 2, 1, 3);
    expect(x.squeeze().shape).toEqual([2, 3]);
    expect(x.squeeze(0).shape).toEqual([2, 1, 3]);
    expect(x.squeeze(1).shape).toEqual([1, 2, 1, 3]);
    expect(x.unsqueeze(-1).shape).toEqual([1, 2, 1, 3, 1]);
    expect(x.unsqueeze(0).shape).toEqual([1, 1, 2, 1, 3]);
    expect(grid().flatten(1).shape).toEqual([2, 12]);
    const e = tensor([[1], [2]], { device }).expand(2, 3);
    expect(e.strides).toEqual([1, 0]);
    expect(e.tolist()).toEqual([[1, 1, 1], [2, 2, 2]]);
  });

  it('contiguous materialises a view in row-major order; clone owns its memory', async () => {
    const t = grid().permute(2, 1, 0).contiguous();
    expect(t.isContiguous()).toBe(true);
    expect(Array.from(await t.data()).slice(0, 6)).toEqual([0, 12, 4, 16, 8, 20]);
    const x = tensor([1, 2, 3], { device });
    const c = x.clone();
    x.dispose();
    expect(c.tolist()).toEqual([1, 2, 3]);
  });

  it('a view outlives the disposed tensor it came from', () => {
    const x = grid();
    const v = x.slice(0, 1).reshape(-1);
    x.dispose();
    expect(v.tolist()).toEqual([...Array(12).keys()].map((i) => i + 12));
  });

  it('data() of a strided view is in logical order', async () => {
    const x = tensor([[1, 2, 3], [4, 5, 6]], { device });
    expect(Array.from(await x.transpose(0, 1).data())).toEqual([1, 4, 2, 5, 3, 6]);
    expect(Array.from(x.slice(1, 0, 3, 2).dataSync())).toEqual([1, 3, 4, 6]);
  });
});

it('views reject bad dims and sizes', () => {
  const x = arange(6).reshape(2, 3);
  expect(() => x.reshape(4, 2)).toThrow(/invalid for input of size 6/);
  expect(() => x.reshape(-1, -1)).toThrow(/only one dimension/);
  expect(() => x.permute(0, 0)).toThrow(ShapeError);
  expect(() => x.transpose(0, 2)).toThrow(/expected dim1 in \[-2, 1\]/);
  expect(() => x.expand(4, 3)).toThrow(ShapeError);
  expect(() => x.slice(0, 0, 2, 0)).toThrow(/positive integer/);
});

it('transposing copies (tiled) give the same elements as the index arithmetic, with dtype conversion and ragged tiles', () => {
  // [N, H, W, C] memory seen as [N, C, H, W]: contiguous() is a batch of (C, H*W) transposes.
  const [n, h, w, c] = [3, 5, 7, 37];
  const source = arange(n * h * w * c).reshape(n, h, w, c);
  const nchw = source.permute(0, 3, 1, 2);
  const values = source.dataSync();
  const expected: number[] = [];
  for (let b = 0; b < n; ++b) for (let ch = 0; ch < c; ++ch) for (let y = 0; y < h; ++y) for (let x = 0; x < w; ++x) expected.push(values[((b * h + y) * w + x) * c + ch]!);
  expect(Array.from(nchw.contiguous().dataSync())).toEqual(expected);
  expect(Array.from(nchw.to('float32').dataSync())).toEqual(expected);
  // A plain 2-d transpose and a sliced (non-dense) input take the same path or the row loop.
  const m = arange(70 * 33).reshape(70, 33);
  expect(m.transpose(0, 1).contiguous().tolist()).toEqual(Array.from({ length: 33 }, (_, i) => Array.from({ length: 70 }, (_, j) => j * 33 + i)));
  expect(m.slice(1, 1, 33, 2).transpose(0, 1).contiguous().tolist()).toEqual(Array.from({ length: 16 }, (_, i) => Array.from({ length: 70 }, (_, j) => j * 33 + 1 + 2 * i)));
});

it('float32 transposing copies in both directions match the index arithmetic across 8x8 blocks, 64-wide tiles and ragged edges', () => {
  // Big enough to run in parallel, with both swapped dims past one tile and not multiples of 8.
  const [n, c, h, w] = [2, 70, 9, 15];
  const source = arange(n * c * h * w, { dtype: 'float32' }).mul(0.5).reshape(n, c, h, w);
  const values = source.dataSync();
  const nhwc = source.permute(0, 2, 3, 1).contiguous();
  const expected: number[] = [];
  for (let b = 0; b < n; ++b) for (let y = 0; y < h; ++y) for (let x = 0; x < w; ++x) for (let ch = 0; ch < c; ++ch) expected.push(values[((b * c + ch) * h + y) * w + x]!);
  expect(Array.from(nhwc.dataSync())).toEqual(expected);
  // And back: channels-last memory seen as NCHW, made contiguous, is the source again.
  expect(Array.from(nhwc.reshape(n, h, w, c).permute(0, 3, 1, 2).contiguous().dataSync())).toEqual(Array.from(values));
});
