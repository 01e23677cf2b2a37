import { describe, expect, it } from 'vitest';

import * as nc from '../../lib/index.js';
import { DeviceError, DTypeError, ShapeError, tensor, zeros, type Device, type Tensor } from '../../lib/index.js';
import { describeDevices, expectClose, testDevices } from '../helpers/devices.js';
import { fixtureTests, readFixture } from '../helpers/fixture_cases.js';
import { statisticsSuite } from '../helpers/fixture_suites.js';
import { gradcheck } from '../helpers/gradcheck.js';

// Written by make_clamp_meshgrid_fixtures.py from torch.clamp with tensor bounds.
interface ClampCase {
  name: string;
  inputs: Array<{ shape: number[]; values: Array<number | 'NaN'> } | null>;
  output: { shape: number[]; values: Array<number | 'NaN'> };
  gradOutput: number[];
  grads: Array<number[] | null>;
}
/** Fixture values with JSON's stand-in 'NaN' read back. */
const numbers = (values: ReadonlyArray<number | 'NaN'>) => Float32Array.from(values, Number);
const fixture = readFixture<{ clamp: ClampCase[]; mixed: ClampCase; ints: number[] }>('clamp_meshgrid.json');

/** The case's [x, min, max] as leaves that require grad (null where torch got no bound). */
const leavesOf = (c: ClampCase, device: Device) =>
  c.inputs.map((v) => (v ? tensor(numbers(v.values), { device }).reshape(v.shape).requiresGrad_() : null));

describeDevices('clamp, var and std vs PyTorch', (device) => {
  fixtureTests(device, statisticsSuite.cases, statisticsSuite.calls);

  it('argmax, argmin', () => {
    const m = tensor([[1, 5, 2, 5], [7, 0, 7, -1]], { device });
    expect(nc.argmax(m, 1).tolist()).toEqual([1, 0]);
    expect(nc.argmin(m, 1, { keepdim: true }).tolist()).toEqual([[0], [3]]);
    expect(nc.argmax(m).item()).toBe(4);
  });

  for (const c of fixture.clamp) {
    it(`clamp with tensor bounds: ${c.name} (values; gradients of the input and each bound)`, () => {
      const [x, lo, hi] = leavesOf(c, device) as [Tensor, Tensor | null, Tensor | null];
      const out = nc.clamp(x, lo, hi);
      expect(out.shape).toEqual(c.output.shape);
      expectClose(out.cpu().dataSync(), numbers(c.output.values), 1e-6);
      out.backward(tensor(Float32Array.from(c.gradOutput), { device }).reshape(c.output.shape));
      [x, lo, hi].forEach((t, i) => {
        if (t) expectClose(t.grad!.cpu().dataSync(), c.grads[i]!, 1e-6);
      });
    });
  }

  it('clamp with a number min and a tensor max (torch: a 0-d tensor min)', () => {
    const c = fixture.mixed;
    const [x, , hi] = leavesOf(c, device) as [Tensor, Tensor, Tensor];
    const out = nc.clamp(x, Number(c.inputs[1]!.values[0]), hi);
    expectClose(out.cpu().dataSync(), numbers(c.output.values), 1e-6);
    out.backward(tensor(Float32Array.from(c.gradOutput), { device }).reshape(c.output.shape));
    expectClose(x.grad!.cpu().dataSync(), c.grads[0]!, 1e-6);
    expectClose(hi.grad!.cpu().dataSync(), c.grads[2]!, 1e-6);
  });

  it('clamp of int32 with int32 tensor bounds; the Tensor method takes tensors too', () => {
    const x = nc.arange(-3, 4, 1, { dtype: 'int32', device });
    const [lo, hi] = [tensor([-1], { dtype: 'int32', device }), tensor([2], { dtype: 'int32', device })];
    expect(nc.clamp(x, lo, hi).tolist()).toEqual(fixture.ints);
    expect(x.clamp(lo, null).tolist()).toEqual([-1, -1, -1, 0, 1, 2, 3]);
  });

  it('clamp of an empty input with tensor bounds is empty, in the broadcast shape', () => {
    const none = zeros([0, 3], { device });
    expect(nc.clamp(none, zeros([3], { device }), nc.ones([3], { device })).shape).toEqual([0, 3]);
    expect(nc.clamp(zeros([3], { device }), zeros([0, 1], { device })).shape).toEqual([0, 3]);
  });
});

it('clamp with tensor bounds: gradients match finite differences', () => {
  // Values at least 0.1 apart from each other and from the bounds, so that a step of 0.01
  // crosses no kink; some min > max.
  const x = tensor([[-1.3, 0.2, 1.7, 0.55], [2.4, -0.45, 0.9, -2.2], [0.35, 1.25, -0.8, 3.1]], { dtype: 'float32' });
  const lo = tensor([-0.5, 0.0, 1.1, 1.5], { dtype: 'float32' });
  const hi = tensor([[1.0], [0.75], [-0.2]], { dtype: 'float32' });
  gradcheck((a, b, c) => nc.clamp(a, b, c), [x, lo, hi]);
  gradcheck((a, b) => nc.clamp(a, b, 1.2), [x, lo]);
  gradcheck((a, c) => nc.clamp(a, null, c), [x, hi]);
});

it('clamp with tensor bounds leaves no temporaries behind', () => {
  const [x, lo, hi] = [nc.randn([3, 4]), nc.randn([4]).sub(1), nc.randn([3, 1]).add(1)];
  const before = nc.memory('cpu').tensors;
  nc.noGrad(() => nc.clamp(x, lo, hi)).dispose();
  expect(nc.memory('cpu').tensors).toBe(before);
});

it('clamp rejects bad arguments', () => {
  expect(() => nc.clamp(zeros([1, 2, 4, 4]))).toThrow(/at least one of min and max/);
  expect(() => nc.clamp(zeros([2, 3]), zeros([4]))).toThrow(ShapeError);
  expect(() => nc.clamp(zeros([2, 3]), zeros([4]))).toThrow(/clamp: shapes \[2, 3\] and \[4\] do not broadcast/);
  expect(() => nc.clamp(zeros([2, 3]), zeros([2, 1]), zeros([4]))).toThrow(/clamp: shapes \[2, 3\] and \[4\]/);
  expect(() => nc.clamp(zeros([1]), zeros([3]), zeros([4]))).toThrow(/clamp: shapes \[3\] and \[4\]/);
  expect(() => nc.clamp(zeros([2, 3]), zeros([3], { dtype: 'int32' }))).toThrow(DTypeError);
  expect(() => nc.clamp(zeros([2, 3]), null, zeros([3], { dtype: 'int32' }))).toThrow(/clamp: expected max to have dtype float32 like input, got int32/);
  expect(() => nc.clamp(zeros([2, 3]), [0, 1] as never)).toThrow(/clamp: expected min to be a Tensor/);
});

describe.runIf(testDevices.length > 1)('clamp across devices', () => {
  it('refuses bounds on another device', () => {
    expect(() => nc.clamp(zeros([2, 3]), zeros([3], { device: 'cuda:0' }))).toThrow(DeviceError);
  });
});
