// PyTorch fixture cases of the form make_fixtures.py writes for functional ops: inputs,
// the output, and optionally a gradient of the output with the inputs' gradients.
import { readFileSync } from 'node:fs';

import { expect, it } from 'vitest';

import { tensor, type Device, type Tensor } from '../../lib/index.js';
import { expectClose } from './devices.js';

/** One fixture case: `calls[name](...inputs)` must give `output` (and `grads` for `gradOutput`). */
export interface FnCase {
  name: string;
  inputs: Array<{ shape: number[]; values: number[] }>;
  output: { shape: number[]; values: number[] };
  gradOutput?: number[];
  grads?: number[][];
}

/** Parses a JSON fixture of tests/fixtures/. */
export function readFixture<T>(file: string): T {
  return JSON.parse(readFileSync(new URL(`../fixtures/${file}`, import.meta.url), 'utf8')) as T;
}

/**
 * Declares one test per case on `device`: the output's shape and values and, where the case
 * has `gradOutput` (and `skipGradient` does not exclude it), every input's gradient.
 */
export function fixtureTests(
  device: Device,
  cases: readonly FnCase[],
  calls: Record<string, (...xs: Tensor[]) => Tensor>,
  opts: { tolerance?: number; skipGradient?: (c: FnCase) => boolean } = {},
): void {
  const tolerance = opts.tolerance ?? 1e-4;
  for (const c of cases) {
    it(`${c.name} ${c.inputs.map((x) => `[${x.shape}]`).join(' ')}`, () => {
      const xs = c.inputs.map((x) => tensor(Float32Array.from(x.values), { device }).reshape(x.shape).requiresGrad_());
      const out = calls[c.name]!(...xs);
      expect(out.shape).toEqual(c.output.shape);
      expectClose(out.cpu().dataSync(), c.output.values, tolerance);
      if (!c.gradOutput || opts.skipGradient?.(c)) return;
      out.backward(tensor(Float32Array.from(c.gradOutput), { device }).reshape(c.output.shape));
      xs.forEach((x, i) => expectClose(x.grad!.cpu().dataSync(), c.grads![i]!, tolerance));
    });
  }
}
