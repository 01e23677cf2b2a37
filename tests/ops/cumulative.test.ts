import { readFileSync } from 'node:fs';

import { expect, it } from 'vitest';

import * as nc from '../../lib/index.js';
import { DTypeError, ShapeError, tensor, type Tensor } from '../../lib/index.js';
import { describeDevices, expectClose } from '../helpers/devices.js';
import { fixtureTests } from '../helpers/fixture_cases.js';
import { cumsumScanSuite, cumulativeSuite } from '../helpers/fixture_suites.js';
import { gradcheck } from '../helpers/gradcheck.js';

interface FloatCase {
  name: string;
  inputs: Array<{ shape: number[]; values: number[] }>;
  output: { shape: number[]; values: number[] };
  gradOutput: number[];
  grads: number[][];
}

interface IntCase {
  name: string;
  input: { shape: number[]; values: number[] };
  output: number[];
}

// PyTorch's values (tests/fixtures/make_fixtures.py, cumulative_fixtures).
const fixtures = JSON.parse(readFileSync(new URL('../fixtures/cumsum.json', import.meta.url), 'utf8')) as { float: FloatCase[]; int: IntCase[] };

const floatCalls = cumsumScanSuite.calls;

const intCalls: Record<string, (x: Tensor) => Tensor> = {
  'cumsum int32 dim1': (x) => nc.cumsum(x, 1),
  'cumprod int32 dim1': (x) => nc.cumprod(x, 1),
};

it('every cumsum fixture has a neocog call', () => {
  expect(fixtures.float.length).toBeGreaterThanOrEqual(10);
  expect(fixtures.float.map((c) => c.name).filter((n) => !(n in floatCalls))).toEqual([]);
  expect(fixtures.int.map((c) => c.name).filter((n) => !(n in intCalls))).toEqual([]);
});

describeDevices('cumsum and cumprod vs PyTorch', (device) => {
  // CUDA accumulates float32 in float32 (as PyTorch's CUDA scan), so the float64 case
  // differs there by design.
  const floatCases = fixtures.float.filter((c) => device === 'cpu' || !cumsumScanSuite.notOnCuda?.includes(c.name));
  for (const c of floatCases) {
    it(`${c.name} [${c.inputs[0]!.shape}]`, () => {
      const x = tensor(Float32Array.from(c.inputs[0]!.values), { device }).reshape(c.inputs[0]!.shape).requiresGrad_();
      const out = floatCalls[c.name]!(x);
      expect(out.shape).toEqual(c.output.shape);
      expect(out.dtype).toBe('float32');
      expectClose(out.cpu().dataSync(), c.output.values, 1e-5);
      out.backward(tensor(Float32Array.from(c.gradOutput), { device }).reshape(c.output.shape));
      expectClose(x.grad!.cpu().dataSync(), c.grads[0]!, 1e-4);
    });
  }

  for (const c of fixtures.int) {
    it(`${c.name} [${c.input.shape}] stays int32`, () => {
      const x = tensor(Int32Array.from(c.input.values), { device }).reshape(c.input.shape);
      const out = intCalls[c.name]!(x);
      expect(out.dtype).toBe('int32');
      expect(Array.from(out.cpu().dataSync())).toEqual(c.output);
    });
  }

  it('cumsum of 8,192 floats is an O(n) scan: values of a float64 running sum', () => {
    nc.manualSeed(5);
    const x = nc.randn([2, 8192], { device });
    const values = x.cpu().dataSync();
    const expected = new Float32Array(values.length);
    for (let row = 0; row < 2; ++row) {
      let acc = 0;
      for (let i = 0; i < 8192; ++i) expected[row * 8192 + i] = acc += values[row * 8192 + i]!;
    }
    const before = nc.memory(device).bytes;
    const out = nc.cumsum(x, 1);
    expectClose(out.cpu().dataSync(), expected, device === 'cpu' ? 1e-6 : 1e-3);
    // The triangle-matrix version held 8192 x 8192 floats (268 MB) at once.
    expect(nc.memory(device).peakBytes - before).toBeLessThan(4 << 20);
  });
});

// The cumsum case of resample.json (make_fixtures.py, resample_fixtures).
describeDevices('cumsum vs PyTorch (resample fixture)', (device) => fixtureTests(device, cumulativeSuite.cases, cumulativeSuite.calls));

it('cumsum and cumprod gradients match finite differences', () => {
  nc.manualSeed(41);
  gradcheck((x) => nc.cumsum(x, 1), [nc.randn([3, 5, 2])]);
  gradcheck((x) => nc.cumsum(x.transpose(0, 1), 0), [nc.randn([4, 3])]);
  // Away from zero (the product's kinks are where inputs vanish).
  const away = (shape: number[]) => {
    const r = nc.randn(shape);
    return nc.where(r.ge(0), r.add(0.5), r.sub(0.5)) as Tensor<'float32'>;
  };
  gradcheck((x) => nc.cumprod(x, 1), [away([3, 5])]);
  gradcheck((x) => nc.cumprod(x, 0), [away([4, 2, 3])]);
});

it('cumprod gradient at zeros: each line as PyTorch, zeros before, at and after the first', () => {
  // [2, 0, 3, 4]: y = [2, 0, 0, 0]; with g = 1: dx0 = 1, dx1 = 2 * (1 + 3 + 12) = 32, dx2 = dx3 = 0.
  const x = tensor([[2, 0, 3, 4], [0, 0, 5, 6]], { dtype: 'float32', requiresGrad: true });
  nc.cumprod(x, 1).sum().backward();
  expect(x.grad!.tolist()).toEqual([
    [1, 32, 0, 0],
    [1, 0, 0, 0],
  ]);
});

it('cumsum and cumprod reject bad arguments, naming themselves', () => {
  expect(() => nc.cumsum(tensor([1, 2], { dtype: 'uint8' }), 0)).toThrow(DTypeError);
  expect(() => nc.cumsum(tensor([1, 2], { dtype: 'uint8' }), 0)).toThrow(/^cumsum: /);
  expect(() => nc.cumprod(tensor([true, false]), 0)).toThrow(/^cumprod: /);
  expect(() => nc.cumsum(nc.zeros([2, 3]), 2)).toThrow(ShapeError);
  expect(() => nc.cumprod(nc.zeros([2, 3]), -3)).toThrow(/^cumprod: expected dim in \[-2, 1\]/);
});
