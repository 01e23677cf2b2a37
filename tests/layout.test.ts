// Tests mirror lib (issue 12): every op file lib/ops/<name>.ts has its tests in
// tests/ops/<name>.test.ts, so one basename finds an op's front, kernels, test and bench.
import { existsSync, readdirSync } from 'node:fs';

import { expect, it } from 'vitest';

const root = new URL('../', import.meta.url);

/** Op files with no logic of their own to test. */
const withoutTests = new Set([
  'index.ts', // the table of ops: re-exports only
]);

it('every lib/ops/<name>.ts has tests/ops/<name>.test.ts', () => {
  const opFiles = readdirSync(new URL('lib/ops/', root)).filter((f) => f.endsWith('.ts') && !withoutTests.has(f));
  expect(opFiles.length).toBeGreaterThan(20);
  const missing = opFiles.filter((f) => !existsSync(new URL(`tests/ops/${f.replace(/\.ts$/, '.test.ts')}`, root)));
  expect(missing).toEqual([]);
});

it('every tests/ops/<name>.test.ts tests an op file lib/ops/<name>.ts', () => {
  const strays = readdirSync(new URL('tests/ops/', root))
    .filter((f) => f.endsWith('.test.ts'))
    .filter((f) => !existsSync(new URL(`lib/ops/${f.replace(/\.test\.ts$/, '.ts')}`, root)));
  expect(strays).toEqual([]);
});
