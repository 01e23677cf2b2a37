import { expect, it } from 'vitest';

import * as nc from '../../lib/index.js';
import { manualSeed, tensor, zeros } from '../../lib/index.js';
import { describeDevices } from '../helpers/devices.js';

describeDevices('dropout', (device) => {
  it('dropout and dropout2d', () => {
    const x = tensor([[1, 2]], { dtype: 'float32', device });
    manualSeed(3);
    const kept = nc.dropout(nc.ones([1000], { device }), { p: 0.25 }).dataSync();
    const zerosCount = kept.filter((v) => v === 0).length;
    expect(zerosCount).toBeGreaterThan(180);
    expect(zerosCount).toBeLessThan(320);
    expect(kept.every((v) => v === 0 || Math.abs(v - 4 / 3) < 1e-6)).toBe(true);
    expect(nc.dropout(x, { training: false }).tolist()).toEqual([[1, 2]]);
    const channels = nc.dropout2d(nc.ones([2, 8, 3, 3], { device }), { p: 0.5 }).amax([2, 3]).dataSync();
    const channelMins = nc.dropout2d(nc.ones([2, 8, 3, 3], { device }), { p: 0.5 }).amin([2, 3]).dataSync();
    expect(channels.length).toBe(16);
    expect(Array.from(channelMins).every((v) => v === 0 || v === 2)).toBe(true);
  });
});

it('dropout rejects bad arguments', () => {
  expect(() => nc.dropout(zeros([4, 3]), { p: 1.5 })).toThrow(/expected p in \[0, 1\]/);
});

it('16-bit inputs: unchanged in eval, masked in their own dtype in training', () => {
  manualSeed(9);
  const x = nc.randn([1000]).to('bfloat16');
  expect(nc.dropout(x, { training: false }).tolist()).toEqual(x.tolist());
  const out = nc.dropout(x, { p: 0.5 });
  expect(out.dtype).toBe('bfloat16');
  const kept = Array.from(out.to('float32').dataSync());
  const values = Array.from(x.to('float32').dataSync());
  expect(kept.every((v, i) => v === 0 || v === 2 * values[i]!)).toBe(true);
});
