// The conformance suite runs on every device present (DESIGN §8): always 'cpu', and each
// CUDA device when one is usable. When CUDA is absent, a skipped suite says why.
import { readFileSync } from 'node:fs';

import { describe } from 'vitest';

import { cuda, type Device } from '../../lib/index.js';

export const testDevices: Device[] = ['cpu', ...(cuda.isAvailable() ? (['cuda:0'] as const) : [])];

/** Declares `body` once per device; without CUDA a visibly skipped 'cuda' suite says why. */
export function describeDevices(name: string, body: (device: Device) => void): void {
  for (const device of testDevices) describe(`${name} [${device}]`, () => body(device));
  if (!cuda.isAvailable()) describe.skip(`${name} [cuda: skipped, ${cuda.unavailableReason()}]`, () => body('cuda:0'));
}

/** Float comparison with a tolerance per element. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 1e-5): void {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != expected ${expected.length}`);
  for (let i = 0; i < actual.length; ++i) {
    const a = actual[i]!, e = expected[i]!;
    const ok = Number.isNaN(e) ? Number.isNaN(a) : Math.abs(a - e) <= tolerance * Math.max(1, Math.abs(e));
    if (!ok) throw new Error(`element ${i}: got ${a}, expected ${e} (tolerance ${tolerance})`);
  }
}

/**
 * Whether oneDNN has bfloat16 convolution/matmul kernels on this CPU: it needs AVX-512
 * (avx512_core) at least. Elsewhere bfloat16 compute tests are skipped, saying so.
 */
export const cpuHasBFloat16Kernels: boolean = (() => {
  try {
    return /\bavx512bw\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return false;
  }
})();
