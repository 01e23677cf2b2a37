// Tests mirror lib (issue 12): every op file lib/ops/<name>.ts has its tests in
// tests/ops/<name>.test.ts, so one basename finds an op's front, kernels, test and bench;
// likewise the losses, optimizers and layers (lib/<dir>/<name>.ts, tests/<dir>/<name>.test.ts).
import { existsSync, readdirSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

const root = new URL('../', import.meta.url);

/** Files with no logic of their own to test. */
const withoutTests = new Set([
  'index.ts', // the table of a folder's exports: re-exports only
  'reduction.ts', // lib/losses: the reduction every loss applies, tested through each loss
]);

/** Test files that test a lib file under another name. */
const testsOfAnotherName = new Set([
  'module_types.test.ts', // lib/nn/module.ts's types: assignments tsc must accept or refuse
]);

describe.each(['ops', 'losses', 'optim', 'nn', 'nn/layers'])('lib/%s', (dir) => {
  it(`every lib/${dir}/<name>.ts has tests/${dir}/<name>.test.ts`, () => {
    const files = readdirSync(new URL(`lib/${dir}/`, root)).filter((f) => f.endsWith('.ts') && !withoutTests.has(f));
    expect(files.length).toBeGreaterThan(1);
    const missing = files.filter((f) => !existsSync(new URL(`tests/${dir}/${f.replace(/\.ts$/, '.test.ts')}`, root)));
    expect(missing).toEqual([]);
  });

  it(`every tests/${dir}/<name>.test.ts tests a file lib/${dir}/<name>.ts`, () => {
    const strays = readdirSync(new URL(`tests/${dir}/`, root))
      .filter((f) => f.endsWith('.test.ts') && !testsOfAnotherName.has(f))
      .filter((f) => !existsSync(new URL(`lib/${dir}/${f.replace(/\.test\.ts$/, '.ts')}`, root)));
    expect(strays).toEqual([]);
  });
});
