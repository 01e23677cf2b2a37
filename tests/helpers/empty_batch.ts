// Empty batches (N = 0, or 0 RoIs) against what PyTorch does with them
// (tests/fixtures/make_empty_batch_fixtures.py): the output's shape, and after backward of
// out.sum() every input's gradient shape, all zeros (weight gradients of nothing).
import { expect, it } from 'vitest';

import { randn, type Device, type Tensor } from '../../lib/index.js';
import { describeDevices } from './devices.js';
import { readFixture } from './fixture_cases.js';

/** PyTorch's result for one empty-batch case: shapes, or the error it raised. */
export interface EmptyBatchCase {
  output?: number[];
  grads?: number[][];
  gradsZero?: boolean;
  error?: string;
  runningMeanAfter?: number[];
  runningVarAfter?: number[];
}

/** Every case of the fixture, by name (the names are the calls of the op's test file). */
export const emptyBatchCases = readFixture<Record<string, EmptyBatchCase>>('empty_batch.json');

/**
 * Declares a test, on the CPU and on CUDA where a GPU is usable, that `call` on random
 * inputs of PyTorch's input shapes (the gradient shapes of the case) gives PyTorch's output
 * shape, and gradients of the inputs' shapes, all zeros.
 */
export function emptyBatchTest(name: string, call: (...xs: Tensor[]) => Tensor): void {
  describeDevices(`${name} on an empty batch`, (device) => emptyBatchCase(name, device, call));
}

function emptyBatchCase(name: string, device: Device, call: (...xs: Tensor[]) => Tensor): void {
  it('shapes and zero gradients as PyTorch', () => {
    const c = emptyBatchCases[name];
    expect(c?.output, `empty_batch.json has no output for ${name}`).toBeDefined();
    const xs = c!.grads!.map((shape) => randn(shape, { device }).requiresGrad_());
    const out = call(...xs);
    expect(out.shape).toEqual(c!.output);
    out.sum().backward();
    expect(xs.map((x) => x.grad?.shape)).toEqual(c!.grads);
    expect(c!.gradsZero).toBe(true);
    for (const x of xs) expect(Array.from(x.grad!.dataSync()).every((v) => v === 0)).toBe(true);
  });
}
