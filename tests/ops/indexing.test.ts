import { expect, it } from 'vitest';

import { arange, gather, IndexError, indexSelect, ShapeError, tensor } from '../../lib/index.js';
import { describeDevices } from '../helpers/devices.js';

describeDevices('indexSelect', (device) => {
  it('selects along dim 0 and along an inner dim', () => {
    const x = arange(12, { device }).reshape(3, 4);
    expect(indexSelect(x, 0, tensor([2, 0, 2], { device })).tolist()).toEqual([
      [8, 9, 10, 11],
      [0, 1, 2, 3],
      [8, 9, 10, 11],
    ]);
    expect(x.indexSelect(-1, tensor([3, 1], { device })).tolist()).toEqual([
      [3, 1],
      [7, 5],
      [11, 9],
    ]);
  });

  it('reads from strided views and accepts an empty index', () => {
    const x = arange(12, { device }).reshape(3, 4).transpose(0, 1);
    expect(x.indexSelect(0, tensor([1], { device })).tolist()).toEqual([[1, 5, 9]]);
    expect(x.indexSelect(1, tensor([], { dtype: 'int32', device })).shape).toEqual([4, 0]);
  });

  it("keeps a channels-last input's format and copies whole runs: RoI rows [6, 16, 7, 7] along dim 0, channels-last pixels along H and W", () => {
    const rows = arange(6 * 16 * 49, { dtype: 'float32', device }).reshape(6, 16, 7, 7);
    const picked = tensor([5, 0, 3, 3], { device });
    expect(indexSelect(rows, 0, picked).tolist()).toEqual([5, 0, 3, 3].map((k) => (rows.tolist() as number[][][][])[k]));
    // An index read through a stride (every other entry of a longer list).
    const strided = tensor([2, 9, 0, 9, 1], { device }).slice(0, 0, 5, 2);
    const map = arange(2 * 5 * 4 * 16, { dtype: 'float32', device }).reshape(2, 4, 5, 16).permute(0, 3, 1, 2); // [2, 16, 4, 5] channels-last
    for (const dim of [2, 3]) {
      const got = indexSelect(map, dim, strided);
      expect(got.strides, `dim ${dim}`).toEqual(dim === 2 ? [3 * 5 * 16, 1, 5 * 16, 16] : [4 * 3 * 16, 1, 3 * 16, 16]);
      expect(got.tolist(), `dim ${dim}`).toEqual(indexSelect(map.contiguous(), dim, tensor([2, 0, 1], { device })).tolist());
    }
  });

  it('the gradient of RoI rows [4, 16, 7, 7] picked along dim 0 (repeats accumulate) is added back whole rows at a time', () => {
    const rows = arange(4 * 16 * 49, { dtype: 'float32', device }).reshape(4, 16, 7, 7).requiresGrad_();
    const picked = indexSelect(rows, 0, tensor([3, 1, 3], { device }));
    picked.mul(arange(3 * 16 * 49, { dtype: 'float32', device }).reshape(3, 16, 7, 7)).sum().backward();
    const g = rows.grad!.reshape(4, 16 * 49).tolist() as number[][];
    const up = (k: number) => Array.from({ length: 16 * 49 }, (_, e) => k * 16 * 49 + e);
    expect(g[0]).toEqual(new Array(16 * 49).fill(0));
    expect(g[1]).toEqual(up(1));
    expect(g[2]).toEqual(new Array(16 * 49).fill(0));
    expect(g[3]).toEqual(up(0).map((v, e) => v + up(2)[e]!));
  });

  it('an out-of-range value is an IndexError from the kernel', async () => {
    const x = arange(3, { device });
    await expect(x.indexSelect(0, tensor([3], { device })).data()).rejects.toThrow(IndexError);
  });
});

it('indexSelect validates its arguments', () => {
  const x = arange(6).reshape(2, 3);
  expect(() => x.indexSelect(2, tensor([0]))).toThrow(ShapeError);
  expect(() => x.indexSelect(0, tensor([[0]]))).toThrow(/0-d or 1-d/);
});

describeDevices('gather', (device) => {
  it('gather picks values along a dim and routes gradients back', () => {
    const x = tensor([[1, 2, 3], [4, 5, 6]], { dtype: 'float32', device, requiresGrad: true });
    const picked = gather(x, 1, tensor([[2, 0], [1, 1]], { device }));
    expect(picked.tolist()).toEqual([[3, 1], [5, 5]]);
    picked.sum().backward();
    expect(x.grad!.tolist()).toEqual([[1, 0, 1], [0, 2, 0]]);
  });
});
