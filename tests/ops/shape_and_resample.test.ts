import { expect, it } from 'vitest';

import * as nc from '../../lib/index.js';
import { ArgumentError, ShapeError, tensor, zeros, type Tensor } from '../../lib/index.js';
import { describeDevices } from '../helpers/devices.js';
import { fixtureTests, readFixture, type FnCase } from '../helpers/fixture_cases.js';
import { gradcheck } from '../helpers/gradcheck.js';

const cases = readFixture<FnCase[]>('resample.json');

const calls: Record<string, (...xs: Tensor[]) => Tensor> = {
  'convTranspose2d k3 s2 p1': (x, w, b) => nc.convTranspose2d(x!, w!, b, { stride: 2, padding: 1 }),
  'convTranspose2d outputPadding groups': (x, w) => nc.convTranspose2d(x!, w!, null, { stride: 2, padding: 1, outputPadding: 1, groups: 2 }),
  'convTranspose2d k2 s2': (x, w) => nc.convTranspose2d(x!, w!, null, { stride: 2 }),
  'convTranspose2d dilation': (x, w) => nc.convTranspose2d(x!, w!, null, { dilation: 2, padding: 1 }),
  convTranspose1d: (x, w) => nc.convTranspose1d(x!, w!, null, { stride: 3, padding: 1 }),
  convTranspose3d: (x, w) => nc.convTranspose3d(x!, w!, null, { stride: 2 }),
  'conv2d reflect': (x, w) => nc.conv2d(x!, w!, null, { padding: 1, paddingMode: 'reflect' }),
  'conv2d circular': (x, w) => nc.conv2d(x!, w!, null, { padding: 2, paddingMode: 'circular' }),
  'nearest x2': (x) => nc.interpolate(x!, { scaleFactor: 2 }),
  'nearest size': (x) => nc.interpolate(x!, { size: [5, 7] }),
  'bilinear x2': (x) => nc.interpolate(x!, { scaleFactor: 2, mode: 'bilinear', alignCorners: false }),
  'bilinear size aligned': (x) => nc.interpolate(x!, { size: [5, 7], mode: 'bilinear', alignCorners: true }),
  'bilinear downsample': (x) => nc.interpolate(x!, { size: [3, 2], mode: 'bilinear' }),
  'bicubic x2': (x) => nc.interpolate(x!, { scaleFactor: 2, mode: 'bicubic' }),
  'bicubic size aligned': (x) => nc.interpolate(x!, { size: [6, 5], mode: 'bicubic', alignCorners: true }),
  linear: (x) => nc.interpolate(x!, { size: 9, mode: 'linear' }),
  trilinear: (x) => nc.interpolate(x!, { scaleFactor: 2, mode: 'trilinear' }),
  'pad constant': (x) => nc.pad(x!, [1, 2, 0, 3], 'constant', 1.5),
  'pad crop': (x) => nc.pad(x!, [-1, 1, 2, -2]),
  'pad reflect': (x) => nc.pad(x!, [2, 1, 1, 3], 'reflect'),
  'pad replicate': (x) => nc.pad(x!, [3, 1, 2, 2], 'replicate'),
  'pad circular': (x) => nc.pad(x!, [2, 3, 1, 1], 'circular'),
  cat: (a, b) => nc.cat([a!, b!.mul(2)], 1),
  stack: (a, b) => nc.stack([a!, b!], 2),
  flip: (x) => nc.flip(x!, [0, 2]),
  roll: (x) => nc.roll(x!, [1, -2], [0, 1]),
  rot90: (x) => nc.rot90(x!, 1, [1, 2]),
  'rot90 k3': (x) => nc.rot90(x!, 3, [0, 1]),
  pixelShuffle: (x) => nc.pixelShuffle(x!, 2),
  pixelUnshuffle: (x) => nc.pixelUnshuffle(x!, 2),
  clamp: (x) => nc.clamp(x!, -0.5, 0.7),
  var: (x) => nc.variance(x!, 1),
  'std keepdim': (x) => nc.std(x!, [0, 2], { keepdim: true }),
  cumsum: (x) => nc.cumsum(x!, 1),
};

it('every fixture has a neocog call', () => {
  expect(cases.map((c) => c.name).filter((n) => !(n in calls))).toEqual([]);
});

describeDevices('shape and resampling ops vs PyTorch', (device) => {
  fixtureTests(device, cases, calls);

  it('the course examples: maxUnpool2d and convTranspose2d sizes', () => {
    const x = nc.arange(1, 17, 1, { dtype: 'float32', device }).reshape(1, 1, 4, 4);
    const { values, indices } = nc.maxPool2d(x, 2, { stride: 2, returnIndices: true });
    expect(nc.maxUnpool2d(values, indices, 2, { stride: 2 }).reshape(4, 4).tolist()).toEqual([
      [0, 0, 0, 0],
      [0, 6, 0, 8],
      [0, 0, 0, 0],
      [0, 14, 0, 16],
    ]);
    expect(nc.convTranspose2d(zeros([1, 3, 64, 64], { device }), zeros([3, 16, 3, 3], { device }), null, { stride: 2, padding: 1 }).shape).toEqual([1, 16, 127, 127]);
  });

  it('split, chunk, argmax, argmin, oneHot, maskedFill', () => {
    const x = nc.arange(10, { device });
    expect(nc.split(x, 4).map((t) => t.tolist())).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
    expect(nc.split(x, [2, 8]).map((t) => t.shape)).toEqual([[2], [8]]);
    expect(nc.chunk(x, 3).map((t) => t.numel)).toEqual([4, 4, 2]);
    const m = tensor([[1, 5, 2, 5], [7, 0, 7, -1]], { device });
    expect(nc.argmax(m, 1).tolist()).toEqual([1, 0]);
    expect(nc.argmin(m, 1, { keepdim: true }).tolist()).toEqual([[0], [3]]);
    expect(nc.argmax(m).item()).toBe(4);
    expect(nc.oneHot(tensor([0, 2], { device }), 3).tolist()).toEqual([[1, 0, 0], [0, 0, 1]]);
    expect(nc.maskedFill(tensor([1, 2, 3], { device }), tensor([true, false, true], { device }), 0).tolist()).toEqual([0, 2, 0]);
  });

  it('scatterAdd accumulates and its gradient gathers', () => {
    const base = zeros([2, 3], { device, requiresGrad: true });
    const src = tensor([[1, 2], [3, 4]], { dtype: 'float32', device, requiresGrad: true });
    const out = nc.scatterAdd(base, 1, tensor([[0, 0], [2, 1]], { device }), src);
    expect(out.tolist()).toEqual([[3, 0, 0], [0, 4, 3]]);
    out.mul(tensor([[1, 2, 3], [4, 5, 6]], { dtype: 'float32', device })).sum().backward();
    expect(src.grad!.tolist()).toEqual([[1, 1], [6, 5]]);
    expect(base.grad!.tolist()).toEqual([[1, 2, 3], [4, 5, 6]]);
  });
});

it('resampling gradients match finite differences', () => {
  nc.manualSeed(61);
  gradcheck((x) => nc.interpolate(x, { size: [5, 3], mode: 'bicubic' }), [nc.randn([1, 1, 3, 4])]);
  gradcheck((x, w) => nc.convTranspose2d(x, w, null, { stride: 2, padding: 1 }), [nc.randn([1, 2, 3, 3]), nc.randn([2, 2, 3, 3])]);
  gradcheck((x) => nc.pad(x, [1, 1], 'reflect'), [nc.randn([2, 4])]);
});

it('shape and resampling ops reject bad arguments', () => {
  const x = zeros([1, 2, 4, 4]);
  expect(() => nc.cat([])).toThrow(ArgumentError);
  expect(() => nc.cat([zeros([2, 3]), zeros([3, 3])], 1)).toThrow(ShapeError);
  expect(() => nc.pad(x, [1])).toThrow(/even number/);
  expect(() => nc.pad(x, [4, 4], 'reflect')).toThrow(/must be smaller than the size 4/);
  expect(() => nc.interpolate(x, {})).toThrow(/exactly one of size and scaleFactor/);
  expect(() => nc.interpolate(x, { size: 3, mode: 'trilinear' })).toThrow(/expects a 5-d input/);
  expect(() => nc.convTranspose2d(x, zeros([2, 3, 3, 3]), null, { stride: 2, outputPadding: 2 })).toThrow(/convTranspose2d: expected outputPadding\[0\] smaller than max\(stride, dilation\) = 2, got 2/);
  expect(() => nc.conv2d(x, zeros([3, 2, 3, 3]), null, { paddingMode: 'mirror' as never })).toThrow(/paddingMode/);
  expect(() => nc.clamp(x)).toThrow(/at least one of min and max/);
  expect(() => nc.pixelShuffle(zeros([1, 3, 2, 2]), 2)).toThrow(ShapeError);
});
