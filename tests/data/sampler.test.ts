import { expect, it } from 'vitest';

import { ArgumentError, data, IndexError, tensor } from '../../lib/index.js';

it('WeightedRandomSampler draws indices in proportion to their weights, anew each epoch', () => {
  const sampler = new data.WeightedRandomSampler([1, 0, 3, 6], 20000, { seed: 4 });
  const first = [...sampler];
  const counts = [0, 0, 0, 0];
  for (const i of first) counts[i]! += 1;
  expect(first).toHaveLength(20000);
  expect(counts[1]).toBe(0); // weight 0 is never drawn
  [0.1, 0, 0.3, 0.6].forEach((p, i) => expect(Math.abs(counts[i]! / 20000 - p)).toBeLessThan(0.015));
  expect([...sampler]).not.toEqual(first); // the next epoch draws again
  const again = new data.WeightedRandomSampler([1, 0, 3, 6], 20000, { seed: 4 });
  expect([...again]).toEqual(first); // the same seed, the same draws
});

it('WeightedRandomSampler without replacement gives distinct indices, never of weight 0', () => {
  const sampler = new data.WeightedRandomSampler([5, 0, 1, 1, 1], 4, { replacement: false, seed: 1 });
  for (let e = 0; e < 20; ++e) {
    const drawn = [...sampler];
    expect(new Set(drawn).size).toBe(4);
    expect(drawn).not.toContain(1);
  }
  // The heavy index comes first most of the time.
  const heavyFirst = Array.from({ length: 200 }, () => [...sampler][0] === 0).filter(Boolean).length;
  expect(heavyFirst).toBeGreaterThan(100);
});

it('WeightedRandomSampler rejects bad weights and counts', () => {
  expect(() => new data.WeightedRandomSampler([1, -1], 2)).toThrow('WeightedRandomSampler: expected weights[1] to be a finite number >= 0, got -1');
  expect(() => new data.WeightedRandomSampler([1, Number.NaN], 2)).toThrow(ArgumentError);
  expect(() => new data.WeightedRandomSampler([0, 0], 2)).toThrow(/at least one weight > 0/);
  expect(() => new data.WeightedRandomSampler([1, 1], 0)).toThrow(/numSamples/);
  expect(() => new data.WeightedRandomSampler([1, 1], 2.5)).toThrow(/numSamples/);
  expect(() => new data.WeightedRandomSampler([1, 0, 1], 3, { replacement: false })).toThrow('WeightedRandomSampler: cannot draw 3 samples without replacement from 2 indices of weight > 0');
  expect(() => new data.WeightedRandomSampler(null as never, 1)).toThrow(ArgumentError);
});

it('DataLoader takes a sampler: its indices, its length, exclusive with shuffle', async () => {
  const dataset = new data.TensorDataset([tensor([0, 10, 20, 30, 40])]);
  const loader = new data.DataLoader(dataset, { batchSize: 2, sampler: [4, 4, 1] });
  expect(loader.length).toBe(2);
  const seen: number[][] = [];
  for await (const [x] of loader) seen.push(x.tolist() as number[]);
  expect(seen).toEqual([[40, 40], [10]]);

  const weighted = new data.DataLoader(dataset, { batchSize: 4, sampler: new data.WeightedRandomSampler([0, 0, 1, 0, 0], 8) });
  expect(weighted.length).toBe(2);
  for await (const [x] of weighted) expect(x.tolist()).toEqual([20, 20, 20, 20]);

  expect(() => new data.DataLoader(dataset, { sampler: [0], shuffle: true })).toThrow('DataLoader: sampler is mutually exclusive with shuffle (the sampler decides the order)');
  expect(() => new data.DataLoader(dataset, { sampler: 3 as never })).toThrow(/expected sampler to be an iterable of indices/);
  expect(() => new data.DataLoader([[tensor([1])]], { sampler: [0] })).toThrow(/iterable dataset takes no sampler/);
  const outOfRange = new data.DataLoader(dataset, { sampler: [0, 5] });
  await expect(outOfRange[Symbol.asyncIterator]().next()).rejects.toThrow(IndexError);
});
