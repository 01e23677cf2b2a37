/**
 * DistributedSampler, as torch.utils.data.DistributedSampler: each rank of a data-parallel
 * job visits its own share of the dataset, the shares together covering it once per epoch.
 * @module
 */
import { jobEnv } from '../distributed/env.js';
import { ArgumentError } from '../errors.js';
import { describe } from '../tensor/shape.js';
import { seededRandom } from './dataloader.js';
import type { Sampler } from './sampler.js';

/** Options of {@link DistributedSampler}. */
export interface DistributedSamplerOptions {
  /** Ranks sharing the dataset (default: the job's world size, from {@link jobEnv}). */
  numReplicas?: number;
  /** This process's rank, in `[0, numReplicas)` (default: the job's rank, from {@link jobEnv}). */
  rank?: number;
  /** Visit the indices in a random order, the same on every rank (default true). */
  shuffle?: boolean;
  /** Seed of the order (default 0); every rank must use the same one. */
  seed?: number;
  /**
   * Drop the tail that does not divide evenly among the ranks (default false); without,
   * indices from the start are repeated to fill the last round, as PyTorch does.
   */
  dropLast?: boolean;
}

/**
 * Gives rank `r` the indices `r, r + numReplicas, r + 2 numReplicas, ...` of an epoch's
 * order, with PyTorch's arithmetic: the order (a permutation seeded by `seed + epoch` when
 * shuffling, else `0 .. n-1`) is padded by repeating its start up to a multiple of
 * `numReplicas`, or cut down to one with `dropLast`. So every rank gets
 * {@link DistributedSampler.length} indices and takes the same number of steps.
 *
 * The order depends only on `seed + epoch`, so all ranks agree on it, and it stays the
 * same until {@link DistributedSampler.setEpoch} is called: call it at the start of each
 * epoch, as in PyTorch, or every epoch visits the same order. The permutation comes from
 * neocog's seeded generator, not torch's Mersenne Twister: the shares are computed as
 * PyTorch computes them, but a shuffled order differs from torch's.
 *
 * @example
 * const sampler = new DistributedSampler(dataset, { seed: 0 }); // rank and size from the job
 * const loader = new DataLoader(dataset, { batchSize: 64, sampler });
 * for (let epoch = 0; epoch < epochs; ++epoch) {
 *   sampler.setEpoch(epoch);
 *   for await (const [x, y] of loader) { ... }
 * }
 */
export class DistributedSampler implements Sampler {
  /** Ranks sharing the dataset. */
  readonly numReplicas: number;
  /** This rank. */
  readonly rank: number;
  /** Whether each epoch's order is shuffled. */
  readonly shuffle: boolean;
  /** Seed of the order. */
  readonly seed: number;
  /** Whether the tail that does not divide evenly is dropped. */
  readonly dropLast: boolean;
  /** Indices this rank visits per epoch. */
  readonly length: number;
  /** Indices of all ranks together per epoch: `length * numReplicas`. */
  readonly totalSize: number;
  readonly #datasetLength: number;
  #epoch = 0;

  constructor(dataset: { readonly length: number }, opts: DistributedSamplerOptions = {}) {
    const op = 'DistributedSampler';
    const datasetLength = (dataset as { length?: unknown } | null)?.length;
    if (typeof datasetLength !== 'number' || !Number.isSafeInteger(datasetLength) || datasetLength < 0) {
      throw new ArgumentError(`${op}: expected dataset to have a length (a non-negative integer), got ${describe(dataset)}`);
    }
    let { numReplicas, rank } = opts;
    if (numReplicas === undefined || rank === undefined) {
      const job = jobEnv();
      if (job === null) {
        const missing = [numReplicas === undefined ? 'numReplicas' : '', rank === undefined ? 'rank' : ''].filter(Boolean).join(' and ');
        throw new ArgumentError(`${op}: this process is not part of a distributed job (no RANK or OMPI_COMM_WORLD_RANK in its environment): pass ${missing}, or start it with neocog-run`);
      }
      numReplicas ??= job.worldSize;
      rank ??= job.rank;
    }
    if (!Number.isSafeInteger(numReplicas) || numReplicas < 1) {
      throw new ArgumentError(`${op}: expected numReplicas to be a positive integer, got ${describe(numReplicas)}`);
    }
    if (!Number.isSafeInteger(rank) || rank < 0 || rank >= numReplicas) {
      throw new ArgumentError(`${op}: expected rank to be an integer in [0, ${numReplicas - 1}], got ${describe(rank)}`);
    }
    const shuffle = opts.shuffle ?? true;
    if (typeof shuffle !== 'boolean') throw new ArgumentError(`${op}: expected shuffle to be a boolean, got ${describe(shuffle)}`);
    const dropLast = opts.dropLast ?? false;
    if (typeof dropLast !== 'boolean') throw new ArgumentError(`${op}: expected dropLast to be a boolean, got ${describe(dropLast)}`);
    const seed = opts.seed ?? 0;
    if (!Number.isSafeInteger(seed) || seed < 0) throw new ArgumentError(`${op}: expected seed to be a non-negative integer, got ${describe(seed)}`);

    this.numReplicas = numReplicas;
    this.rank = rank;
    this.shuffle = shuffle;
    this.seed = seed;
    this.dropLast = dropLast;
    this.#datasetLength = datasetLength;
    // torch: with drop_last and a remainder, ceil((n - R) / R), which is floor(n / R) (and
    // floor also gives 0, not -0, when n < R); else ceil(n / R).
    this.length = dropLast ? Math.floor(datasetLength / numReplicas) : Math.ceil(datasetLength / numReplicas);
    this.totalSize = this.length * numReplicas;
  }

  /** The epoch whose order the next iteration visits. */
  get epoch(): number {
    return this.#epoch;
  }

  /** Sets the epoch, so that the next iteration visits that epoch's order (call it on every rank). */
  setEpoch(epoch: number): void {
    if (!Number.isSafeInteger(epoch) || epoch < 0) {
      throw new ArgumentError(`DistributedSampler.setEpoch: expected epoch to be a non-negative integer, got ${describe(epoch)}`);
    }
    this.#epoch = epoch;
  }

  /** This rank's indices of the current epoch. */
  *[Symbol.iterator](): Iterator<number> {
    const n = this.#datasetLength;
    const order = Array.from({ length: n }, (_, i) => i);
    if (this.shuffle) {
      const random = seededRandom(this.seed + this.#epoch);
      for (let i = n - 1; i > 0; --i) {
        const j = Math.floor(random() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
    }
    // Padding repeats the order from its start, as often as it takes (more than once when
    // the dataset is smaller than the ranks); dropLast only ever shortens it.
    for (let i = 0; order.length < this.totalSize; ++i) order.push(order[i % n]!);
    for (let i = this.rank; i < this.totalSize; i += this.numReplicas) yield order[i]!;
  }
}
