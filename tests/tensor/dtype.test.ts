import { expect, it } from 'vitest';

import { DTypeError, tensor } from '../../lib/index.js';
import { describeDevices } from '../helpers/devices.js';

describeDevices('dtype conversion', (device) => {
  it('float32 -> int32 truncates toward zero, as PyTorch', () => {
    expect(tensor([1.9, -1.9, 0.5, -0.5], { device }).to('int32').tolist()).toEqual([1, -1, 0, 0]);
  });

  it('anything -> bool is "!= 0"', () => {
    expect(tensor([0, 0.1, -2], { device }).to('bool').tolist()).toEqual([false, true, true]);
    expect(tensor([0, 3], { dtype: 'int32', device }).to('bool').tolist()).toEqual([false, true]);
  });

  it('uint8 conversions wrap like PyTorch', () => {
    expect(tensor([255, 256, -1], { dtype: 'int32', device }).to('uint8').tolist()).toEqual([255, 0, 255]);
    expect(tensor([3.7, 255.2], { device }).to('uint8').tolist()).toEqual([3, 255]);
    expect(tensor([200, 7], { dtype: 'uint8', device }).to('float32').tolist()).toEqual([200, 7]);
  });

  it('bool -> numbers gives 0/1; to() with the same dtype is a new handle', () => {
    const b = tensor([true, false], { device });
    expect(b.to('float32').tolist()).toEqual([1, 0]);
    const same = b.to('bool');
    expect(same).not.toBe(b);
    b.dispose();
    expect(same.tolist()).toEqual([true, false]);
  });

  it('conversion of a strided view keeps logical order', () => {
    const x = tensor([[1.5, 2.5], [3.5, 4.5]], { device }).transpose(0, 1);
    expect(x.to('int32').tolist()).toEqual([[1, 3], [2, 4]]);
  });
});

it('to() rejects unknown dtypes', () => {
  expect(() => tensor([1]).to('float64' as never)).toThrow(DTypeError);
});
