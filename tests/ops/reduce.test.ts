import { readFileSync } from 'node:fs';

import { expect, it } from 'vitest';

import { DTypeError, mean, sum, tensor, type Tensor } from '../../lib/index.js';
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
