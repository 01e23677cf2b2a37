// lib/data/concat.ts: ConcatDataset, and the worker dataset it describes when every part
// is one.
import { expect, it } from 'vitest';

import { concatWorkerDataset } from '../../lib/data/concat.js';
import { ArgumentError, data, IndexError, type Tensor } from '../../lib/index.js';

/** A dataset whose item i is i * 10. */
function numbers(n: number): data.Dataset<number> {
  return { length: n, get: (i) => i * 10 };
}

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

it('a concatenation of worker datasets is one, rebuilt from its parts with the first part\'s collate', async () => {
  const first = new data.ImageArrayDataset({ shape: [2, 1, 1], data: Uint8Array.from([10, 20]) }, Uint8Array.from([0, 1]));
  const second = new data.ImageArrayDataset({ shape: [1, 1, 1], data: Uint8Array.from([30]) }, Uint8Array.from([2]));
  const joined = new data.ConcatDataset([first, second]);
  expect(data.isWorkerDataset(joined)).toBe(true);
  expect(data.isWorkerDataset(new data.ConcatDataset([first, numbers(2) as never]))).toBe(false);
  const spec = await joined.workerSpec!();
  expect(spec.exportName).toBe('concatWorkerDataset');
  // What a worker does with the spec, here in-process: the same items, in the same order.
  const parts = await concatWorkerDataset(structuredClone(spec.args) as Parameters<typeof concatWorkerDataset>[0]);
  expect(parts.dataset.length).toBe(3);
  const items = (await Promise.all([0, 1, 2].map((i) => parts.dataset.get(i)))) as Array<[Uint8Array, number]>;
  expect(items.map(([pixels, label]) => [Array.from(pixels), label])).toEqual([[[10], 0], [[20], 1], [[30], 2]]);
  const [images, labels] = (await parts.collate!(items)) as [Tensor, Tensor];
  expect([images.shape, labels.tolist()]).toEqual([[3, 1, 1, 1], [0, 1, 2]]);
});
