import { readFileSync } from 'node:fs';

import { expect, expectTypeOf, it } from 'vitest';

import { ArgumentError, data, IndexError, randn, type Tensor } from '../../lib/index.js';

interface SplitCase {
  n: number;
  lengths: number[];
  sizes?: number[];
  error?: string;
}
const cases = JSON.parse(readFileSync(new URL('../fixtures/split.json', import.meta.url), 'utf8')) as SplitCase[];

/** A dataset of `[image, label]` pairs, as CIFAR10, ImageFolder and MNIST hold. */
function pairs(n: number): data.Dataset<[Tensor<'float32'>, number]> {
  return { length: n, get: (i) => [randn([4]), i % 3] };
}

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

it('randomSplit of literal lengths gives a tuple of subsets', () => {
  const [train, val] = data.randomSplit(pairs(10), [0.8, 0.2], { seed: 0 });
  expectTypeOf(train).toEqualTypeOf<data.Subset<[Tensor<'float32'>, number]>>();
  expectTypeOf(val).toEqualTypeOf<data.Subset<[Tensor<'float32'>, number]>>();
  expect([train.length, val.length]).toEqual([8, 2]);
  const lengths: number[] = [5, 5];
  expectTypeOf(data.randomSplit(pairs(10), lengths)).toEqualTypeOf<Array<data.Subset<[Tensor<'float32'>, number]>>>();
});
