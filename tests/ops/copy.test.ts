// The copies under contiguous(), clone(), to(dtype) and to(device) (lib/ops/copy.ts, internal).
import { expect, it } from 'vitest';

import { arange, zeros } from '../../lib/index.js';
import { copyInto, copyTo, zerosOn } from '../../lib/ops/copy.js';
import { describeDevices } from '../helpers/devices.js';

describeDevices('copies', (device) => {
  it('copyTo makes a contiguous converted copy of a strided view', () => {
    const x = arange(6, { dtype: 'float32', device }).reshape(2, 3).transpose(0, 1);
    const y = copyTo(x, device, 'int32', 'test');
    expect(y.dtype).toBe('int32');
    expect(y.strides).toEqual([2, 1]);
    expect(y.cpu().tolist()).toEqual([[0, 3], [1, 4], [2, 5]]);
    const toCpu = copyTo(x, 'cpu', 'float32', 'test');
    expect(toCpu.device).toBe('cpu');
    expect(toCpu.tolist()).toEqual([[0, 3], [1, 4], [2, 5]]);
  });

  it('copyInto writes into a strided view, leaving the rest', () => {
    const dst = zeros([2, 4], { device });
    copyInto(dst.slice(1, 1, 3), arange(4, { dtype: 'float32', device }).reshape(2, 2));
    expect(dst.cpu().tolist()).toEqual([[0, 0, 1, 0], [0, 2, 3, 0]]);
  });

  it('zerosOn gives float32 zeros on the device', () => {
    const z = zerosOn([2, 2], device);
    expect([z.dtype, z.device, z.cpu().tolist()]).toEqual(['float32', device, [[0, 0], [0, 0]]]);
  });
});
