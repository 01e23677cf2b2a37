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

it("stochasticDepth drops whole samples ('row') or the whole batch ('batch'), scaled by 1 / (1 - p)", () => {
  manualSeed(21);
  const rows = nc.stochasticDepth(nc.ones([400, 2, 3, 3]), { p: 0.25 });
  // Each sample is all 0 or all 4/3: its min and max agree.
  const lo = Array.from(rows.amin([1, 2, 3]).dataSync());
  const hi = Array.from(rows.amax([1, 2, 3]).dataSync());
  expect(lo).toEqual(hi);
  expect(lo.every((v) => v === 0 || Math.abs(v - 4 / 3) < 1e-6)).toBe(true);
  const dropped = lo.filter((v) => v === 0).length;
  expect(dropped).toBeGreaterThan(70);
  expect(dropped).toBeLessThan(130);
  const batch = Array.from(nc.stochasticDepth(nc.ones([6, 5]), { p: 0.5, mode: 'batch' }).dataSync());
  expect(new Set(batch).size).toBe(1);
  expect([0, 2]).toContain(batch[0]);
  // Outside training, with p 0, the input passes; p 1 zeroes it (torchvision divides by nothing then).
  const x = nc.randn([3, 4]);
  expect(nc.stochasticDepth(x, { p: 0.9, training: false }).tolist()).toEqual(x.tolist());
  expect(nc.stochasticDepth(x, { p: 0 }).tolist()).toEqual(x.tolist());
  expect(Array.from(nc.stochasticDepth(x, { p: 1 }).dataSync()).every((v) => v === 0)).toBe(true);
});

it('stochasticDepth passes the gradient through the kept samples only', () => {
  manualSeed(22);
  const x = nc.randn([64, 3]).requiresGrad_();
  const y = nc.stochasticDepth(x, { p: 0.5 });
  y.sum().backward();
  const kept = Array.from(y.amax(1).dataSync()).map((_, i) => Array.from(y.dataSync()).slice(i * 3, i * 3 + 3).some((v) => v !== 0));
  const grad = Array.from(x.grad!.dataSync());
  kept.forEach((k, i) => expect(grad.slice(i * 3, i * 3 + 3)).toEqual(k ? [2, 2, 2] : [0, 0, 0]));
});

it('stochasticDepth rejects bad arguments, naming the op', () => {
  expect(() => nc.stochasticDepth(zeros([2, 3]), { p: -0.1 })).toThrow(/stochasticDepth: expected p in \[0, 1\]/);
  expect(() => nc.stochasticDepth(zeros([2, 3]), { mode: 'column' as never })).toThrow(/stochasticDepth: expected mode 'row' or 'batch'/);
  expect(() => nc.stochasticDepth(zeros([]))).toThrow(/stochasticDepth: expected input with a batch dim/);
});
