import { readFileSync } from 'node:fs';

import { expect, it } from 'vitest';

import { affineGrid, arange, ArgumentError, DTypeError, gridSample, manualSeed, rand, randn, ShapeError, tensor, zeros } from '../../lib/index.js';
import { describeDevices, expectClose } from '../helpers/devices.js';
import { gradcheck } from '../helpers/gradcheck.js';

interface Values {
  shape: number[];
  values: number[];
}
interface GridSampleCase {
  mode: 'bilinear' | 'nearest';
  paddingMode: 'zeros' | 'border' | 'reflection';
  alignCorners: boolean;
  input: Values;
  grid: Values;
  output: Values;
  gradOutput: number[];
  gradInput: number[];
  gradGrid: number[];
}
interface AffineGridCase {
  alignCorners: boolean;
  size: number[];
  theta: number[];
  output: Values;
  gradOutput: number[];
  gradTheta: number[];
}

const fixtures = JSON.parse(readFileSync(new URL('../fixtures/grid.json', import.meta.url), 'utf8')) as {
  gridSample: GridSampleCase[];
  affineGrid: AffineGridCase[];
};

describeDevices('gridSample and affineGrid vs PyTorch', (device) => {
  const load = (v: Values) => tensor(Float32Array.from(v.values), { device }).reshape(v.shape);

  for (const c of fixtures.gridSample) {
    it(`gridSample ${c.mode} ${c.paddingMode} alignCorners=${c.alignCorners} x=[${c.input.shape}] grid=[${c.grid.shape}]`, () => {
      const x = load(c.input).requiresGrad_();
      const grid = load(c.grid).requiresGrad_();
      const out = gridSample(x, grid, { mode: c.mode, paddingMode: c.paddingMode, alignCorners: c.alignCorners });
      expect(out.shape).toEqual(c.output.shape);
      expectClose(out.cpu().dataSync(), c.output.values, 1e-4);
      out.backward(load({ shape: c.output.shape, values: c.gradOutput }));
      expectClose(x.grad!.cpu().dataSync(), c.gradInput, 1e-4);
      // PyTorch's grid gradient is zero in 'nearest' mode; neocog records none.
      expectClose(grid.grad?.cpu().dataSync() ?? new Float32Array(c.gradGrid.length), c.gradGrid, 1e-3);
    });
  }

  for (const c of fixtures.affineGrid) {
    it(`affineGrid alignCorners=${c.alignCorners} size=[${c.size}]`, () => {
      const theta = tensor(Float32Array.from(c.theta), { device }).reshape(c.size[0]!, 2, 3).requiresGrad_();
      const out = affineGrid(theta, c.size, { alignCorners: c.alignCorners });
      expect(out.shape).toEqual(c.output.shape);
      expectClose(out.cpu().dataSync(), c.output.values, 1e-5);
      out.backward(load({ shape: c.output.shape, values: c.gradOutput }));
      expectClose(theta.grad!.cpu().dataSync(), c.gradTheta, 1e-4);
    });
  }

  it('the identity affine grid samples the input back', () => {
    const x = arange(0, 24, 1, { dtype: 'float32', device }).reshape(1, 2, 3, 4);
    const identity = tensor([[[1, 0, 0], [0, 1, 0]]], { dtype: 'float32', device });
    for (const alignCorners of [false, true]) {
      for (const mode of ['bilinear', 'nearest'] as const) {
        expectClose(gridSample(x, affineGrid(identity, x.shape, { alignCorners }), { mode, alignCorners }).cpu().dataSync(), x.cpu().dataSync(), 1e-5);
      }
    }
  });

  it('nearest rounds half to even, as nearbyint', () => {
    const x = arange(0, 4, 1, { dtype: 'float32', device }).reshape(1, 1, 1, 4);
    // alignCorners: pixel = (g + 1) * 1.5, so these grids land on 0.5, 1.5 and 2.5.
    const grid = tensor([[[[-2 / 3, 0], [0, 0], [2 / 3, 0]]]], { dtype: 'float32', device });
    expect(gridSample(x, grid, { mode: 'nearest', alignCorners: true }).cpu().tolist()).toEqual([[[[0, 2, 2]]]]);
  });
});

it('gridSample and affineGrid gradients match finite differences', () => {
  manualSeed(71);
  const grid = () => rand([1, 2, 3, 2]).mul(2.4).sub(1.2);
  for (const paddingMode of ['zeros', 'border', 'reflection'] as const) {
    gradcheck((x, g) => gridSample(x, g, { paddingMode }), [randn([1, 2, 3, 4]), grid()], { eps: 1e-3, atol: 5e-3 });
  }
  gradcheck((x, g) => gridSample(x, g, { alignCorners: true, paddingMode: 'reflection' }), [randn([1, 1, 3, 3]), grid()], { eps: 1e-3, atol: 5e-3 });
  const fixed = grid();
  gradcheck((x) => gridSample(x, fixed, { mode: 'nearest' }), [randn([1, 2, 3, 4])]);
  gradcheck((t) => affineGrid(t, [2, 1, 3, 2]), [randn([2, 2, 3])]);
  gradcheck((x, t) => gridSample(x, affineGrid(t, [1, 1, 4, 4])), [randn([1, 1, 3, 3]), tensor([[[0.9, 0.2, 0.1], [-0.1, 1.1, 0.05]]], { dtype: 'float32' })], { eps: 1e-3, atol: 5e-3 });
});

it('gridSample and affineGrid reject bad arguments, naming the op and the argument', () => {
  const x = zeros([2, 1, 4, 4]);
  const grid = zeros([2, 3, 3, 2]);
  expect(() => gridSample(zeros([1, 4, 4]), grid)).toThrow(ShapeError);
  expect(() => gridSample(zeros([1, 4, 4]), grid)).toThrow(/gridSample: expected input of rank 4/);
  expect(() => gridSample(x, zeros([2, 3, 3]))).toThrow(/gridSample: expected grid of shape \[N, Hout, Wout, 2\]/);
  expect(() => gridSample(x, zeros([2, 3, 3, 3]))).toThrow(ShapeError);
  expect(() => gridSample(x, zeros([1, 3, 3, 2]))).toThrow(/gridSample: grid has batch 1 but input has 2/);
  expect(() => gridSample(x, grid, { mode: 'bicubic' as 'nearest' })).toThrow(ArgumentError);
  expect(() => gridSample(x, grid, { mode: 'bicubic' as 'nearest' })).toThrow(/gridSample: expected mode/);
  expect(() => gridSample(x, grid, { paddingMode: 'wrap' as 'zeros' })).toThrow(/gridSample: expected paddingMode/);
  expect(() => gridSample(x.to('int32'), grid)).toThrow(DTypeError);
  expect(() => gridSample(x, 'grid' as never)).toThrow(/gridSample: expected grid to be a Tensor/);
  expect(() => affineGrid(zeros([2, 3, 3]), [2, 1, 4, 4])).toThrow(/affineGrid: expected theta of shape \[N, 2, 3\]/);
  expect(() => affineGrid(zeros([2, 2, 3]), [2, 1, 4])).toThrow(/affineGrid: expected size \[N, C, H, W\]/);
  expect(() => affineGrid(zeros([2, 2, 3]), [3, 1, 4, 4])).toThrow(/affineGrid: size has batch 3 but theta has 2/);
});

interface GridClipCase extends Omit<GridSampleCase, 'mode'> {
  name: string;
}

// Grids on the clip limits of 'border' / 'reflection' (tests/fixtures/make_grid_fixtures.py, grid_clip_cases).
const clipCases = JSON.parse(readFileSync(new URL('../fixtures/grid_clip.json', import.meta.url), 'utf8')) as GridClipCase[];

it('the grid clip fixture covers border and reflection with both alignCorners', () => {
  expect(clipCases.filter((c) => c.paddingMode === 'border').map((c) => c.alignCorners).sort()).toEqual([false, true, true]);
  expect(clipCases.filter((c) => c.paddingMode === 'reflection')).toHaveLength(3);
});

describeDevices('gridSample grid gradient on the clip limits vs PyTorch', (device) => {
  const load = (v: Values) => tensor(Float32Array.from(v.values), { device }).reshape(v.shape);
  for (const c of clipCases) {
    it(`${c.name} ${c.paddingMode} alignCorners=${c.alignCorners} grid=[${c.grid.shape}]`, () => {
      const x = load(c.input).requiresGrad_();
      const grid = load(c.grid).requiresGrad_();
      const out = gridSample(x, grid, { paddingMode: c.paddingMode, alignCorners: c.alignCorners });
      expectClose(out.cpu().dataSync(), c.output.values, 1e-5);
      out.backward(load({ shape: c.output.shape, values: c.gradOutput }));
      expectClose(x.grad!.cpu().dataSync(), c.gradInput, 1e-5);
      // Exact: on and beyond the limits both are 0, elsewhere the same few float products.
      expectClose(grid.grad!.cpu().dataSync(), c.gradGrid, 1e-4);
    });
  }

  it('an identity affineGrid with alignCorners: border / reflection grid gradient is 0 at the edge pixels', () => {
    const size = [1, 1, 3, 4];
    const identity = affineGrid(tensor([[[1, 0, 0], [0, 1, 0]]], { dtype: 'float32', device }), size, { alignCorners: true }).requiresGrad_();
    for (const paddingMode of ['border', 'reflection'] as const) {
      identity.grad = null;
      gridSample(arange(12, { dtype: 'float32', device }).reshape(size), identity, { paddingMode, alignCorners: true }).sum().backward();
      const g = identity.grad!.reshape(3, 4, 2).tolist() as number[][][];
      // x at the first and last column, y at the first and last row.
      expect([g[1]![0]![0], g[1]![3]![0], g[0]![1]![1], g[2]![1]![1]]).toEqual([0, 0, 0, 0]);
      // Inside, the slope of the ramp: 1 per pixel in x, 4 in y, times 1.5 / 1 pixels per unit.
      expect(g[1]![1]![0]).toBeCloseTo(1.5, 5);
      expect(g[1]![1]![1]).toBeCloseTo(4, 5);
    }
  });
});
