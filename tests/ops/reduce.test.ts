import { readFileSync } from 'node:fs';

import { expect, it } from 'vitest';

import { amax, amin, DTypeError, manualSeed, mean, randint, randn, sum, tensor, type Tensor } from '../../lib/index.js';
import { describeDevices, expectClose } from '../helpers/devices.js';
import { fixtureTests } from '../helpers/fixture_cases.js';
import { reduceSuite } from '../helpers/fixture_suites.js';

interface Result {
  dtype: string;
  shape: number[];
  values: number[];
}
interface Fixture {
  sums: Array<Result & { input: string; dim: number | null }>;
  meanErrors: Record<string, string>;
}

const fixture = JSON.parse(readFileSync(new URL('../fixtures/reduce.json', import.meta.url), 'utf8')) as Fixture;

/** The inputs of make_reduce_fixtures.py. */
const inputs: Record<string, () => Tensor> = {
  bool: () => tensor([[true, false, true], [true, true, false]]),
  uint8: () => tensor(new Uint8Array([200, 100, 255, 1, 2, 3]), { shape: [2, 3] }),
  int32: () => tensor(new Int32Array([-5, 7, 2, 2147483, 1, -1]), { shape: [2, 3] }),
  float32: () => tensor([[1.5, -2.0, 0.25], [3.0, 4.5, -1.0]]),
};

describeDevices('sum and mean dtype rules as PyTorch', (device) => {
  for (const c of fixture.sums) {
    it(`sum of ${c.input} [2, 3] dim ${c.dim}: ${c.dtype} [${c.shape}]`, () => {
      const x = inputs[c.input]!().to(device);
      const out = c.dim === null ? x.sum() : sum(x, c.dim);
      expect(out.dtype).toBe(c.dtype);
      expect(out.shape).toEqual(c.shape);
      expectClose(out.cpu().dataSync(), c.values, 1e-6);
    });
  }

  it('a bool mask sums to the count of its trues, with keepdim', () => {
    const mask = tensor([1, 5, 3, 8], { device }).gt(2);
    const count = mask.sum([0], { keepdim: true });
    expect([count.dtype, count.shape, count.tolist()]).toEqual(['int32', [1], [3]]);
    expect(mask.sum().item()).toBe(3);
  });

  it('mean of an integer or bool tensor is refused, as PyTorch refuses it', () => {
    for (const name of Object.keys(fixture.meanErrors)) {
      const x = inputs[name]!().to(device);
      expect(() => mean(x)).toThrow(DTypeError);
      expect(() => x.mean(0)).toThrow("mean: could not infer output dtype; expected input to have a floating point dtype, got " + name);
    }
    expect(fixture.meanErrors.int32).toMatch(/^mean\(\): could not infer output dtype/); // the PyTorch behaviour matched
    expectClose(inputs.float32!().to(device).mean(1).cpu().dataSync(), [-0.0833333, 2.1666667], 1e-6);
  });
});

// Forward values and input gradients against PyTorch (tests/fixtures/ops.json, written by
// make_fixtures.py), on every device.
describeDevices('reductions vs PyTorch', (device) => fixtureTests(device, reduceSuite.cases, reduceSuite.calls, { tolerance: reduceSuite.tolerance }));

/** float64 reference of a reduction of `x` (read as nested row-major values) over `dims`, keepdim. */
function reference(x: Tensor, dims: number[], combine: (a: number, b: number) => number, init: number, finish = (v: number, _n: number) => v): number[] {
  const values = Array.from(x.contiguous().dataSync(), Number);
  const shape = x.shape;
  const outShape = shape.map((s, d) => (dims.includes(d) ? 1 : s));
  const outCount = outShape.reduce((a, b) => a * b, 1);
  const acc = new Array<number>(outCount).fill(init);
  const counts = new Array<number>(outCount).fill(0);
  values.forEach((v, flat) => {
    let rest = flat;
    let o = 0;
    let scale = 1;
    for (let d = shape.length - 1; d >= 0; --d) {
      const coord = rest % shape[d]!;
      rest = Math.floor(rest / shape[d]!);
      if (!dims.includes(d)) o += coord * scale;
      scale *= outShape[d]!;
    }
    acc[o] = combine(acc[o]!, v);
    counts[o]! += 1;
  });
  return acc.map((v, o) => finish(v, counts[o]!));
}

const nanMax = (a: number, b: number) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b));
const nanMin = (a: number, b: number) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b));

// The CPU kernel has separate loops for a kept unit-stride dim (chunks of 256 columns), for
// few outputs over many elements (threads split the rows) and for the rest.
describeDevices('reductions of every layout against a float64 reference', (device) => {
  it('per-channel reductions of channels-last activations (kept unit-stride dim, several column chunks)', () => {
    manualSeed(11);
    for (const channels of [7, 600]) {
      const x = randn([3, 9, 11, channels], { device }).permute(0, 3, 1, 2); // channels-last [3, C, 9, 11]
      const dims = [0, 2, 3];
      expectClose(sum(x, dims, { keepdim: true }).cpu().dataSync(), reference(x, dims, (a, b) => a + b, 0), 1e-4);
      expectClose(mean(x, dims, { keepdim: true }).cpu().dataSync(), reference(x, dims, (a, b) => a + b, 0, (v, n) => v / n), 1e-5);
      expectClose(amax(x, dims, { keepdim: true }).cpu().dataSync(), reference(x, dims, nanMax, -Infinity), 0);
      expectClose(amin(x, dims, { keepdim: true }).cpu().dataSync(), reference(x, dims, nanMin, Infinity), 0);
    }
  });

  it('per-channel reductions of few channels over many rows (the rows split in parts, NaN in one of them)', () => {
    manualSeed(14);
    const values = randn([4, 40, 33, 5], { device }).cpu().dataSync().slice();
    values[5 * 3000 + 2] = NaN; // channel 2, in a later part of the rows
    const x = tensor(values, { device }).reshape([4, 40, 33, 5]).permute(0, 3, 1, 2); // channels-last [4, 5, 40, 33]
    const dims = [0, 2, 3];
    expectClose(sum(x, dims).cpu().dataSync(), reference(x, dims, (a, b) => a + b, 0), 1e-3);
    expectClose(mean(x, dims).cpu().dataSync(), reference(x, dims, (a, b) => a + b, 0, (v, n) => v / n), 1e-5);
    expectClose(amax(x, dims).cpu().dataSync(), reference(x, dims, nanMax, -Infinity), 0);
    expectClose(amin(x, dims).cpu().dataSync(), reference(x, dims, nanMin, Infinity), 0);
  });

  it('amax and sum over a short outer dim of a wide tensor, NaN propagating, and integer sums', () => {
    manualSeed(12);
    const values = randn([3, 5000]).dataSync();
    values[2 * 5000 + 4321] = NaN;
    const x = tensor(values, { shape: [3, 5000], device });
    expectClose(amax(x, 0).cpu().dataSync(), reference(x, [0], nanMax, -Infinity), 0);
    expectClose(sum(x, 0).cpu().dataSync(), reference(x, [0], (a, b) => a + b, 0), 1e-5);
    const ints = randint(-1000, 1000, [5, 3000], { device });
    expect(Array.from(sum(ints, 0).cpu().dataSync(), Number)).toEqual(reference(ints, [0], (a, b) => a + b, 0));
  });

  it('whole-tensor and few-output reductions of many elements (rows split between threads)', () => {
    manualSeed(13);
    const x = randn([40000, 3], { device });
    expectClose([sum(x).cpu().item()], reference(x, [0, 1], (a, b) => a + b, 0), 1e-2);
    expectClose(sum(x, [0]).cpu().dataSync(), reference(x, [0], (a, b) => a + b, 0), 1e-2);
    const wide = randn([2, 70000], { device });
    expectClose(sum(wide, 1).cpu().dataSync(), reference(wide, [1], (a, b) => a + b, 0), 1e-2);
    expectClose(amax(wide, 1).cpu().dataSync(), reference(wide, [1], nanMax, -Infinity), 0);
    expectClose(mean(wide).cpu().dataSync(), reference(wide, [0, 1], (a, b) => a + b, 0, (v, n) => v / n), 1e-6);
    const ints = randint(0, 100, [100000], { device });
    expect(sum(ints).cpu().item()).toBe(reference(ints, [0], (a, b) => a + b, 0)[0]);
  });
});
