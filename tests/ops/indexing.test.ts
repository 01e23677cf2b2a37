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
