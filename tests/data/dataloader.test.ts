// lib/data/dataloader.ts: DataLoader batching, shuffling and epochs in-process, over
// map-style and iterable datasets (loading on workers: prefetch.test.ts).
import { expect, it } from 'vitest';

import { ArgumentError, data, tensor } from '../../lib/index.js';
import { seededRandom } from '../../lib/data/dataloader.js';

it('the data loader batches, drops the last partial batch on request and is deterministic with a seed', async () => {
  const x = tensor(Array.from({ length: 10 }, (_, i) => i));
  const dataset = new data.TensorDataset([x]);
  const orderOf = async (loader: data.DataLoader) => {
    const seen: number[] = [];
    for await (const [batch] of loader) {
      seen.push(...(batch!.tolist() as number[]));
      batch!.dispose();
    }
    return seen;
  };
  const plain = new data.DataLoader(dataset, { batchSize: 4 });
  expect(plain.length).toBe(3);
  expect(await orderOf(plain)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  expect(new data.DataLoader(dataset, { batchSize: 4, dropLast: true }).length).toBe(2);

  const a = new data.DataLoader(dataset, { batchSize: 3, shuffle: true, seed: 5 });
  const b = new data.DataLoader(dataset, { batchSize: 3, shuffle: true, seed: 5 });
  const first = await orderOf(a);
  expect(first).toEqual(await orderOf(b));
  expect([...first].sort((p, q) => p - q)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  expect(first).not.toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  expect(await orderOf(a)).not.toEqual(first); // a new order each epoch
});

it('iterable datasets (generators, async iterables) batch in their own order, again each epoch', async () => {
  const stream = {
    async *[Symbol.asyncIterator]() {
      for (let i = 0; i < 7; ++i) yield [tensor([i]), i % 2] as [ReturnType<typeof tensor>, number];
    },
  };
  const loader = new data.DataLoader(stream, { batchSize: 3 });
  expect(Number.isNaN(loader.length)).toBe(true);
  for (let epoch = 0; epoch < 2; ++epoch) {
    const seen: number[][] = [];
    for await (const [x, y] of loader) {
      seen.push(x!.flatten().tolist() as number[]);
      expect(y!.dtype).toBe('int32');
      x!.dispose();
      y!.dispose();
    }
    expect(seen).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
  }
  const sums: number[] = [];
  for await (const batch of new data.DataLoader([1, 2, 3, 4, 5], { batchSize: 2, dropLast: true, collate: (items) => items.reduce((a, b) => a + b, 0) })) sums.push(batch);
  expect(sums).toEqual([3, 7]);
  expect(() => new data.DataLoader(stream, { shuffle: true })).toThrow(/cannot be shuffled/);
  expect(() => new data.DataLoader(stream, { numWorkers: 2 })).toThrow(/map-style/);
  expect(() => new data.DataLoader(42 as never)).toThrow(/expected a dataset/);
});

it('TensorDataset gives row i of each tensor and refuses tensors of different lengths', () => {
  const dataset = new data.TensorDataset([tensor([[1, 2], [3, 4], [5, 6]]), tensor([7, 8, 9])]);
  expect(dataset.length).toBe(3);
  expect(dataset.get(1).map((t) => t.tolist())).toEqual([[3, 4], 8]);
  expect(() => new data.TensorDataset([])).toThrow(ArgumentError);
  expect(() => new data.TensorDataset([])).toThrow('TensorDataset: expected at least one tensor');
  expect(() => new data.TensorDataset([tensor([1, 2]), tensor([1, 2, 3])])).toThrow('TensorDataset: all tensors need the same first dim');
});

it('the loader refuses settings it cannot honour, naming the option', () => {
  const dataset = new data.TensorDataset([tensor([1, 2, 3])]);
  expect(() => new data.DataLoader(dataset, { batchSize: 0 })).toThrow('DataLoader: expected batchSize to be an integer >= 1, got 0');
  expect(() => new data.DataLoader(dataset, { numWorkers: 1.5 })).toThrow(/expected numWorkers to be an integer >= 0, got 1\.5/);
  expect(() => new data.DataLoader(dataset, { prefetchFactor: 0 })).toThrow(/expected prefetchFactor to be an integer >= 1/);
  expect(() => new data.DataLoader(dataset, { sampler: 3 as never })).toThrow(/expected sampler to be an iterable of indices with a length/);
  expect(() => new data.DataLoader(dataset, { sampler: [0, 1], shuffle: true })).toThrow(/mutually exclusive with shuffle/);
  expect(() => new data.DataLoader([1, 2], { sampler: [0] })).toThrow(/an iterable dataset takes no sampler/);
  // A TensorDataset holds tensors, which cannot be rebuilt in a worker.
  expect(() => new data.DataLoader(dataset, { numWorkers: 1 })).toThrow(ArgumentError);
  expect(() => new data.DataLoader(dataset, { numWorkers: 1 })).toThrow(/needs a dataset with workerSpec\(\)/);
});

it('seededRandom is a reproducible stream in [0, 1) per seed', () => {
  const draw = (seed: number) => {
    const next = seededRandom(seed);
    return Array.from({ length: 1000 }, () => next());
  };
  const a = draw(7);
  expect(draw(7)).toEqual(a);
  expect(draw(8)).not.toEqual(a);
  expect(Math.min(...a)).toBeGreaterThanOrEqual(0);
  expect(Math.max(...a)).toBeLessThan(1);
  expect(Math.abs(a.reduce((s, v) => s + v, 0) / a.length - 0.5)).toBeLessThan(0.05);
});
