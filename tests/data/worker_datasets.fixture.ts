// Dataset factories that DataLoader workers import (see prefetch.test.ts).
import { FormatError, rand, tensor } from '../../lib/index.js';
import type { Dataset, WorkerDatasetParts } from '../../lib/data/index.js';
import type { Tensor } from '../../lib/index.js';

type Item = [Tensor, number];

/** Item i: the image [i, 2i] (plus uniform noise when `noise`), label i. */
export function numbers(args: { n: number; noise?: boolean; delayMs?: number }): WorkerDatasetParts<Item> {
  const dataset: Dataset<Item> = {
    length: args.n,
    async get(i) {
      if (args.delayMs) await new Promise((resolve) => setTimeout(resolve, args.delayMs));
      const image = tensor([i, 2 * i], { dtype: 'float32' });
      return [args.noise ? image.add(rand([2])) : image, i];
    },
  };
  return { dataset };
}

/** Like `numbers`, but reading item `failAt` throws a FormatError. */
export function failing(args: { n: number; failAt: number }): WorkerDatasetParts<Item> {
  const { dataset } = numbers({ n: args.n });
  return {
    dataset: {
      length: args.n,
      get: (i) => {
        if (i === args.failAt) throw new FormatError(`item ${i} is corrupt`);
        return dataset.get(i);
      },
    },
  };
}

/** A factory that fails before any batch is built. */
export function broken(): WorkerDatasetParts {
  throw new RangeError('cannot open the dataset');
}

/** Batches as a record, with a custom collate: { x: float [B, 2], label: int32 [B], mask: bool [B] }. */
export function records(args: { n: number }): WorkerDatasetParts<Item, Record<string, unknown>> {
  const { dataset } = numbers(args);
  return {
    dataset,
    collate: async (items) => ({
      x: tensor(await Promise.all(items.map(async ([image]) => Array.from(await image.data()))), { dtype: 'float32' }),
      label: tensor(Int32Array.from(items, ([, label]) => label)),
      mask: tensor(items.map(([, label]) => label % 2 === 0)),
      count: items.length,
    }),
  };
}
