// lib/data/worker_pool.ts: worker threads started on a dataset spec — replies matched to
// requests, errors revived naming the worker and batch, a pool broken by a failed start,
// and close(). (DataLoader loading through the pool: prefetch.test.ts.)
import { afterAll, expect, it } from 'vitest';

import { WorkerPool } from '../../lib/data/worker_pool.js';
import { decodeBatch, type EncodedTensor } from '../../lib/data/worker_protocol.js';
import { ArgumentError, FormatError, type Tensor } from '../../lib/index.js';

const fixtureModule = new URL('./worker_datasets.fixture.ts', import.meta.url).href;
const pools: WorkerPool[] = [];
afterAll(() => Promise.all(pools.map((pool) => pool.close())));

/** The error `reply` rejects with (fails if it resolves). */
async function rejection(reply: Promise<unknown>): Promise<Error> {
  try {
    await reply;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the reply to reject');
}

function pool(exportName: string, args: unknown, count: number): WorkerPool {
  const made = new WorkerPool({ module: fixtureModule, exportName, args }, count);
  pools.push(made);
  return made;
}

it('a relative module is refused before any thread starts', () => {
  expect(() => new WorkerPool({ module: './worker_datasets.fixture.ts', exportName: 'numbers' }, 2)).toThrow(ArgumentError);
  expect(() => new WorkerPool({ module: './worker_datasets.fixture.ts', exportName: 'numbers' }, 2)).toThrow(/^DataLoader: expected module to be a URL/);
});

it('replies are matched to their requests; a failed item is revived naming the worker and batch; close() stops the workers', async () => {
  // One thread keeps this quick (each starts a TypeScript loader); request() names the worker.
  const workers = pool('failing', { n: 10, failAt: 7 }, 1);
  expect([workers.size, workers.broken]).toEqual([1, false]);
  const a = workers.request(0, { batch: 0, indices: [0, 1], seed: 1 });
  const b = workers.request(0, { batch: 1, indices: [4], seed: 2 });
  const bad = workers.request(0, { batch: 5, indices: [6, 7], seed: 3 });
  expect(new Set([a.id, b.id, bad.id]).size).toBe(3);
  const [images, labels] = decodeBatch(await a.reply) as [Tensor, Tensor];
  expect([images.tolist(), labels.tolist()]).toEqual([[[0, 0], [1, 2]], [0, 1]]);
  expect(((await b.reply) as EncodedTensor[])[1]!.shape).toEqual([1]);
  await expect(bad.reply).rejects.toThrow(FormatError);
  await expect(bad.reply).rejects.toThrow('item 7 is corrupt');
  const error = await rejection(bad.reply);
  expect(error.stack).toContain('(thrown in DataLoader worker 0 while building batch 5)');
  expect(workers.broken).toBe(false); // an item's error breaks nothing
  await workers.close();
});

it('a dataset that fails to build breaks the pool: every request rejects with its error', async () => {
  const workers = pool('broken', undefined, 1);
  const first = workers.request(0, { batch: 0, indices: [0], seed: 0 });
  await expect(first.reply).rejects.toThrow(RangeError);
  await expect(first.reply).rejects.toThrow('cannot open the dataset');
  const error = await rejection(first.reply);
  expect(error.stack).toContain('(thrown in DataLoader worker 0 while building its dataset)');
  expect(workers.broken).toBe(true);
  await expect(workers.request(0, { batch: 1, indices: [0], seed: 0 }).reply).rejects.toThrow('cannot open the dataset');
});
