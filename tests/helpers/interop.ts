// Tests against torchvision exports that a fixture script generates into
// tests/fixtures/interop/ (ignored by git: too large to commit). Where the export is missing
// the test is skipped with a notice that says how to make it; in CI (CI set and not '0',
// as .ci/run does, after generating them) a missing export is a failure instead.
import { existsSync } from 'node:fs';

import { expect, it } from 'vitest';

import type { Tensor } from '../../lib/index.js';

/** True where the CI environment variable is set (and not '' or '0'). */
export const inCi = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== '0';

/** Options of {@link interopTest}. */
export interface InteropTestOptions {
  /** Whether CI generates this export, so that there its absence fails (default true). */
  requiredInCi?: boolean;
  /** The test's timeout in ms (default 180 s). */
  timeout?: number;
}

/**
 * Declares `title` as a test of tests/fixtures/interop/`file`, made by `command` (named in
 * the skip notice and the CI failure): `body` gets the file's path.
 */
export function interopTest(file: string, command: string, title: string, body: (path: string) => Promise<void> | void, opts: InteropTestOptions = {}): void {
  const path = new URL(`../fixtures/interop/${file}`, import.meta.url).pathname;
  if (!existsSync(path) && !(inCi && (opts.requiredInCi ?? true))) {
    it.skip(`${title} [skipped: run ${command} to create ${path}]`, () => {});
    return;
  }
  it(title, { timeout: opts.timeout ?? 180_000 }, async () => {
    expect(existsSync(path), `${path} is missing: CI must run ${command}`).toBe(true);
    await body(path);
  });
}

/** An export of tests/fixtures/make_detection_interop.py, split into its parts. */
export interface ModuleExport {
  /** The module's state dict. */
  state: Map<string, Tensor>;
  /** The inputs by name, in the metadata's order. */
  inputs: Map<string, Tensor>;
  /** torchvision's outputs by name, in the metadata's order. */
  outputs: Map<string, Tensor>;
  /** The names of the parameters torchvision left trainable. */
  trainable: string[];
}

/** Splits a loaded export into state dict, inputs (`__input__.`) and outputs (`__output__.`). */
export function splitExport(tensors: Map<string, Tensor>, metadata: Record<string, string>): ModuleExport {
  const take = (prefix: string, names: string) =>
    new Map(names.split(',').map((name) => {
      const t = tensors.get(`${prefix}${name}`);
      if (!t) throw new Error(`the export lacks ${prefix}${name}`);
      return [name, t] as const;
    }));
  const inputs = take('__input__.', metadata.inputs ?? '');
  const outputs = take('__output__.', metadata.outputs ?? '');
  const state = new Map([...tensors].filter(([name]) => !name.startsWith('__')));
  return { state, inputs, outputs, trainable: (metadata.trainable ?? '').split(',').filter(Boolean) };
}

/** max |actual - expected| relative to the expected values' scale (max |expected|, at least 1). */
export function scaledMaxDiff(actual: Tensor, expected: Tensor): number {
  expect(actual.shape).toEqual(expected.shape);
  const a = actual.dataSync();
  const e = expected.dataSync();
  let diff = 0;
  let scale = 1;
  for (let i = 0; i < e.length; ++i) {
    diff = Math.max(diff, Math.abs(Number(a[i]) - Number(e[i])));
    scale = Math.max(scale, Math.abs(Number(e[i])));
  }
  return diff / scale;
}
