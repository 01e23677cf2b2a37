import { expect, it } from 'vitest';

import * as nc from '../../lib/index.js';
import { ArgumentError, arange, manualSeed, maxPool2d, randn, ShapeError, tensor, zeros } from '../../lib/index.js';
import { describeDevices, expectClose } from '../helpers/devices.js';
import { emptyBatchTest } from '../helpers/empty_batch.js';
import { poolCases as cases, runPool as run, type PoolCase } from '../helpers/fixture_formats.js';
import { gradcheck } from '../helpers/gradcheck.js';

describeDevices('pooling vs PyTorch', (device) => {
  // 4-d cases run twice: NCHW (the generic kernel) and channels-last (the fast path).
  const layouts = (c: PoolCase) => (c.input.shape.length === 4 ? ['nchw', 'channels-last'] : ['nchw']);
  for (const c of cases) for (const layout of layouts(c)) {
    it(`${c.name}: ${c.fn} [${c.input.shape}] ${layout} ${JSON.stringify(c.args)} ${JSON.stringify(c.options)}`, () => {
      const loaded = tensor(Float32Array.from(c.input.values), { device }).reshape(c.input.shape);
      const x = (layout === 'nchw' ? loaded : loaded.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)).requiresGrad_();
      const result = run(c, x);
      const [out, indices] = 'values' in result ? [result.values, result.indices] : [result, null];
      expect(out.shape).toEqual(c.output.shape);
      expectClose(out.cpu().dataSync(), c.output.values, 1e-5);
      if (c.indices) expect(Array.from(indices!.cpu().dataSync())).toEqual(c.indices);
      out.backward(tensor(Float32Array.from(c.gradOutput), { device }).reshape(c.output.shape));
      expectClose(x.grad!.cpu().dataSync(), c.gradInput, 1e-5);
    });
  }

  it('the course examples: max 2x2 with indices, avg 2x2, adaptive avg', () => {
    const x = arange(1, 17, 1, { dtype: 'float32', device }).reshape(1, 1, 4, 4);
    const { values, indices } = maxPool2d(x, 2, { stride: 2, returnIndices: true });
    expect(values.reshape(2, 2).tolist()).toEqual([[6, 8], [14, 16]]);
    expect(indices.reshape(2, 2).tolist()).toEqual([[5, 7], [13, 15]]);
    const y = arange(1, 21, 1, { dtype: 'float32', device }).reshape(1, 1, 4, 5);
    expect(nc.avgPool2d(y, 2, { stride: 2 }).reshape(2, 2).tolist()).toEqual([[4, 6], [14, 16]]);
    expect(nc.adaptiveAvgPool2d(y, [2, 2]).reshape(2, 2).tolist()).toEqual([[4.5, 6.5], [14.5, 16.5]]);
  });

  it('keeps channels-last inputs channels-last', () => {
    const x = randn([2, 8, 6, 6], { device }).permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);
    const y = maxPool2d(x, 2);
    expect(y.strides).toEqual([72, 1, 24, 8]);
    expect(nc.globalAvgPool2d(x, { keepdim: false }).shape).toEqual([2, 8]);
  });
});

it('pooling gradients match finite differences', () => {
  manualSeed(31);
  gradcheck((x) => maxPool2d(x, 3, { stride: 2, padding: 1 }), [randn([1, 2, 5, 5])], { eps: 1e-3 });
  gradcheck((x) => nc.avgPool2d(x, 3, { stride: 2, padding: 1, countIncludePad: false }), [randn([1, 2, 5, 5])]);
  gradcheck((x) => nc.adaptiveAvgPool2d(x, [2, 3]), [randn([1, 2, 5, 7])]);
});

it('pooling rejects bad arguments', () => {
  const x = zeros([1, 1, 4, 4]);
  expect(() => maxPool2d(zeros([4, 4]), 2)).toThrow(/maxPool2d: expected input rank 4/);
  expect(() => maxPool2d(x, 0)).toThrow(ShapeError);
  expect(() => maxPool2d(x, 2.5)).toThrow(/maxPool2d: expected kernelSize to be an integer >= 1/);
  expect(() => maxPool2d(x, 2, { padding: 2 })).toThrow(/at most half the kernel size/);
  expect(() => maxPool2d(x, 5)).toThrow(ShapeError);
  expect(() => nc.avgPool2d(x, 2, { divisorOverride: 0 })).toThrow(/divisorOverride/);
  expect(() => nc.adaptiveAvgPool2d(x, [2])).toThrow(/outputSize to have 2 entries/);
  expect(() => nc.adaptiveAvgPool2d(x, 0)).toThrow(/positive integers/);
});

// An empty batch (N = 0), as PyTorch (tests/fixtures/make_empty_batch_fixtures.py).
emptyBatchTest('maxPool1d', (x) => nc.maxPool1d(x!, 2));
emptyBatchTest('maxPool2d', (x) => maxPool2d(x!, 3, { stride: 2, padding: 1 }));
emptyBatchTest('maxPool3d', (x) => nc.maxPool3d(x!, 2));
emptyBatchTest('avgPool1d', (x) => nc.avgPool1d(x!, 2));
emptyBatchTest('avgPool2d', (x) => nc.avgPool2d(x!, 2));
emptyBatchTest('avgPool3d', (x) => nc.avgPool3d(x!, 2));
emptyBatchTest('adaptiveAvgPool1d', (x) => nc.adaptiveAvgPool1d(x!, 3));
emptyBatchTest('adaptiveAvgPool2d', (x) => nc.adaptiveAvgPool2d(x!, 3));
emptyBatchTest('adaptiveAvgPool3d', (x) => nc.adaptiveAvgPool3d(x!, 3));
emptyBatchTest('adaptiveMaxPool2d', (x) => nc.adaptiveMaxPool2d(x!, 3));
emptyBatchTest('globalAvgPool2d', (x) => nc.globalAvgPool2d(x!));
it('channels-last max pooling with vector-wide channel counts gives the generic NCHW kernel\'s values, indices and gradients bit for bit', () => {
  // 37 channels: two 16-channel vectors and a scalar tail. Rounded values make ties (the
  // first maximum must win), one NaN must win its windows, and stride 1 windows overlap so
  // an input gathers several gradients (the summation order must match the scatter's).
  const options = [
    { kernel: 3, stride: 2, padding: 1 },
    { kernel: 2, stride: 2, ceilMode: true },
    { kernel: 3, stride: 1, padding: 1, dilation: 2 },
    { kernel: 3, stride: 1 },
  ];
  for (const { kernel, ...opts } of options) {
    manualSeed(3);
    const raw = randn([2, 37, 9, 11]).dataSync().map((v) => Math.round(2 * v));
    raw[5 * 99 + 13] = NaN;
    const nchw = tensor(raw).reshape(2, 37, 9, 11).requiresGrad_();
    const channelsLast = nchw.detach().permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2).requiresGrad_();
    const a = maxPool2d(nchw, kernel, { ...opts, returnIndices: true });
    const b = maxPool2d(channelsLast, kernel, { ...opts, returnIndices: true });
    expect(b.values.strides[1]).toBe(1);
    expect(Array.from(b.values.dataSync())).toEqual(Array.from(a.values.dataSync()));
    expect(Array.from(b.indices.dataSync())).toEqual(Array.from(a.indices.dataSync()));
    const g = randn(a.values.shape);
    a.values.backward(g);
    b.values.backward(g.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2));
    expect(Array.from(channelsLast.grad!.dataSync())).toEqual(Array.from(nchw.grad!.dataSync()));
  }
});

it('16-bit inputs: maxima exact, averages rounded once, indices and gradients included (NCHW)', () => {
  manualSeed(8);
  for (const dtype of ['bfloat16', 'float16'] as const) {
    const x = randn([2, 3, 9, 9]).to(dtype);
    const wide = x.to('float32');
    const max = maxPool2d(x, 3, { stride: 2, returnIndices: true });
    expect(max.values.dtype).toBe(dtype);
    expect(Array.from(max.values.to('float32').dataSync())).toEqual(Array.from(maxPool2d(wide, 3, { stride: 2 }).dataSync()));
    expect(max.indices.tolist()).toEqual(maxPool2d(wide, 3, { stride: 2, returnIndices: true }).indices.tolist());
    const avg = nc.adaptiveAvgPool2d(x, 1);
    expect(Array.from(avg.to('float32').dataSync())).toEqual(Array.from(nc.adaptiveAvgPool2d(wide, 1).to(dtype).to('float32').dataSync()));
    const leaf = wide.clone().requiresGrad_();
    nc.avgPool2d(leaf.to(dtype), 3).to('float32').sum().backward();
    expect(leaf.grad!.amax().item()).toBeCloseTo(1 / 9, 2); // 1 / 9 in the 16-bit dtype: the gradient passes through it
  }
});

it('16-bit channels-last inputs pool as they are (16-lane vector rows for bfloat16 maxima, channels off the lanes too)', () => {
  manualSeed(9);
  for (const dtype of ['bfloat16', 'float16'] as const) {
    // 35 channels: two 16-channel vectors and a tail; a NaN wins its windows, as in float32.
    const wide = randn([2, 11, 13, 35]).permute(0, 3, 1, 2);
    const values = wide.dataSync();
    values[100] = NaN;
    const x = tensor(values, { shape: [2, 11, 13, 35] }).permute(0, 3, 1, 2).to(dtype);
    const exact = x.to('float32');
    const max = maxPool2d(x, 3, { stride: 2, padding: 1, returnIndices: true });
    expect(max.values.dtype).toBe(dtype);
    expect(max.values.strides[1]).toBe(1); // stays channels-last
    const expected = maxPool2d(exact, 3, { stride: 2, padding: 1, returnIndices: true });
    expect(Array.from(max.values.to('float32').dataSync())).toEqual(Array.from(expected.values.dataSync()));
    expect(max.indices.tolist()).toEqual(expected.indices.tolist());
    const avg = nc.avgPool2d(x, 2);
    expect(avg.dtype).toBe(dtype);
    expect(Array.from(avg.to('float32').dataSync())).toEqual(Array.from(nc.avgPool2d(exact, 2).to(dtype).to('float32').dataSync()));
  }
});
