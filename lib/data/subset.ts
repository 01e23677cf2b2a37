/**
 * Subset and randomSplit, as torch.utils.data: a dataset seen through a list of indices,
 * and a seeded random partition of a dataset into such subsets.
 * @module
 */
import { ArgumentError, IndexError } from '../errors.js';
import { describe } from '../tensor/shape.js';
import { seededRandom, type Dataset } from './dataloader.js';
import type { ModuleRef } from './module_ref.js';
import { buildWorkerParts, isWorkerDataset, type WorkerDatasetParts } from './worker_dataset.js';

/**
 * The items of `dataset` at `indices`, in that order, as torch's `Subset`: item `i` is
 * `dataset.get(indices[i])`. Works with DataLoader workers when `dataset` does (each
 * worker rebuilds the source and picks the same indices).
 */
export class Subset<T> implements Dataset<T> {
  readonly length: number;
  readonly indices: readonly number[];
  /** Present when the source is a WorkerDataset (so `numWorkers > 0` is refused up front otherwise). */
  declare readonly workerSpec?: () => Promise<ModuleRef>;

  constructor(
    readonly dataset: Dataset<T>,
    indices: readonly number[],
  ) {
    if (typeof dataset?.get !== 'function' || typeof dataset.length !== 'number') {
      throw new ArgumentError(`Subset: expected dataset to be a map-style dataset (get and length), got ${describe(dataset)}`);
    }
    if (!Array.isArray(indices)) throw new ArgumentError(`Subset: expected indices to be an array of integers, got ${describe(indices)}`);
    indices.forEach((index, i) => {
      if (!Number.isInteger(index) || index < 0 || index >= dataset.length) {
        throw new IndexError(`Subset: expected indices[${i}] to be an integer in [0, ${dataset.length}), got ${describe(index)}`);
      }
    });
    this.indices = Object.freeze([...indices]);
    this.length = this.indices.length;
    if (isWorkerDataset(dataset)) {
      const source = dataset;
      this.workerSpec = async () => ({
        module: import.meta.url,
        exportName: 'subsetWorkerDataset',
        args: { source: await source.workerSpec(), indices: this.indices } satisfies SubsetWorkerArgs,
      });
    }
  }

  /** Item `indices[index]` of the source; IndexError outside the subset. */
  get(index: number): T | Promise<T> {
    const source = this.indices[index];
    if (source === undefined) throw new IndexError(`Subset: index ${index} is out of range for a subset of ${this.length} items`);
    return this.dataset.get(source);
  }
}

interface SubsetWorkerArgs {
  source: ModuleRef;
  indices: readonly number[];
}

/** Worker factory of {@link Subset}: the source's parts, seen through the same indices. */
export async function subsetWorkerDataset(args: SubsetWorkerArgs): Promise<WorkerDatasetParts> {
  const parts = await buildWorkerParts(args.source, 'Subset worker');
  return { ...parts, dataset: new Subset(parts.dataset, args.indices) };
}

/** Options of {@link randomSplit}. */
export interface RandomSplitOptions {
  /** Seed of the permutation (default 0): the same seed gives the same split. */
  seed?: number;
}

/**
 * Splits a dataset into non-overlapping random subsets, as `torch.utils.data.random_split`.
 * `lengths` are item counts summing to the dataset's length, or fractions summing to 1
 * (each split gets `floor(fraction * length)` items, and the remainder is dealt one by one
 * to the splits from the first, as PyTorch does). The permutation is drawn from `seed`.
 * A literal list of lengths gives a tuple of subsets, so `const [train, val] = ...` needs
 * no checks under `noUncheckedIndexedAccess`.
 *
 * @example const [train, val] = randomSplit(dataset, [0.8, 0.2], { seed: 42 });
 */
export function randomSplit<T, const L extends readonly number[]>(dataset: Dataset<T>, lengths: L, opts: RandomSplitOptions = {}): { -readonly [K in keyof L]: Subset<T> } {
  if (typeof dataset?.get !== 'function' || typeof dataset.length !== 'number') {
    throw new ArgumentError(`randomSplit: expected dataset to be a map-style dataset (get and length), got ${describe(dataset)}`);
  }
  if (!Array.isArray(lengths) || lengths.length === 0 || lengths.some((v) => typeof v !== 'number' || !Number.isFinite(v) || v < 0)) {
    throw new ArgumentError(`randomSplit: expected lengths to be a non-empty array of non-negative numbers, got ${describe(lengths)}`);
  }
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(seed)) throw new ArgumentError(`randomSplit: expected seed to be an integer, got ${describe(seed)}`);
  const counts = splitCounts(dataset.length, lengths);
  const order = Array.from({ length: dataset.length }, (_, i) => i);
  const random = seededRandom(seed);
  for (let i = order.length - 1; i > 0; --i) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  let start = 0;
  return counts.map((count) => new Subset(dataset, order.slice(start, (start += count)))) as { -readonly [K in keyof L]: Subset<T> };
}

/** Item counts from counts or fractions, checked against the dataset's length. */
function splitCounts(total: number, lengths: readonly number[]): number[] {
  const sum = lengths.reduce((a, b) => a + b, 0);
  // PyTorch's rule: lengths summing to 1 (and not more than the dataset holds) are fractions.
  const fractions = lengths.every((v) => v <= 1) && Math.abs(sum - 1) < 1e-9 && sum <= total;
  if (fractions) {
    const counts = lengths.map((f) => Math.floor(total * f));
    let remainder = total - counts.reduce((a, b) => a + b, 0);
    for (let i = 0; remainder > 0; i = (i + 1) % counts.length, --remainder) counts[i]! += 1;
    return counts;
  }
  if (!lengths.every(Number.isInteger)) {
    throw new ArgumentError(`randomSplit: expected lengths to be integer counts or fractions summing to 1, got [${lengths.join(', ')}] (sum ${sum})`);
  }
  if (sum !== total) {
    throw new ArgumentError(`randomSplit: expected lengths to sum to the dataset's length ${total}, got [${lengths.join(', ')}] (sum ${sum})`);
  }
  return [...lengths];
}
