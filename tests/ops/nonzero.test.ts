import { expect, it } from 'vitest';

import {
  booleanMask,
  booleanMaskAsync,
  DeviceError,
  manualSeed,
  maskedSelect,
  maskedSelectAsync,
  nonzero,
  nonzeroAsync,
  rand,
  ShapeError,
  tensor,
  zeros,
} from '../../lib/index.js';
import { describeDevices } from '../helpers/devices.js';
import { gradcheck } from '../helpers/gradcheck.js';

describeDevices('compaction', (device) => {
  it('nonzero gives row-major coordinates, as torch.nonzero, for any dtype and rank', async () => {
    // torch.nonzero(torch.tensor([[0, 1, 0], [2, 0, 3]])) = [[0, 1], [1, 0], [1, 2]]
    const x = tensor([[0, 1, 0], [2, 0, 3]], { dtype: 'int32', device });
    expect(nonzero(x).tolist()).toEqual([[0, 1], [1, 0], [1, 2]]);
    expect((await nonzeroAsync(x.to('float32'))).tolist()).toEqual([[0, 1], [1, 0], [1, 2]]);
    expect(nonzero(x.gt(1)).tolist()).toEqual([[1, 0], [1, 2]]);
    expect(nonzero(x.to('uint8')).tolist()).toEqual([[0, 1], [1, 0], [1, 2]]);
    expect(nonzero(x.to('float32').to('float16')).tolist()).toEqual([[0, 1], [1, 0], [1, 2]]);
    // NaN is nonzero, as in PyTorch.
    expect(nonzero(tensor([0, Number.NaN, 0], { device })).tolist()).toEqual([[1]]);
    expect(nonzero(tensor([0, 0, 5], { device })).tolist()).toEqual([[2]]);
    expect(nonzero(zeros([2, 3], { device })).shape).toEqual([0, 2]);
    expect(nonzero(zeros([0, 3], { device })).shape).toEqual([0, 2]);
    expect(nonzero(tensor(7, { device })).shape).toEqual([1, 0]);
    // A transposed view: coordinates of the view, not of its storage.
    expect(nonzero(x.transpose(0, 1)).tolist()).toEqual([[0, 1], [1, 0], [2, 1]]);
  });

  it('agrees with a host scan on a large random mask', async () => {
    manualSeed(4);
    // Past the CPU kernel's parallel grain: every thread's chunk lands at its prefix offset.
    const mask = rand([37, 1013], { device }).gt(0.7);
    const host = mask.cpu().dataSync();
    const expected: number[][] = [];
    host.forEach((v, i) => v && expected.push([Math.floor(i / 1013), i % 1013]));
    expect((await nonzeroAsync(mask)).tolist()).toEqual(expected);
  });

  it('maskedSelect picks the masked elements (broadcasting the mask), differentiably', async () => {
    const x = tensor([[1, 2, 3], [4, 5, 6]], { dtype: 'float32', device }).requiresGrad_();
    const mask = tensor([true, false, true], { dtype: 'bool', device });
    const y = maskedSelect(x, mask);
    expect(y.tolist()).toEqual([1, 3, 4, 6]);
    y.mul(tensor([1, 2, 3, 4], { dtype: 'float32', device })).sum().backward();
    expect(x.grad!.cpu().tolist()).toEqual([[1, 0, 2], [3, 0, 4]]);
    expect((await maskedSelectAsync(x.detach(), x.detach().gt(3.5))).tolist()).toEqual([4, 5, 6]);
    expect(maskedSelect(x.detach(), zeros([2, 3], { dtype: 'bool', device })).shape).toEqual([0]);
  });

  it('booleanMask is input[mask] over the leading dims, differentiably', async () => {
    const boxes = tensor([[0, 0, 1, 1], [1, 1, 2, 2], [2, 2, 3, 3]], { dtype: 'float32', device }).requiresGrad_();
    const scores = tensor([0.9, 0.01, 0.5], { dtype: 'float32', device });
    const kept = booleanMask(boxes, scores.gt(0.05));
    expect(kept.tolist()).toEqual([[0, 0, 1, 1], [2, 2, 3, 3]]);
    kept.sum().backward();
    expect(boxes.grad!.cpu().tolist()).toEqual([[1, 1, 1, 1], [0, 0, 0, 0], [1, 1, 1, 1]]);
    expect((await booleanMaskAsync(boxes.detach(), scores.gt(2))).shape).toEqual([0, 4]);
    const images = zeros([2, 3, 4, 5], { device });
    expect(booleanMask(images, tensor([[1, 0, 1], [0, 0, 1]], { dtype: 'uint8', device })).shape).toEqual([3, 4, 5]);
  });

  it('refuses masks that do not fit, with typed errors', async () => {
    const x = zeros([2, 3], { device });
    expect(() => booleanMask(x, zeros([3], { dtype: 'bool', device }))).toThrow(/booleanMask: expected a mask of the leading dims of input \[2, 3\], got \[3\]/);
    expect(() => booleanMask(x, zeros([2, 3, 1], { dtype: 'bool', device }))).toThrow(ShapeError);
    expect(() => maskedSelect(x, zeros([4], { dtype: 'bool', device }))).toThrow(ShapeError);
    await expect(booleanMaskAsync(x, zeros([3], { dtype: 'bool', device }))).rejects.toThrow(ShapeError);
    if (device !== 'cpu') expect(() => maskedSelect(x, zeros([2, 3], { dtype: 'bool' }))).toThrow(DeviceError);
  });
});

it('maskedSelect and booleanMask gradients match finite differences', () => {
  manualSeed(2);
  const mask = rand([3, 4]).gt(0.4);
  gradcheck((x) => maskedSelect(x, mask).square(), [rand([3, 4])]);
  gradcheck((x) => booleanMask(x, mask.slice(1, 0, 1).squeeze(1)).square(), [rand([3, 2])]);
});
