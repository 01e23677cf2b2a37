import { expect, it } from 'vitest';

import { DTypeError, eq, ge, gt, le, lt, ne, ShapeError, tensor, where, zeros } from '../../lib/index.js';
import { describeDevices } from '../helpers/devices.js';

describeDevices('comparisons and where', (device) => {
  it('eq, ne, lt, le, gt, ge broadcast a tensor or a number and give bool', () => {
    const a = tensor([[1, 2, 3], [3, 2, 1]], { dtype: 'float32', device });
    const b = tensor([2, 2, 2], { dtype: 'float32', device });
    const cases = [
      [eq, [[false, true, false], [false, true, false]]],
      [ne, [[true, false, true], [true, false, true]]],
      [lt, [[true, false, false], [false, false, true]]],
      [le, [[true, true, false], [false, true, true]]],
      [gt, [[false, false, true], [true, false, false]]],
      [ge, [[false, true, true], [true, true, false]]],
    ] as const;
    for (const [fn, expected] of cases) {
      const out = fn(a, b);
      expect(out.dtype).toBe('bool');
      expect([fn.name, out.cpu().tolist()]).toEqual([fn.name, expected]);
      expect([fn.name, fn(a, 2).cpu().tolist()]).toEqual([fn.name, expected]);
    }
  });

  it('where picks by condition, broadcasting, and routes gradients to the picked side', () => {
    const condition = tensor([[true, false, true], [false, false, true]], { device });
    const a = tensor([1, 2, 3], { dtype: 'float32', device, requiresGrad: true });
    const b = tensor([[10], [20]], { dtype: 'float32', device, requiresGrad: true });
    const out = where(condition, a, b);
    expect(out.cpu().tolist()).toEqual([[1, 10, 3], [20, 20, 3]]);
    out.sum().backward();
    expect(a.grad!.cpu().tolist()).toEqual([1, 0, 2]);
    expect(b.grad!.cpu().tolist()).toEqual([[1], [2]]);
    expect(where(condition, 0, a).cpu().tolist()).toEqual([[0, 2, 0], [1, 2, 0]]);
  });
});

it('comparisons and where reject bad arguments', () => {
  expect(() => eq(zeros([2, 3]), zeros([4]))).toThrow(ShapeError);
  expect(() => lt(zeros([2]), tensor([1, 2], { dtype: 'int32' }))).toThrow(DTypeError);
  expect(() => where(zeros([2]), zeros([2]), zeros([2]))).toThrow(DTypeError);
  expect(() => where(zeros([2]), zeros([2]), zeros([2]))).toThrow(/^where: expected condition/);
});
