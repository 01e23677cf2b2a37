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
