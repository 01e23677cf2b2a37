import { expect, it } from 'vitest';

import { add, arange, div, DTypeError, manualSeed, maximum, minimum, mul, profile, randn, sub, synchronize, tensor, type Tensor } from '../../lib/index.js';
import { addInPlace, markResidualAdded } from '../../lib/ops/elementwise.js';
import { describeDevices, expectClose } from '../helpers/devices.js';
import { fixtureTests } from '../helpers/fixture_cases.js';
import { elementwiseSuite } from '../helpers/fixture_suites.js';

/** Naive broadcasting reference in float64 JS. */
function reference(a: Tensor, b: Tensor, f: (x: number, y: number) => number): { shape: number[]; values: number[] } {
  const ndim = Math.max(a.ndim, b.ndim);
  const pad = (s: readonly number[]) => [...Array(ndim - s.length).fill(1), ...s];
  const sa = pad(a.shape), sb = pad(b.shape);
  const shape = sa.map((s, i) => (s === 1 ? sb[i]! : s));
  const av = Array.from(a.dataSync()), bv = Array.from(b.dataSync());
  const index = (s: number[], coord: number[]) => coord.reduce((acc, c, i) => acc * s[i]! + (s[i] === 1 ? 0 : c), 0);
  const values: number[] = [];
  const total = shape.reduce((n, s) => n * s, 1);
  for (let i = 0; i < total; ++i) {
    const coord: number[] = [];
    let rest = i;
    for (let d = ndim - 1; d >= 0; --d) {
      coord.unshift(rest % shape[d]!);
      rest = Math.floor(rest / shape[d]!);
    }
    values.push(f(av[index(sa, coord)]!, bv[index(sb, coord)]!));
  }
  return { shape, values };
}

describeDevices('elementwise', (device) => {
  const cases: Array<[string, (x: Tensor, y: Tensor) => Tensor, (x: number, y: number) => number]> = [
    ['add', add, (x, y) => x + y],
    ['sub', sub, (x, y) => x - y],
    ['mul', mul, (x, y) => x * y],
    ['div', div, (x, y) => x / y],
    ['maximum', maximum, Math.max],
    ['minimum', minimum, Math.min],
  ];
  const shapes: Array<[number[], number[]]> = [
    [[2, 3], [2, 3]],
    [[2, 3], [3]],
    [[4, 1, 3], [1, 5, 1]],
    [[3, 1], [1]],
    [[], [2, 2]],
    [[0, 3], [3]],
  ];
  for (const [name, op, f] of cases) {
    for (const [sa, sb] of shapes) {
      it(`${name} a=[${sa}] b=[${sb}]`, () => {
        manualSeed(7);
        const a = randn(sa, { device });
        const b = randn(sb, { device }).add(name === 'div' ? 3 : 0);
        const expected = reference(a, b, f);
        const out = op(a, b);
        expect(out.shape).toEqual(expected.shape);
        expectClose(out.dataSync(), expected.values, 1e-6);
      });
    }
  }

  it('works on strided views (transposed and sliced operands)', () => {
    const a = arange(12, { device, dtype: 'float32' }).reshape(3, 4);
    const t = a.transpose(0, 1); // [4, 3]
    const s = a.slice(1, 0, 4, 2).transpose(0, 1); // [2, 3]
    expect(add(t.slice(0, 0, 2), s).tolist()).toEqual([
      [0, 8, 16],
      [3, 11, 19],
    ]);
  });

  it('scalar operands take the tensor dtype', () => {
    const i = tensor([1, 2, 3], { device });
    expect(i.add(2).tolist()).toEqual([3, 4, 5]);
    expect(i.mul(2).dtype).toBe('int32');
    expect(tensor([1, 2], { dtype: 'float32', device }).div(4).tolist()).toEqual([0.25, 0.5]);
    expect(tensor([250, 10], { dtype: 'uint8', device }).add(10).tolist()).toEqual([4, 20]);
  });

  it('maximum and minimum propagate NaN like torch', () => {
    const a = tensor([Number.NaN, 1, 2], { dtype: 'float32', device });
    const b = tensor([0, Number.NaN, 1], { dtype: 'float32', device });
    const max = a.maximum(b).tolist() as number[];
    expect(Number.isNaN(max[0]!)).toBe(true);
    expect(Number.isNaN(max[1]!)).toBe(true);
    expect(max[2]).toBe(2);
    expect((a.minimum(b).tolist() as number[])[2]).toBe(1);
  });

  it('results are contiguous and inputs unchanged', () => {
    const a = tensor([1, 2], { device });
    const out = a.add(a);
    expect(out.isContiguous()).toBe(true);
    expect(a.tolist()).toEqual([1, 2]);
  });
});

it('integer division is refused (convert first)', () => {
  expect(() => tensor([1]).div(2)).toThrow(/div: expected input to have dtype float32 or bfloat16 or float16, got int32/);
});

// Forward values and input gradients against PyTorch (tests/fixtures/ops.json, written by
// make_fixtures.py), on every device.
describeDevices('elementwise ops vs PyTorch', (device) => fixtureTests(device, elementwiseSuite.cases, elementwiseSuite.calls, { tolerance: elementwiseSuite.tolerance }));

it('addInPlace adds into the tensor itself, in any layout, and refuses a fraction for int32', () => {
  const counter = tensor(Int32Array.from([7])).reshape([]);
  addInPlace(counter, 1);
  expect(counter.item()).toBe(8);
  manualSeed(12);
  const x = randn([2, 3, 4]).permute(2, 0, 1);
  const before = x.contiguous().dataSync();
  addInPlace(x, 0.5);
  expectClose(x.contiguous().dataSync(), Array.from(before, (v) => v + 0.5), 1e-6);
  expect(() => addInPlace(counter, 0.5)).toThrow(DTypeError);
  expect(() => addInPlace(tensor([true]), 1)).toThrow(/add: .*input/);
});

it('addInPlace adds a broadcast tensor into a strided window, leaving the rest, and refuses another dtype', () => {
  manualSeed(13);
  const big = randn([1, 2, 6, 5]);
  const before = big.dataSync();
  const window = big.slice(2, 1, 4).slice(3, 2, 5); // [1, 2, 3, 3], strided
  const value = randn([3, 3, 2]).permute(2, 0, 1); // [2, 3, 3], channels-last-like
  const v = value.contiguous().dataSync();
  addInPlace(window, value);
  const after = big.dataSync();
  for (let c = 0; c < 2; ++c)
    for (let h = 0; h < 6; ++h)
      for (let w = 0; w < 5; ++w) {
        const i = (c * 6 + h) * 5 + w;
        const inside = h >= 1 && h < 4 && w >= 2 && w < 5;
        expect(after[i]).toBeCloseTo(before[i]! + (inside ? v[(c * 3 + h - 1) * 3 + w - 2]! : 0), 5);
      }
  expect(() => addInPlace(window, value.to('int32'))).toThrow(/add: expected other of dtype float32/);
});

it('backward computes no gradient for an operand that does not require one (a broadcast buffer)', async () => {
  manualSeed(21);
  const x = randn([2, 8, 5, 5]).requiresGrad_();
  const scale = randn([1, 8, 1, 1]); // a frozen BatchNorm's per-channel buffer
  const shift = randn([1, 8, 1, 1]);
  for (const [name, f, expected] of [
    ['mul', (a: Tensor) => a.mul(scale), scale],
    ['div', (a: Tensor) => a.div(scale), null],
    ['sub', (a: Tensor) => shift.sub(a), null],
  ] as const) {
    x.grad = null;
    const y = f(x);
    await synchronize();
    const { ops } = await profile(async () => {
      y.backward(randn(y.shape));
      await synchronize();
    });
    // One op for x's gradient (mul, div or neg); none reduces over the broadcast dims.
    expect(ops.map((o) => o.op).filter((op) => op !== 'synchronize' && op !== 'randn' && op !== 'copy' && op !== 'add'), name).toHaveLength(1);
    expect(ops.some((o) => o.op === 'sum'), name).toBe(false);
    expect(x.grad!.shape).toEqual(x.shape);
    if (expected) {
      const g = randn(y.shape);
      x.grad = null;
      f(x).backward(g);
      expectClose(x.grad!.dataSync(), g.mul(expected).dataSync(), 1e-6);
    }
  }
});

it('bfloat16 and float16 operands: each result is the float32 result rounded once; with autograd the gradients are float32 ones rounded', () => {
  manualSeed(5);
  for (const dtype of ['bfloat16', 'float16'] as const) {
    const a = randn([3, 5]).to(dtype);
    const b = randn([5]).to(dtype); // broadcast
    for (const [name, op] of [['add', add], ['sub', sub], ['mul', mul], ['div', div], ['maximum', maximum]] as const) {
      const out = op(a, b);
      expect(out.dtype, name).toBe(dtype);
      const expected = op(a.to('float32'), b.to('float32')).to(dtype);
      expect(Array.from(out.to('float32').dataSync()), name).toEqual(Array.from(expected.to('float32').dataSync()));
    }
    expect(add(a, 1).to('float32').dataSync()).toEqual(add(a.to('float32'), 1).to(dtype).to('float32').dataSync());
    // Gradients flow through float32 copies, to the float32 leaf the 16-bit operand came from.
    const leaf = randn([4]).requiresGrad_();
    const y = randn([4]).to(dtype);
    mul(leaf.to(dtype), y).to('float32').sum().backward();
    expect(Array.from(leaf.grad!.dataSync())).toEqual(Array.from(y.to('float32').dataSync()));
  }
  expect(() => add(randn([2]).to('bfloat16'), randn([2]))).toThrow(DTypeError);
});

it('add of a residual and a sum marked as holding it (lib/infer/fuse.ts) is a view of the sum, once, in either order', () => {
  const residual = randn([2, 3]);
  const sum = randn([2, 3]);
  markResidualAdded(residual, sum);
  markResidualAdded(residual, sum); // two marks: two adds (a block per mark)
  const view = sum.reshape([2, 3]); // a view as it is, as the layers between hand it on
  const first = add(residual, view);
  expect(first.shape).toEqual([2, 3]);
  expect(Array.from(first.dataSync())).toEqual(Array.from(sum.dataSync()));
  expect(Array.from(add(view, residual).dataSync())).toEqual(Array.from(sum.dataSync())); // the second mark
  expectClose(add(residual, sum).dataSync(), sum.dataSync().map((v, i) => v + residual.dataSync()[i]!), 1e-6); // marks used up
  markResidualAdded(residual, sum);
  expectClose(add(residual, sum.transpose(0, 1).transpose(0, 1).mul(1)).dataSync(), sum.dataSync().map((v, i) => v + residual.dataSync()[i]!), 1e-6); // elsewhere: computed
  expectClose(add(residual, sum.add(0)).dataSync(), sum.dataSync().map((v, i) => v + residual.dataSync()[i]!), 1e-6);
  expectClose(add(residual.clone(), sum).dataSync(), sum.dataSync().map((v, i) => v + residual.dataSync()[i]!), 1e-6); // another residual
  const needing = residual.clone().requiresGrad_();
  markResidualAdded(needing, sum);
  expectClose(add(needing, sum).dataSync(), sum.dataSync().map((v, i) => v + residual.dataSync()[i]!), 1e-6); // with autograd: computed
});
