import { readFileSync } from 'node:fs';

import { expect, it } from 'vitest';

import { tensor, type DType } from '../../lib/index.js';

interface ReprCase {
  name: string;
  shape: number[];
  dtype: DType;
  values: Array<number | boolean | string>;
  repr: string;
}

// Written by tests/fixtures/make_fixtures.py from torch's own repr().
const cases = JSON.parse(readFileSync(new URL('../fixtures/repr.json', import.meta.url), 'utf8')) as ReprCase[];

for (const c of cases) {
  it(`toString matches torch: ${c.name}`, () => {
    const special: Record<string, number> = { nan: Number.NaN, inf: Infinity, '-inf': -Infinity };
    const values = c.values.map((v) => (typeof v === 'string' ? special[v]! : Number(v)));
    const typed =
      c.dtype === 'float32' ? Float32Array.from(values) : c.dtype === 'int32' ? Int32Array.from(values) : Uint8Array.from(values);
    const t = tensor(typed, { dtype: c.dtype }).reshape(c.shape);
    expect(t.toString()).toBe(c.repr);
  });
}

it('console.log shows the same text', async () => {
  const { inspect } = await import('node:util');
  expect(inspect(tensor([1, 2]))).toBe('tensor([1, 2])');
});
