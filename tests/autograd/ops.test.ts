import { describe, expect, it } from 'vitest';

import {
  abs, add, amax, amin, div, elu, exp, gelu, hardswish, leakyRelu, log, manualSeed, matmul, maximum, mean,
  minimum, mul, neg, pow, rand, randn, reciprocal, relu, sigmoid, silu, sqrt, square, sub, sum, tanh, tensor, where,
  type Tensor,
} from '../../lib/index.js';
import { gradcheck } from '../helpers/gradcheck.js';

/** Values in [lo, hi) with no element within `gap` of the kinks given. */
function awayFrom(shape: number[], lo: number, hi: number, kinks: number[] = [], gap = 0.1): Tensor<'float32'> {
  const values = Array.from(rand(shape).dataSync(), (u) => lo + (hi - lo) * u).map((v) => {
    for (const k of kinks) if (Math.abs(v - k) < gap) return k + gap * (v < k ? -1.5 : 1.5);
    return v;
  });
  return tensor(Float32Array.from(values)).reshape(shape) as Tensor<'float32'>;
}

describe('unary gradients', () => {
  manualSeed(11);
  const cases: Array<[string, (x: Tensor) => Tensor, Tensor<'float32'>]> = [
    ['neg', neg, awayFrom([2, 3], -2, 2)],
    ['abs', abs, awayFrom([2, 3], -2, 2, [0])],
    ['exp', exp, awayFrom([2, 3], -2, 2)],
    ['log', log, awayFrom([2, 3], 0.5, 3)],
    ['sqrt', sqrt, awayFrom([2, 3], 0.5, 3)],
    ['square', square, awayFrom([2, 3], -2, 2)],
    ['reciprocal', reciprocal, awayFrom([2, 3], 0.5, 3)],
    ['relu', relu, awayFrom([2, 3], -2, 2, [0])],
    ['sigmoid', sigmoid, awayFrom([2, 3], -3, 3)],
    ['tanh', tanh, awayFrom([2, 3], -2, 2)],
    ['leakyRelu', (x) => leakyRelu(x, 0.2), awayFrom([2, 3], -2, 2, [0])],
    ['elu', (x) => elu(x, 0.7), awayFrom([2, 3], -2, 2, [0])],
    ['gelu', gelu, awayFrom([2, 3], -3, 3)],
    ['silu', silu, awayFrom([2, 3], -3, 3)],
    ['hardswish', hardswish, awayFrom([2, 3], -4, 4, [-3, 3])],
  ];
  for (const [name, fn, x] of cases) it(name, () => gradcheck(fn, [x]));
});

describe('binary gradients with broadcasting', () => {
  manualSeed(12);
  const shapes: Array<[number[], number[]]> = [
    [[2, 3], [2, 3]],
    [[2, 3], [3]],
    [[4, 1, 3], [1, 2, 1]],
    [[3], []],
  ];
  const ops: Array<[string, (a: Tensor, b: Tensor) => Tensor]> = [
    ['add', add],
    ['sub', sub],
    ['mul', mul],
    ['div', div],
    ['maximum', maximum],
    ['minimum', minimum],
  ];
  for (const [name, op] of ops) {
    for (const [sa, sb] of shapes) {
      it(`${name} a=[${sa}] b=[${sb}]`, () => gradcheck(op, [awayFrom(sa, 0.5, 2), awayFrom(sb, -2, -0.5)]));
    }
  }
  it('pow with tensor base and exponent', () => gradcheck(pow, [awayFrom([2, 3], 0.5, 2), awayFrom([3], -1, 2)]));
  it('scalar operands', () => gradcheck((x) => x.mul(3).add(1).div(2).sub(4).pow(2), [awayFrom([5], -1, 1)]));
  it('maximum splits the gradient of ties in half, as torch', () => {
    const a = tensor([1, 2, 3], { dtype: 'float32', requiresGrad: true });
    const b = tensor([1, 5, 0], { dtype: 'float32', requiresGrad: true });
    maximum(a, b).sum().backward();
    expect(a.grad!.tolist()).toEqual([0.5, 0, 1]);
    expect(b.grad!.tolist()).toEqual([0.5, 1, 0]);
  });
  it('where', () => {
    const cond = tensor([[true, false, true]]);
    gradcheck((a, b) => where(cond, a, b), [awayFrom([2, 3], -1, 1), awayFrom([3], -1, 1)]);
  });
});

describe('reduction gradients', () => {
  manualSeed(13);
  it('sum over all, one dim, several dims with keepdim', () => {
    gradcheck((x) => sum(x), [awayFrom([2, 3, 4], -1, 1)]);
    gradcheck((x) => sum(x, 1), [awayFrom([2, 3, 4], -1, 1)]);
    gradcheck((x) => sum(x, [0, 2], { keepdim: true }), [awayFrom([2, 3, 4], -1, 1)]);
  });
  it('mean', () => {
    gradcheck((x) => mean(x, -1), [awayFrom([3, 5], -1, 1)]);
    gradcheck((x) => mean(x), [awayFrom([3, 5], -1, 1)]);
  });
  it('amax and amin (distinct values)', () => {
    gradcheck((x) => amax(x, 1), [tensor([[1, 5, 3], [9, 2, 4]], { dtype: 'float32' })], { eps: 1e-2 });
    gradcheck((x) => amin(x, 0), [tensor([[1, 5, 3], [9, 2, 4]], { dtype: 'float32' })], { eps: 1e-2 });
  });
  it('amax shares the gradient among ties', () => {
    const x = tensor([2, 7, 7, 1], { dtype: 'float32', requiresGrad: true });
    amax(x).backward();
    expect(x.grad!.tolist()).toEqual([0, 0.5, 0.5, 0]);
  });
});

describe('matmul gradients', () => {
  manualSeed(14);
  it('2-d', () => gradcheck(matmul, [randn([3, 4]), randn([4, 2])]));
  it('batched with a broadcast batch', () => gradcheck(matmul, [randn([2, 3, 4]), randn([4, 2])]));
  it('vector-matrix and matrix-vector', () => {
    gradcheck(matmul, [randn([4]), randn([4, 3])]);
    gradcheck(matmul, [randn([3, 4]), randn([4])]);
  });
  it('through a transposed view', () => gradcheck((a, b) => matmul(a.transpose(0, 1), b), [randn([4, 3]), randn([4, 2])]));
});

describe('view and indexing gradients', () => {
  manualSeed(15);
  it('reshape, permute, transpose, flatten', () => {
    gradcheck((x) => x.reshape(3, 4).permute(1, 0).flatten(), [randn([2, 6])]);
    gradcheck((x) => x.transpose(0, 2).reshape(-1), [randn([2, 3, 2])]);
  });
  it('slice with a step, squeeze, unsqueeze', () => {
    gradcheck((x) => x.slice(1, 1, 6, 2).unsqueeze(0).squeeze(0), [randn([2, 7])]);
  });
  it('expand sums the gradient back', () => gradcheck((x) => x.expand(4, 3).mul(x), [randn([1, 3])]));
  it('contiguous and clone pass gradients through', () => {
    gradcheck((x) => x.transpose(0, 1).contiguous().clone(), [randn([3, 2])]);
  });
  it('indexSelect accumulates repeated indices', () => {
    const index = tensor([2, 0, 2]);
    gradcheck((x) => x.indexSelect(0, index), [randn([3, 2])]);
    gradcheck((x) => x.indexSelect(1, index), [randn([2, 3])]);
  });
});

describe('the gradient check itself', () => {
  it('fails on a wrong gradient', async () => {
    const { record } = await import('../../lib/autograd/graph.js');
    const wrongDouble = (x: Tensor) => record('wrongDouble', x.detach().mul(2), [x], (g) => [g.mul(3)]);
    expect(() => gradcheck(wrongDouble, [randn([3])])).toThrow(/analytic .* vs numeric/);
  });
});

describe('gradients of composed shape and statistics ops', () => {
  it('cat, stack, flip, roll, rot90', async () => {
    const nc = await import('../../lib/index.js');
    manualSeed(16);
    gradcheck((a, b) => nc.cat([a, b], 1), [randn([2, 2]), randn([2, 3])]);
    gradcheck((a, b) => nc.stack([a, b], 0), [randn([3]), randn([3])]);
    gradcheck((x) => nc.roll(nc.flip(x, [1]), 1, 0), [randn([3, 2])]);
    gradcheck((x) => nc.rot90(x, 1, [0, 1]), [randn([2, 3])]);
  });
  it('clamp, variance, std, cumsum', async () => {
    const nc = await import('../../lib/index.js');
    manualSeed(17);
    gradcheck((x) => nc.clamp(x, -0.5, 0.5), [awayFrom([2, 4], -2, 2, [-0.5, 0.5])]);
    gradcheck((x) => nc.variance(x, 1), [randn([3, 4])]);
    gradcheck((x) => nc.std(x), [randn([5])]);
    gradcheck((x) => nc.cumsum(x, 0), [randn([4, 2])]);
  });
  it('scatterAdd, gather, maxUnpool2d, bilinear interpolate', async () => {
    const nc = await import('../../lib/index.js');
    manualSeed(18);
    const index = tensor([[0, 2, 0], [1, 1, 2]]);
    gradcheck((base, src) => nc.scatterAdd(base, 1, index, src), [randn([2, 3]), randn([2, 3])]);
    gradcheck((x) => nc.gather(x, 1, index), [randn([2, 3])]);
    const { indices } = nc.maxPool2d(randn([1, 1, 4, 4]), 2, { returnIndices: true });
    gradcheck((x) => nc.maxUnpool2d(x, indices, 2), [randn([1, 1, 2, 2])]);
    gradcheck((x) => nc.interpolate(x, { size: [3, 5], mode: 'bilinear', alignCorners: true }), [randn([1, 1, 2, 3])]);
  });
});
