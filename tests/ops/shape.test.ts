import { expect, it } from 'vitest';

import * as nc from '../../lib/index.js';
import { ArgumentError, DTypeError, ShapeError, tensor, zeros } from '../../lib/index.js';
import { describeDevices, expectClose } from '../helpers/devices.js';
import { fixtureTests, readFixture } from '../helpers/fixture_cases.js';
import { casesWithoutCalls, sharedFixtureCases, shapeSuite } from '../helpers/fixture_suites.js';
import { gradcheck } from '../helpers/gradcheck.js';

// resample.json holds the cases of several op files; tests/helpers/fixture_suites.ts splits it.
it('every fixture has a neocog call', () => {
  expect(casesWithoutCalls('resample.json', sharedFixtureCases['resample.json']!)).toEqual([]);
});

// Written by make_clamp_meshgrid_fixtures.py from torch.meshgrid.
const meshgridFixture = readFixture<{
  meshgrid: Array<{
    indexing: 'ij' | 'xy'; inputs: number[][]; outputs: Array<{ shape: number[]; values: number[] }>; gradOutputs: number[][]; grads: number[][];
  }>;
  scalarXyShapes: number[][];
}>('clamp_meshgrid.json');

describeDevices('shape ops vs PyTorch', (device) => {
  fixtureTests(device, shapeSuite.cases, shapeSuite.calls);

  for (const c of meshgridFixture.meshgrid) {
    it(`meshgrid [3] [4] [2] indexing '${c.indexing}' (values and gradients)`, () => {
      const inputs = c.inputs.map((v) => tensor(Float32Array.from(v), { device }).requiresGrad_());
      const outs = nc.meshgrid(inputs, { indexing: c.indexing });
      expect(outs.map((o) => o.shape)).toEqual(c.outputs.map((o) => o.shape));
      outs.forEach((o, i) => expectClose(o.cpu().dataSync(), c.outputs[i]!.values, 0));
      outs.reduce((total, o, i) => total.add(o.mul(tensor(Float32Array.from(c.gradOutputs[i]!), { device }).reshape(o.shape)).sum()), zeros([], { device })).backward();
      inputs.forEach((x, i) => expectClose(x.grad!.cpu().dataSync(), c.grads[i]!, 1e-5));
    });
  }

  it('meshgrid: default ij, 0-d inputs count as size 1, empty inputs give empty grids', () => {
    const [ys, xs] = nc.meshgrid([nc.arange(2, { device }), nc.arange(3, { device })]);
    expect(ys!.tolist()).toEqual([[0, 0, 0], [1, 1, 1]]);
    expect(xs!.tolist()).toEqual([[0, 1, 2], [0, 1, 2]]);
    const scalar = nc.meshgrid([tensor(1, { dtype: 'float32', device }), nc.arange(3, { dtype: 'float32', device })], { indexing: 'xy' });
    expect(scalar.map((t) => t.shape)).toEqual(meshgridFixture.scalarXyShapes);
    expect(nc.meshgrid([nc.arange(0, { device }), nc.arange(3, { device })]).map((t) => t.shape)).toEqual([[0, 3], [0, 3]]);
    expect(nc.meshgrid([nc.arange(4, { device })], { indexing: 'xy' })[0]!.tolist()).toEqual([0, 1, 2, 3]);
  });

  it('split, chunk, oneHot, maskedFill', () => {
    const x = nc.arange(10, { device });
    expect(nc.split(x, 4).map((t) => t.tolist())).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
    expect(nc.split(x, [2, 8]).map((t) => t.shape)).toEqual([[2], [8]]);
    expect(nc.chunk(x, 3).map((t) => t.numel)).toEqual([4, 4, 2]);
    expect(nc.oneHot(tensor([0, 2], { device }), 3).tolist()).toEqual([[1, 0, 0], [0, 0, 1]]);
    expect(nc.maskedFill(tensor([1, 2, 3], { device }), tensor([true, false, true], { device }), 0).tolist()).toEqual([0, 2, 0]);
  });
});

it('cat\'s backward splits the gradient by the inputs it got, though the caller appends to its list afterwards', () => {
  const f32 = (...v: number[]) => tensor(Float32Array.from(v));
  const x = f32(1, 2).requiresGrad_();
  const list = [x, f32(3)];
  const out = nc.cat(list, 0);
  list.push(f32(4, 5));
  out.mul(f32(10, 20, 30)).sum().backward();
  expect(x.grad!.tolist()).toEqual([10, 20]);
});

it('cat keeps the channels-last format its inputs share, else comes out contiguous', () => {
  nc.manualSeed(63);
  const nhwc = (c: number) => nc.randn([2, 3, 4, c]).permute(0, 3, 1, 2);
  const a = nhwc(2);
  const b = nhwc(3);
  const out = nc.cat([a, b], 1);
  // [N, C, H, W] = [2, 5, 3, 4] channels-last: C fastest, then W, H, N.
  expect(out.strides).toEqual([60, 1, 20, 5]);
  expectClose(out.dataSync(), nc.cat([a.contiguous(), b.contiguous()], 1).dataSync(), 0);
  expect(nc.cat([a, b.contiguous()], 1).strides).toEqual([60, 12, 4, 1]);
  expect(nc.cat([a.contiguous(), b.contiguous()], 1).strides).toEqual([60, 12, 4, 1]);
  // Along the batch dim too, and the gradient still splits back to each input.
  const x = nhwc(2).requiresGrad_();
  const y = nhwc(2).requiresGrad_();
  const batch = nc.cat([x, y], 0);
  expect(batch.strides).toEqual([24, 1, 8, 2]);
  batch.mul(nc.arange(96, { dtype: 'float32' }).reshape([4, 2, 3, 4])).sum().backward();
  expect(x.grad!.tolist()).toEqual(nc.arange(48, { dtype: 'float32' }).reshape([2, 2, 3, 4]).tolist());
  expect(y.grad!.tolist()).toEqual(nc.arange(48, 96, 1, { dtype: 'float32' }).reshape([2, 2, 3, 4]).tolist());
});

it('pad gradients match finite differences', () => {
  nc.manualSeed(61);
  gradcheck((x) => nc.pad(x, [1, 1], 'reflect'), [nc.randn([2, 4])]);
});

it('meshgrid gradients match finite differences', () => {
  nc.manualSeed(62);
  gradcheck((a, b) => {
    const [p, q] = nc.meshgrid([a, b], { indexing: 'xy' });
    return p!.mul(q!.square());
  }, [nc.randn([3]), nc.randn([2])]);
});

it('shape ops reject bad arguments', () => {
  const x = zeros([1, 2, 4, 4]);
  expect(() => nc.cat([])).toThrow(ArgumentError);
  expect(() => nc.cat([zeros([2, 3]), zeros([3, 3])], 1)).toThrow(ShapeError);
  expect(() => nc.pad(x, [1])).toThrow(/even number/);
  expect(() => nc.pad(x, [4, 4], 'reflect')).toThrow(/must be smaller than the size 4/);
  expect(() => nc.pixelShuffle(zeros([1, 3, 2, 2]), 2)).toThrow(ShapeError);
  expect(() => nc.meshgrid([])).toThrow(/meshgrid: expected tensors to be a non-empty array/);
  expect(() => nc.meshgrid([zeros([2]), zeros([2, 2])])).toThrow(/meshgrid: expected tensors\[1\] to be 0-d or 1-d, got shape \[2, 2\]/);
  expect(() => nc.meshgrid([zeros([2]), zeros([2], { dtype: 'int32' })])).toThrow(DTypeError);
  expect(() => nc.meshgrid([zeros([2])], { indexing: 'ji' as never })).toThrow(/meshgrid: expected indexing 'ij' or 'xy', got/);
  expect(() => nc.meshgrid([zeros([2]), 3 as never])).toThrow(ArgumentError);
});
