// Forward values and input gradients against PyTorch (tests/fixtures/ops.json, written by
// make_fixtures.py), on every device.
import { readFileSync } from 'node:fs';

import { expect, it } from 'vitest';

import * as nc from '../../lib/index.js';
import type { Tensor } from '../../lib/index.js';
import { describeDevices, expectClose } from '../helpers/devices.js';

interface OpCase {
  name: string;
  inputs: Array<{ shape: number[]; values: number[] }>;
  output: { shape: number[]; values: number[] };
  weights: number[];
  grads: number[][];
}

const cases = JSON.parse(readFileSync(new URL('../fixtures/ops.json', import.meta.url), 'utf8')) as OpCase[];

/** The neocog call matching each fixture (same arguments as in make_fixtures.py). */
const calls: Record<string, (...xs: Tensor[]) => Tensor> = {
  neg: nc.neg, abs: nc.abs, exp: nc.exp, sqrt: nc.sqrt, log: nc.log, relu: nc.relu, sigmoid: nc.sigmoid,
  tanh: nc.tanh, gelu: nc.gelu, silu: nc.silu, hardswish: nc.hardswish, square: nc.square,
  reciprocal: nc.reciprocal,
  leakyRelu: (x) => nc.leakyRelu(x, 0.1),
  elu: (x) => nc.elu(x, 0.5),
  add: nc.add, sub: nc.sub, mul: nc.mul, div: nc.div, maximum: nc.maximum, minimum: nc.minimum, pow: nc.pow,
  sum: (x) => nc.sum(x, [0, 2], { keepdim: true }),
  mean: (x) => nc.mean(x, 1),
  amax: (x) => nc.amax(x, 2),
  amin: (x) => nc.amin(x, 0),
  matmul: nc.matmul,
};

it('every fixture has a neocog call', () => {
  expect(cases.map((c) => c.name).filter((n) => !(n in calls))).toEqual([]);
});

describeDevices('ops vs PyTorch', (device) => {
  for (const c of cases) {
    it(`${c.name} ${c.inputs.map((x) => `[${x.shape}]`).join(' ')}`, () => {
      const inputs = c.inputs.map((x) =>
        nc.tensor(Float32Array.from(x.values), { device }).reshape(x.shape).requiresGrad_(),
      );
      const out = calls[c.name]!(...inputs);
      expect(out.shape).toEqual(c.output.shape);
      expectClose(out.cpu().dataSync(), c.output.values, 1e-5);
      const weights = nc.tensor(Float32Array.from(c.weights), { device }).reshape(c.output.shape);
      out.mul(weights).sum().backward();
      inputs.forEach((x, i) => expectClose(x.grad!.cpu().dataSync(), c.grads[i]!, 1e-5));
    });
  }
});
