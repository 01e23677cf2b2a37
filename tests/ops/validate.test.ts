// Bad arguments get typed errors, never aborts or silent garbage (issue 11): sizes computed
// from user numbers, out-of-range indices, integer powers and scalars, repeated dims and
// per-dim option lists of the wrong length.
import { readFileSync } from 'node:fs';

import { expect, it } from 'vitest';

import {
  add,
  affineGrid,
  amax,
  amin,
  ArgumentError,
  arange,
  avgPool2d,
  clamp,
  conv1d,
  conv2d,
  conv3d,
  convTranspose2d,
  DTypeError,
  eq,
  flip,
  full,
  IndexError,
  interpolate,
  maxPool2d,
  maxUnpool2d,
  mean,
  ones,
  oneHot,
  pad,
  pow,
  randn,
  scatterAdd,
  ShapeError,
  std,
  sum,
  tensor,
  variance,
  where,
  zeros,
} from '../../lib/index.js';
import { describeDevices } from '../helpers/devices.js';

// Written by make_int_pow_fixtures.py: torch's int32 powers (wrapping) and its error messages.
const intPow = JSON.parse(readFileSync(new URL('../fixtures/int_pow.json', import.meta.url), 'utf8')) as {
  bases: number[];
  cases: Array<{ exponent: number; result: number[] }>;
  errors: Record<string, string>;
};

it('interpolate refuses output sizes past the limits before building anything', () => {
  const x = ones([1, 1, 2, 2]);
  // This used to abort the process with a V8 out-of-memory.
  expect(() => interpolate(x, { scaleFactor: 1e9 })).toThrow(ShapeError);
  expect(() => interpolate(x, { scaleFactor: 1e9 })).toThrow(/interpolate: output sizes must be at most 16777216/);
  expect(() => interpolate(x, { size: [1, 2 ** 24 + 1] })).toThrow(ShapeError);
  // Each dim within the per-dim limit, but too many elements in all.
  expect(() => interpolate(ones([4, 4, 2, 2]), { size: [2 ** 14, 2 ** 14] })).toThrow(/interpolate: output shape \[4, 4, 16384, 16384\] has 4294967296 elements/);
  expect(() => interpolate(x, { scaleFactor: Infinity })).toThrow(ArgumentError);
  expect(() => interpolate(x, { scaleFactor: NaN })).toThrow(ArgumentError);
  expect(interpolate(x, { scaleFactor: 2 }).shape).toEqual([1, 1, 4, 4]);
});

it('pad, full, zeros, arange and convTranspose2d refuse outputs of more than 2^31 - 1 elements', () => {
  const x = ones([1, 1, 2, 2]);
  for (const mode of ['constant', 'replicate'] as const) {
    expect(() => pad(x, [1e9, 1e9, 0, 0], mode)).toThrow(/pad: output shape \[1, 1, 2, 2000000002\] has 4000000004 elements/);
  }
  expect(() => zeros([1e6, 1e6, 1e6])).toThrow(ShapeError);
  expect(() => full([65536, 65536], 1)).toThrow(/full: size \[65536, 65536\] has 4294967296 elements, more than the 2147483647/);
  expect(() => arange(0, 1e10, 0.5)).toThrow(/arange: size \[20000000000\]/);
  const w = ones([1, 1, 1, 1]);
  expect(() => convTranspose2d(ones([1, 1, 3, 3]), w, null, { stride: 2 ** 30 })).toThrow(/convTranspose2d: output shape .* more than the 2147483647/);
  const identity = tensor([[[1, 0, 0], [0, 1, 0]]], { dtype: 'float32' });
  expect(() => affineGrid(identity, [1, 1, 1e9, 1e9])).toThrow(/affineGrid: output shape \[1, 1000000000, 1000000000, 2\]/);
  expect(() => affineGrid(identity, [1, 1, 30000, 30000])).toThrow(/affineGrid: base grid \[30000, 30000, 3\]/);
  // expand is a view (no memory); materialising it meets the limit.
  const wide = ones([1, 1]).expand(2 ** 20, 2 ** 20);
  expect(wide.shape).toEqual([2 ** 20, 2 ** 20]);
  expect(() => wide.contiguous()).toThrow(/output shape \[1048576, 1048576\] has 1099511627776 elements/);
  expect(() => randn([2 ** 16, 2 ** 16])).toThrow(ShapeError);
  // The limit itself is fine to reach in shape arithmetic: an empty tensor of a huge extent is no allocation.
  expect(zeros([0, 2 ** 40]).shape).toEqual([0, 2 ** 40]);
});

describeDevices('index checks in the kernels', (device) => {
  it('scatterAdd refuses an index outside the target, as torch.scatter_add', async () => {
    const out = scatterAdd(zeros([3], { device }), 0, tensor([7], { device }), ones([1], { device }));
    await expect(out.data()).rejects.toThrow(IndexError);
    const negative = scatterAdd(zeros([2, 3], { device }), 1, tensor([[0, -1]], { device }), ones([1, 2], { device }));
    await expect(negative.data()).rejects.toThrow(/scatterAdd: index -1 is out of range for dimension 1 with size 3/);
    // In range still adds up, repeats accumulating.
    const ok = scatterAdd(zeros([3], { device }), 0, tensor([2, 0, 2], { device }), tensor([1, 2, 3], { dtype: 'float32', device }));
    expect(Array.from(await ok.data())).toEqual([2, 0, 4]);
  });

  it('oneHot refuses classes outside [0, numClasses), as F.one_hot', async () => {
    await expect(oneHot(tensor([0, 5], { device }), 3).data()).rejects.toThrow(/index 5 is out of range for dimension 1 with size 3/);
    await expect(oneHot(tensor([-1], { device }), 3).data()).rejects.toThrow(IndexError);
    expect(() => oneHot(tensor([1, -1], { device }))).toThrow(/oneHot: class values must be non-negative, got -1/);
    expect(oneHot(tensor([[2], [0]], { device }), 3).tolist()).toEqual([[[0, 0, 1]], [[1, 0, 0]]]);
    expect(oneHot(tensor([1, 3], { device })).tolist()).toEqual([
      [0, 1, 0, 0],
      [0, 0, 0, 1],
    ]);
  });

  it('maxUnpool2d refuses an index outside the unpooled plane, as F.max_unpool2d', async () => {
    const values = ones([1, 1, 2, 2], { device });
    const out = maxUnpool2d(values, tensor([[[[0, 3], [8, 99]]]], { device }), 2);
    await expect(out.data()).rejects.toThrow(/index 99 is out of range for dimension 2 with size 16/);
    const good = maxUnpool2d(values, tensor([[[[0, 3], [8, 15]]]], { device }), 2);
    expect(Array.from(await good.data()).flatMap((v, i) => (v === 1 ? [i] : []))).toEqual([0, 3, 8, 15]);
  });
});

it('maxUnpool2d validates kernel, stride and padding like the pools', () => {
  const x = ones([1, 1, 2, 2]);
  const idx = tensor([[[[0, 1], [2, 3]]]]);
  expect(() => maxUnpool2d(x, idx, [2])).toThrow(/maxUnpool2d: expected kernelSize to be an integer >= 1 or a list of 2 of them, got \[2 \(number\)\]/);
  expect(() => maxUnpool2d(x, idx, 2, { stride: -1 })).toThrow(ShapeError);
  expect(() => maxUnpool2d(x, idx, 2, { padding: 0.5 })).toThrow(ShapeError);
});

it('int32 pow matches torch, wrapping on overflow', () => {
  const base = tensor(intPow.bases, { dtype: 'int32' });
  for (const { exponent, result } of intPow.cases) {
    expect([exponent, Array.from(pow(base, exponent).dataSync())]).toEqual([exponent, result]);
  }
});

it('pow refuses what would truncate: a fractional or negative number exponent on integers', () => {
  const ints = tensor([4, 2], { dtype: 'int32' });
  // Used to give 1 (0.5 truncated to 0) and 0.
  expect(() => pow(ints, 0.5)).toThrow(DTypeError);
  expect(() => pow(ints, 0.5)).toThrow("pow: expected exponent to be an int32 integer with a int32 tensor, got 0.5 (neocog does not promote dtypes: convert the tensor with .to('float32'))");
  expect(() => pow(ints, -1)).toThrow(ArgumentError);
  expect(() => pow(ints, -1)).toThrow(/integers to negative integer powers are not allowed/i);
  expect(intPow.errors.negativeExponent).toMatch(/Integers to negative integer powers are not allowed/);
  expect(() => pow(tensor([3], { dtype: 'uint8' }), -2)).toThrow(ArgumentError);
  expect(() => pow(ints, 2 ** 40)).toThrow(DTypeError);
  // The cast the message names gives torch's float result.
  expect(Array.from(pow(ints.to('float32'), 0.5).dataSync())).toEqual([2, Math.SQRT2].map(Math.fround));
  expect(Array.from(pow(tensor([4, 2], { dtype: 'float32' }), -1).dataSync())).toEqual([0.25, 0.5]);
});

it('integer tensors refuse number operands that do not convert exactly', () => {
  const ints = tensor([1, 2], { dtype: 'int32' });
  expect(() => add(ints, 0.5)).toThrow(DTypeError);
  expect(() => ints.mul(2.5)).toThrow(/mul: expected other to be an int32 integer with a int32 tensor, got 2.5/);
  expect(() => add(ints, 3e9)).toThrow(DTypeError);
  expect(() => add(ints, NaN)).toThrow(DTypeError);
  expect(() => eq(ints, 1.5)).toThrow(/eq: expected other to be an int32 integer/);
  expect(() => where(tensor([true, false]), 0.5, ints)).toThrow(/where: expected input to be an int32 integer/);
  expect(() => eq(tensor([true]), 2)).toThrow(/eq: expected other to be 0 or 1 with a bool tensor/);
  expect(() => clamp(ints, 0.5)).toThrow(/clamp: expected min to be an int32 integer with a int32 tensor, got 0.5/);
  expect(() => clamp(ints, null, 1.5)).toThrow(/clamp: expected max/);
  expect(clamp(ints, 0, 1).tolist()).toEqual([1, 1]);
  // Integers still work, and uint8 wraps as in PyTorch (uint8 + 300 adds 44).
  expect(add(ints, 3).tolist()).toEqual([4, 5]);
  expect(add(tensor([1], { dtype: 'uint8' }), 300).tolist()).toEqual([45]);
  expect(add(tensor([0.5], { dtype: 'float32' }), 0.25).tolist()).toEqual([0.75]);
});

it('mixed dtypes name the cast that PyTorch promotion would make', () => {
  const i = tensor([1], { dtype: 'int32' });
  const f = tensor([1], { dtype: 'float32' });
  expect(() => add(i, f)).toThrow(DTypeError);
  expect(() => add(i, f)).toThrow("add: expected other to have dtype int32 like input, got float32 (neocog does not promote dtypes: convert input with .to('float32'))");
  expect(() => f.add(i)).toThrow("add: expected other to have dtype float32 like input, got int32 (convert with .to('float32'))");
  expect(() => tensor([1], { dtype: 'uint8' }).mul(i)).toThrow(/convert input with \.to\('int32'\)/);
  expect(() => f.to('float16').add(f.to('bfloat16'))).toThrow(/convert both input and other with \.to\('float32'\)/);
});

it('dim lists refuse repeats, as PyTorch ("dim 0 appears multiple times")', () => {
  const x = ones([2, 3]);
  const repeated = /dim 0 appears multiple times in the list of dims/;
  for (const [name, fn] of [
    ['sum', () => sum(x, [0, 0])],
    ['mean', () => mean(x, [0, -2])],
    ['amax', () => amax(x, [0, 0])],
    ['amin', () => amin(x, [-2, 0])],
    ['var', () => variance(x, [0, 0])],
    ['var', () => std(x, [0, 0])],
    ['flip', () => flip(x, [0, 0])],
  ] as const) {
    expect(fn).toThrow(ArgumentError);
    expect(fn).toThrow(new RegExp(`^${name}: ${repeated.source}`));
  }
  expect(() => x.permute(0, 0)).toThrow(ShapeError);
  // Distinct dims still work.
  expect(sum(x, [0, 1]).tolist()).toEqual(6);
  expect(flip(arange(4).reshape(2, 2), [0, 1]).tolist()).toEqual([
    [3, 2],
    [1, 0],
  ]);
});

it('per-dim option lists must have one entry per spatial dim', () => {
  const x2 = randn([1, 1, 5, 5]);
  const w2 = randn([1, 1, 3, 3]);
  // A number applies to every dim; a list must match the rank.
  expect(conv2d(x2, w2, null, { stride: 2 }).shape).toEqual([1, 1, 2, 2]);
  expect(conv2d(x2, w2, null, { stride: [2, 1] }).shape).toEqual([1, 1, 2, 3]);
  expect(() => conv2d(x2, w2, null, { stride: [1] })).toThrow(/conv2d: expected stride to be an integer >= 1 or a list of 2 of them, got \[1 \(number\)\]/);
  expect(() => conv2d(x2, w2, null, { padding: [1, 1, 1] })).toThrow(ShapeError);
  expect(() => conv2d(x2, w2, null, { dilation: [1] })).toThrow(ShapeError);
  expect(() => conv1d(randn([1, 1, 5]), randn([1, 1, 3]), null, { stride: [1, 1] })).toThrow(/conv1d: expected stride/);
  expect(() => conv3d(randn([1, 1, 3, 3, 3]), randn([1, 1, 1, 1, 1]), null, { padding: [0, 0] })).toThrow(/conv3d: expected padding/);
  expect(() => convTranspose2d(x2, w2, null, { stride: [2] })).toThrow(/convTranspose2d: expected stride/);
  expect(() => convTranspose2d(x2, w2, null, { outputPadding: [0] })).toThrow(/convTranspose2d: expected outputPadding/);
  expect(() => maxPool2d(x2, [2])).toThrow(/maxPool2d: expected kernelSize/);
  expect(() => maxPool2d(x2, 2, { stride: [1] })).toThrow(/maxPool2d: expected stride/);
  expect(() => avgPool2d(x2, [2, 2], { padding: [0, 0, 0] })).toThrow(/avgPool2d: expected padding/);
});
