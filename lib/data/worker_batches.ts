/**
 * One epoch of batches built by worker threads, handed out in order.
 * @internal
 * @module
 */
import { WorkerPool } from './worker_pool.js';
import type { WorkerDataset } from './worker_dataset.js';
import { batchSeed, decodeBatch, type Encoded } from './worker_protocol.js';

/** How an epoch is split over workers. */
export interface WorkerEpoch {
  /** The sample indices of each batch, in the order batches are handed out. */
  batches: readonly number[][];
  numWorkers: number;
  /** Batches requested ahead of the one being consumed, per worker. */
  prefetchFactor: number;
  seed: number;
  epoch: number;
}

/**
 * Yields the batches of one epoch. Batch `b` goes to worker `b % numWorkers` (as in
 * PyTorch), at most `numWorkers * prefetchFactor` batches are requested ahead, and batches
 * come out in order whatever order they finish in. The workers start with the epoch and
 * are stopped when it ends, also when the consumer breaks out early or a batch failed.
 */
export async function* workerBatches(dataset: WorkerDataset, epoch: WorkerEpoch): AsyncGenerator<unknown, void, undefined> {
  const { batches } = epoch;
  if (batches.length === 0) return;
  const spec = await dataset.workerSpec();
  const workers = Math.min(epoch.numWorkers, batches.length);
  const ahead = workers * epoch.prefetchFactor;
  const pool = new WorkerPool(spec, workers);
  const inFlight = new Map<number, Promise<Encoded>>();
  let requested = 0;
  try {
    for (let b = 0; b < batches.length; ++b) {
      for (; requested < batches.length && requested < b + ahead; ++requested) {
        const seed = batchSeed(epoch.seed, epoch.epoch, requested);
        const reply = pool.request(requested % workers, { type: 'batch', batch: requested, indices: batches[requested]!, seed });
        // A failed batch is reported when its turn comes, not as an unhandled rejection now.
        reply.catch(() => undefined);
        inFlight.set(requested, reply);
      }
      const encoded = await inFlight.get(b)!;
      inFlight.delete(b);
      yield decodeBatch(encoded);
    }
  } finally {
    await pool.close();
  }
}
