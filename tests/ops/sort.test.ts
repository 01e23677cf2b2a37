import { expect, it } from 'vitest';

import * as nc from '../../lib/index.js';
import { ArgumentError, tensor } from '../../lib/index.js';
import { describeDevices } from '../helpers/devices.js';
import { gradcheck } from '../helpers/gradcheck.js';

// Expected values printed by PyTorch 1.13 for the same inputs (torch.sort(stable=True), topk, max, quantile, histc).
describeDevices('sort and order statistics', (device) => {
  const x = () => tensor([[3, 1, 2, Number.NaN], [0.5, -1, 4, 4]], { dtype: 'float32', device });

  it('sort is stable and puts NaN last', () => {
    const { values, indices } = nc.sort(x(), 1);
    expect(indices.tolist()).toEqual([[1, 2, 0, 3], [1, 0, 2, 3]]);
    expect((values.tolist() as number[][])[1]).toEqual([-1, 0.5, 4, 4]);
    expect(Number.isNaN((values.tolist() as number[][])[0]![3]!)).toBe(true);
    expect(nc.argsort(tensor([5, 1, 5, 0], { device }), 0, { descending: true }).tolist()).toEqual([0, 2, 1, 3]);
  });

  it('sorts along any dim', () => {
    const m = tensor([[3, 1], [1, 2], [2, 0]], { device });
    expect(nc.sort(m, 0).values.tolist()).toEqual([[1, 0], [2, 1], [3, 2]]);
    expect(nc.sort(m, 0).indices.tolist()).toEqual([[1, 2], [2, 0], [0, 1]]);
  });

  it('topk and max/min along a dim, as torch', () => {
    const t = nc.topk(x(), 2, 1);
    expect(t.indices.tolist()).toEqual([[3, 0], [2, 3]]);
    expect(nc.maxAlong(x(), 1).indices.tolist()).toEqual([3, 2]);
    expect(nc.minAlong(tensor([[4, 2, 2]], { device }), 1, { keepdim: true }).indices.tolist()).toEqual([[1]]);
    expect(nc.topk(tensor([1, 9, 3, 7], { device }), 2, 0, { largest: false }).values.tolist()).toEqual([1, 3]);
  });

  it('quantile and histc', () => {
    expect(nc.quantile(tensor([1, 2, 3, 4], { dtype: 'float32', device }), [0.25, 0.5]).tolist()).toEqual([1.75, 2.5]);
    expect(nc.quantile(tensor([[1, 5], [3, 9]], { dtype: 'float32', device }), 0.5, 1).tolist()).toEqual([3, 6]);
    expect(nc.histc(tensor([1, 2, 1, 4, 5], { dtype: 'float32', device }), 4, 0, 4).tolist()).toEqual([0, 2, 1, 1]);
  });
});

it('gradients flow through sorted values and topk', () => {
  nc.manualSeed(71);
  gradcheck((v) => nc.sort(v, 1, { descending: true }).values, [nc.randn([2, 5])]);
  gradcheck((v) => nc.topk(v, 2, 0).values, [nc.randn([6, 2])]);
});

it('sorting ops reject bad arguments', () => {
  expect(() => nc.topk(tensor([1, 2]), 3)).toThrow(ArgumentError);
  expect(() => nc.quantile(tensor([1, 2], { dtype: 'float32' }), 1.5)).toThrow(/expected q in \[0, 1\]/);
  expect(() => nc.histc(tensor([1], { dtype: 'float32' }), 0)).toThrow(/bins/);
  expect(() => nc.sort(tensor([true]))).toThrow(/float32 or int32/);
});
