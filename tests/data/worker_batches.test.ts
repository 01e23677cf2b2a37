// lib/data/worker_batches.ts: one epoch of worker batches, against a pool whose replies the
// test controls — round-robin requests, the prefetch bound, in-order hand-out, seeds, and
// cancelling what an early stop leaves outstanding.
import { expect, it } from 'vitest';

import { workerBatches, type WorkerEpoch } from '../../lib/data/worker_batches.js';
import type { WorkerPool } from '../../lib/data/worker_pool.js';
import { batchSeed, type BatchRequest, type Encoded } from '../../lib/data/worker_protocol.js';
import { FormatError } from '../../lib/index.js';

interface Sent {
  id: number;
  worker: number;
  request: Omit<BatchRequest, 'type' | 'id'>;
  resolve: (value: Encoded) => void;
  reject: (error: Error) => void;
}

/** A pool of `size` workers that records requests and answers only when the test says. */
function fakePool(size: number) {
  const sent: Sent[] = [];
  const cancelled: number[] = [];
  const pool = {
    size,
    request(worker: number, request: Omit<BatchRequest, 'type' | 'id'>) {
      const id = sent.length + 100;
      const reply = new Promise<Encoded>((resolve, reject) => sent.push({ id, worker, request, resolve, reject }));
      return { id, reply };
    },
    cancel(ids: readonly number[]) {
      cancelled.push(...ids);
    },
  };
  return { pool: pool as unknown as WorkerPool, sent, cancelled };
}

const epochOf = (batches: number[][], prefetchFactor = 2): WorkerEpoch => ({ batches, prefetchFactor, seed: 9, epoch: 3 });
const settle = () => new Promise((resolve) => setImmediate(resolve));

it('requests round-robin, at most workers x prefetchFactor in flight, and hands batches out in order', async () => {
  const { pool, sent } = fakePool(2);
  const batches = [[0], [1], [2], [3], [4], [5], [6]];
  const iterator = workerBatches(pool, epochOf(batches));
  const first = iterator.next();
  await settle();
  expect(sent.map((s) => s.request.batch)).toEqual([0, 1, 2, 3]); // 2 workers x 2 in flight
  expect(sent.map((s) => s.worker)).toEqual([0, 1, 0, 1]);
  expect(sent.map((s) => s.request.indices)).toEqual([[0], [1], [2], [3]]);
  expect(sent.map((s) => s.request.seed)).toEqual([0, 1, 2, 3].map((b) => batchSeed(9, 3, b)));
  // Batch 1 finishes before batch 0: still 0 comes first.
  sent[1]!.resolve('one');
  await settle();
  sent[0]!.resolve('zero');
  expect(await first).toEqual({ value: 'zero', done: false });
  expect(await iterator.next()).toEqual({ value: 'one', done: false });
  // Batch 4 was asked for when batch 1's turn came (1 + 4 in flight); 5 waits for batch 2's.
  expect(sent.map((s) => s.request.batch)).toEqual([0, 1, 2, 3, 4]);
  for (const s of sent.slice(2)) s.resolve(`batch ${s.request.batch}`);
  const rest: unknown[] = [];
  const drain = (async () => {
    for await (const value of iterator) rest.push(value);
  })();
  await settle();
  sent[5]!.resolve('batch 5');
  await settle();
  sent[6]!.resolve('batch 6');
  await drain;
  expect(rest).toEqual(['batch 2', 'batch 3', 'batch 4', 'batch 5', 'batch 6']);
});

it('a failed batch surfaces at its turn; stopping early cancels the requests still out', async () => {
  const { pool, sent, cancelled } = fakePool(1);
  const iterator = workerBatches(pool, epochOf([[0], [1], [2], [3]], 3));
  const first = iterator.next();
  await settle();
  sent[1]!.reject(new FormatError('item 1 is corrupt')); // before its turn: no unhandled rejection
  sent[0]!.resolve(['ok']);
  expect(await first).toEqual({ value: ['ok'], done: false });
  await expect(iterator.next()).rejects.toThrow('item 1 is corrupt');
  expect(cancelled).toEqual([sent[2]!.id, sent[3]!.id]);
});

it('a consumer that breaks out cancels what it did not read', async () => {
  const { pool, sent, cancelled } = fakePool(2);
  const iterator = workerBatches(pool, epochOf([[0, 1], [2, 3], [4, 5]]));
  const first = iterator.next();
  await settle();
  sent[0]!.resolve(0);
  await first;
  await iterator.return();
  expect(cancelled).toEqual([sent[1]!.id, sent[2]!.id]);
});
