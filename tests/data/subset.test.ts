import { readFileSync } from 'node:fs';

import { expect, it } from 'vitest';

import { ArgumentError, data, IndexError } from '../../lib/index.js';

interface SplitCase {
  n: number;
  lengths: number[];
  sizes?: number[];
  error?: string;
}
const cases = JSON.parse(readFileSync(new URL('../fixtures/split.json', import.meta.url), 'utf8')) as SplitCase[];

/** A dataset whose item i is i * 10. */
function numbers(n: number): data.Dataset<number> {
  return { length: n, get: (i) => i * 10 };
}

it('Subset sees its source through the indices, in their order', async () => {
  const subset = new data.Subset(numbers(6), [4, 0, 4, 2]);
  expect(subset.length).toBe(4);
  expect(await Promise.all([0, 1, 2, 3].map((i) => subset.get(i)))).toEqual([40, 0, 40, 20]);
  expect(() => subset.get(4)).toThrow(IndexError);
  expect(() => new data.Subset(numbers(3), [0, 3])).toThrow('Subset: expected indices[1] to be an integer in [0, 3), got 3');
  expect(() => new data.Subset(numbers(3), [1.5])).toThrow(IndexError);
  expect(() => new data.Subset({} as data.Dataset<number>, [0])).toThrow(ArgumentError);
  expect(data.isWorkerDataset(subset)).toBe(false); // its source cannot go to workers, so neither can it
});

for (const c of cases) {
  it(`randomSplit of ${c.n} items by [${c.lengths.join(', ')}] ${c.error ? 'is refused' : `gives sizes [${c.sizes!.join(', ')}]`} as torch`, async () => {
    if (c.error) {
      expect(() => data.randomSplit(numbers(c.n), c.lengths)).toThrow(ArgumentError);
      expect(() => data.randomSplit(numbers(c.n), c.lengths)).toThrow(/expected lengths to sum to the dataset's length|fractions summing to 1/);
      return;
    }
    const splits = data.randomSplit(numbers(c.n), c.lengths, { seed: 3 });
    expect(splits.map((s) => s.length)).toEqual(c.sizes);
    // A partition: every index exactly once.
    const all = splits.flatMap((s) => [...s.indices]).sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: c.n }, (_, i) => i));
  });
}

it('randomSplit is reproducible with a seed and shuffles', () => {
  const a = data.randomSplit(numbers(50), [0.8, 0.2], { seed: 1 }).map((s) => [...s.indices]);
  const b = data.randomSplit(numbers(50), [0.8, 0.2], { seed: 1 }).map((s) => [...s.indices]);
  const c = data.randomSplit(numbers(50), [0.8, 0.2], { seed: 2 }).map((s) => [...s.indices]);
  expect(a).toEqual(b);
  expect(a).not.toEqual(c);
  expect(a[0]).not.toEqual(Array.from({ length: 40 }, (_, i) => i));
});

it('randomSplit rejects bad lengths', () => {
  expect(() => data.randomSplit(numbers(10), [3, 6])).toThrow("randomSplit: expected lengths to sum to the dataset's length 10, got [3, 6] (sum 9)");
  expect(() => data.randomSplit(numbers(10), [-1, 11])).toThrow(/non-negative numbers/);
  expect(() => data.randomSplit(numbers(10), [])).toThrow(ArgumentError);
  expect(() => data.randomSplit(numbers(10), [2.5, 7.5])).toThrow(/integer counts or fractions/);
  expect(() => data.randomSplit(numbers(10), [5, 5], { seed: 0.5 })).toThrow(/seed/);
});

it('ConcatDataset chains datasets, negative indices from the end', async () => {
  const joined = new data.ConcatDataset([numbers(2), numbers(3)]);
  expect(joined.length).toBe(5);
  expect(joined.cumulativeSizes).toEqual([2, 5]);
  expect(await Promise.all([0, 1, 2, 3, 4, -1, -5].map((i) => joined.get(i)))).toEqual([0, 10, 0, 10, 20, 20, 0]);
  expect(() => joined.get(5)).toThrow('ConcatDataset: index 5 is out of range for 5 items');
  expect(() => joined.get(-6)).toThrow(IndexError);
  expect(() => new data.ConcatDataset([])).toThrow(ArgumentError);
  expect(() => new data.ConcatDataset([numbers(2), {} as data.Dataset<number>])).toThrow(/datasets\[1\]/);
});
