/**
 * One epoch of batches built by worker threads, handed out in order.
 * @internal
 * @module
 */
import type { WorkerPool } from './worker_pool.js';
import { batchSeed, decodeBatch, type Encoded } from './worker_protocol.js';

/** How an epoch is split over the workers. */
export interface WorkerEpoch {
  /** The sample indices of each batch, in the order batches are handed out. */
  batches: readonly number[][];
  /** Batches requested ahead of the one being consumed, per worker. */
  prefetchFactor: number;
  seed: number;
  epoch: number;
}

/**
 * Yields the batches of one epoch. Batch `b` goes to worker `b % workers` (as in
 * PyTorch), at most `workers * prefetchFactor` batches are requested ahead, and batches
 * come out in order whatever order they finish in. When the consumer stops early, the
 * requests still outstanding are cancelled; the pool itself is the caller's to close.
 */
export async function* workerBatches(pool: WorkerPool, epoch: WorkerEpoch): AsyncGenerator<unknown, void, undefined> {
  const { batches } = epoch;
  const ahead = pool.size * epoch.prefetchFactor;
  const inFlight = new Map<number, { id: number; reply: Promise<Encoded> }>();
  let requested = 0;
  try {
    for (let b = 0; b < batches.length; ++b) {
      for (; requested < batches.length && requested < b + ahead; ++requested) {
        const seed = batchSeed(epoch.seed, epoch.epoch, requested);
        const request = pool.request(requested % pool.size, { batch: requested, indices: batches[requested]!, seed });
        // A failed batch is reported when its turn comes, not as an unhandled rejection now.
        request.reply.catch(() => undefined);
        inFlight.set(requested, request);
      }
      const { reply } = inFlight.get(b)!;
      inFlight.delete(b);
      yield decodeBatch(await reply);
    }
  } finally {
    pool.cancel([...inFlight.values()].map(({ id }) => id));
  }
}
