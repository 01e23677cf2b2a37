// Unary ops (lib/ops/unary.ts) against PyTorch and a float64 reference. Dense float tensors
// of transcendental ops run on oneDNN's eltwise primitives; strided views run the shared
// per-element kernels (kernels/unary.h). Both paths must give the same values and
// gradients, for every unary op, and agree with a float64 reference.
import { expect, it } from 'vitest';

import * as nc from '../../lib/index.js';
import { manualSeed, randn, type Tensor } from '../../lib/index.js';
import { describeDevices, expectClose } from '../helpers/devices.js';
import { fixtureTests } from '../helpers/fixture_cases.js';
import { casesWithoutCalls, sharedFixtureCases, unarySuite } from '../helpers/fixture_suites.js';

const erf = (x: number): number => {
  // Simpson's rule on 2/sqrt(pi) * exp(-t^2) over [0, x]: exact to ~1e-12 here.
  const n = 2000, h = x / n;
  let sum = 1 + Math.exp(-x * x);
  for (let i = 1; i < n; ++i) sum += (i % 2 ? 4 : 2) * Math.exp(-((i * h) ** 2));
  return ((2 / Math.sqrt(Math.PI)) * sum * h) / 3;
};
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

const ops: Array<[string, (x: Tensor) => Tensor, (x: number) => number, number]> = [
  ['exp', nc.exp, Math.exp, 0],
  ['log', nc.log, Math.log, 1],
  ['sqrt', nc.sqrt, Math.sqrt, 1],
  ['sigmoid', nc.sigmoid, sigmoid, 0],
  ['tanh', nc.tanh, Math.tanh, 0],
  ['gelu', nc.gelu, (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)), 0],
  ['silu', nc.silu, (x) => x * sigmoid(x), 0],
  ['elu', (x) => nc.elu(x, 0.7), (x) => (x > 0 ? x : 0.7 * (Math.exp(x) - 1)), 0],
  ['relu', nc.relu, (x) => Math.max(x, 0), 0],
  ['hardswish', nc.hardswish, (x) => (x <= -3 ? 0 : x >= 3 ? x : (x * (x + 3)) / 6), 0],
  ['relu6', nc.relu6, (x) => Math.min(Math.max(x, 0), 6), 0],
];

/** Values and input gradient (of sum(f(x) * w)) of `fn` at `x`. */
function valueAndGrad(fn: (x: Tensor) => Tensor, x: Tensor, w: Tensor): [Float32Array, Float32Array] {
  const leaf = x.detach().requiresGrad_();
  const y = fn(leaf);
  y.mul(w).sum().backward();
  return [y.contiguous().dataSync() as Float32Array, leaf.grad!.contiguous().dataSync() as Float32Array];
}

it.each(ops)('%s: dense (oneDNN) and strided (shared kernel) paths agree, with the reference', (_, fn, reference, positive) => {
  manualSeed(11);
  const base = randn([4, 9, 16, 16]).mul(2);
  const dense = positive ? base.abs().add(0.1) : base; // 9,216 elements: above the oneDNN threshold
  const w = randn([4, 8, 16, 16]);
  // Channel slice: not one dense block, so the shared kernel runs.
  const strided = dense.slice(1, 0, 8);
  const contiguous = strided.contiguous();
  const channelsLast = contiguous.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);
  const [vs, gs] = valueAndGrad(fn, strided, w);
  const [vd, gd] = valueAndGrad(fn, contiguous, w);
  const [vc, gc] = valueAndGrad(fn, channelsLast, w);
  expectClose(vd, vs, 2e-5);
  expectClose(vc, vs, 2e-5);
  expectClose(gd, gs, 5e-5);
  expectClose(gc, gs, 5e-5);
  const xs = contiguous.dataSync();
  expectClose(vd, Array.from(xs, reference), 1e-5);
  // The gradient of sum(f(x) * w) is f'(x) * w: check it against central differences of the reference.
  const ws = w.dataSync();
  const h = 1e-4;
  const numeric = Array.from(xs, (x, i) => ((reference(x + h) - reference(x - h)) / (2 * h)) * ws[i]!);
  for (let i = 0; i < numeric.length; i += 97) expect(Math.abs(gd[i]! - numeric[i]!)).toBeLessThan(2e-3 * Math.max(1, Math.abs(numeric[i]!)));
});

it('silu over a dense block of several parallel pieces with a partial last vector (the AVX-512 path), extremes included', () => {
  manualSeed(12);
  // 3 x 13,339 = 40,017 floats: past the parallel grain, not a multiple of 16.
  const x = randn([3, 13339]).mul(8);
  const extremes = [-104, -88, -20, -1e-30, 0, 1e-30, 20, 88, 104, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN];
  const got = Array.from(nc.silu(nc.cat([x.reshape([-1]), nc.tensor(extremes)])).dataSync());
  const finite = [...x.dataSync(), ...extremes.slice(0, 9)];
  expectClose(got.slice(0, finite.length), finite.map((v) => v * sigmoid(v)), 1e-5);
  // +inf stays; -inf and NaN give NaN, as x * sigmoid(x) and torch.nn.functional.silu do.
  expect(got.slice(finite.length)).toEqual([Number.POSITIVE_INFINITY, Number.NaN, Number.NaN]);
  // The strided (shared kernel) path over the same values: a column slice is not one dense block.
  const strided = nc.cat([x, x], 1).slice(1, 0, 13339);
  expectClose(nc.silu(x).dataSync(), nc.silu(strided).contiguous().dataSync(), 2e-6);
});

// ops.json holds the cases of several op files; tests/helpers/fixture_suites.ts splits it.
it('every ops.json fixture has a neocog call', () => {
  expect(casesWithoutCalls('ops.json', sharedFixtureCases['ops.json']!)).toEqual([]);
});

// Forward values and input gradients against PyTorch (tests/fixtures/ops.json, written by
// make_fixtures.py), on every device.
describeDevices('unary ops vs PyTorch', (device) => fixtureTests(device, unarySuite.cases, unarySuite.calls, { tolerance: unarySuite.tolerance }));

describeDevices('relu6', (device) => {
  it('keeps NaN, clips to [0, 6], and has no gradient at either bound (hardtanh), as torch.nn.functional.relu6', () => {
    const x = nc.tensor([Number.NaN, -1, 0, 3, 6, 7.5], { device }).requiresGrad_();
    const y = nc.relu6(x);
    const values = Array.from(y.cpu().dataSync());
    expect(Number.isNaN(values[0])).toBe(true);
    expect(values.slice(1)).toEqual([0, 0, 3, 6, 6]);
    y.slice(0, 1).sum().backward();
    expect(x.grad!.cpu().tolist()).toEqual([0, 0, 0, 1, 0, 0]);
    expect(() => nc.relu6(nc.tensor([1, 2], { dtype: 'int32', device }))).toThrow(nc.DTypeError);
  });
});

describeDevices('floor, ceil and round', (device) => {
  it('round halves to even and keeps signs, as torch.floor/ceil/round; integers pass through', () => {
    const x = nc.tensor([-2.5, -1.5, -0.5, -0.2, 0.5, 1.5, 2.5, 2.7, 1e9 + 0.5], { dtype: 'float32', device });
    // torch.round(torch.tensor([-2.5, -1.5, -0.5, -0.2, 0.5, 1.5, 2.5, 2.7])) = [-2, -2, -0, -0, 0, 2, 2, 3]
    expect(nc.round(x).cpu().tolist()).toEqual([-2, -2, -0, -0, 0, 2, 2, 3, 1e9]);
    expect(nc.floor(x).cpu().tolist()).toEqual([-3, -2, -1, -1, 0, 1, 2, 2, 1e9]);
    expect(nc.ceil(x).cpu().tolist()).toEqual([-2, -1, -0, -0, 1, 2, 3, 3, 1e9]);
    const ints = nc.tensor([-3, 0, 7], { dtype: 'int32', device });
    for (const f of [nc.floor, nc.ceil, nc.round]) expect(f(ints).tolist()).toEqual([-3, 0, 7]);
    expect(Number.isNaN(nc.round(nc.tensor([Number.NaN], { device })).cpu().dataSync()[0])).toBe(true);
  });

  it('refuse bool and non-tensor inputs with typed errors', () => {
    for (const f of [nc.floor, nc.ceil, nc.round]) {
      expect(() => f(nc.tensor([true, false], { dtype: 'bool', device }))).toThrow(nc.DTypeError);
      expect(() => f(3 as unknown as nc.Tensor)).toThrow(nc.ArgumentError);
    }
  });

  it('their gradient is zero, as PyTorch', () => {
    for (const f of [nc.floor, nc.ceil, nc.round]) {
      const x = nc.tensor([0.3, 1.7, -2.2], { device }).requiresGrad_();
      f(x).mul(3).sum().backward();
      expect(x.grad!.cpu().tolist()).toEqual([0, 0, 0]);
    }
  });
});

it('bfloat16 and float16 inputs: 16-bit outputs, each the float32 result rounded once; gradients through float32', () => {
  manualSeed(6);
  for (const dtype of ['bfloat16', 'float16'] as const) {
    const x = randn([64]).mul(4).to(dtype);
    for (const name of ['relu', 'relu6', 'sigmoid', 'tanh', 'neg', 'silu', 'hardswish'] as const) {
      const out = nc[name](x);
      expect(out.dtype, name).toBe(dtype);
      expect(Array.from(out.to('float32').dataSync()), name).toEqual(Array.from(nc[name](x.to('float32')).to(dtype).to('float32').dataSync()));
    }
    const leaf = x.to('float32').requiresGrad_();
    nc.relu(leaf.to(dtype)).to('float32').sum().backward();
    expect(Array.from(leaf.grad!.to('float32').dataSync())).toEqual(Array.from(x.to('float32').dataSync()).map((v) => (v > 0 ? 1 : 0)));
  }
});
