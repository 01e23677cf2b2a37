/**
 * Dataset and DataLoader, as torch.utils.data: map-style datasets, seeded shuffling,
 * batching with a collate function, an async iterator over batches, and optional
 * prefetching on worker threads.
 * @module
 */
import { StepPacer } from '../event_loop.js';
import { ArgumentError, IndexError } from '../errors.js';
import { scope } from '../tensor/memory.js';
import { cudaUnavailableReason } from '../cuda.js';
import { Tensor } from '../tensor/tensor.js';
import { stackCollate, type Collated, type TensorItem } from './collate.js';
import type { Sampler } from './sampler.js';
import { workerBatches } from './worker_batches.js';
import { isWorkerCollate, isWorkerDataset, withWorkerCollate, type WorkerCollate, type WorkerDataset } from './worker_dataset.js';
import type { ModuleRef } from './module_ref.js';
import { WorkerPool } from './worker_pool.js';

export { stackCollate, type CollatableItem, type Collated, type TensorItem } from './collate.js';

/** A map-style dataset: a length and an item getter (sync or async). */
export interface Dataset<T> {
  readonly length: number;
  get(index: number): T | Promise<T>;
}

/**
 * An iterable-style dataset, as torch's IterableDataset: items come in the order the
 * iterable yields them (a stream, a generator, records read from a file). Each epoch
 * iterates it anew, so it must be re-iterable (an array, or an object whose
 * `[Symbol.asyncIterator]()` starts over). No shuffling, no workers, no length.
 */
export type IterableDataset<T> = AsyncIterable<T> | Iterable<T>;

/** True for a map-style dataset (get + length); anything else iterable is iterable-style. */
function isMapStyle<T>(dataset: Dataset<T> | IterableDataset<T>): dataset is Dataset<T> {
  return typeof (dataset as Partial<Dataset<T>>).get === 'function' && typeof (dataset as Partial<Dataset<T>>).length === 'number';
}

/**
 * A dataset over the first dim of equal-length tensors, as torch's TensorDataset. Item `i`
 * holds row `i` of each tensor; given a literal list, the item type is a tuple
 * (`new TensorDataset([x, y])` has items `[Tensor, Tensor]`).
 */
export class TensorDataset<T extends Tensor[] = TensorItem> implements Dataset<T> {
  readonly length: number;
  readonly tensors: Readonly<T>;
  constructor(tensors: readonly [...T]) {
    if (tensors.length === 0) throw new ArgumentError('TensorDataset: expected at least one tensor');
    this.tensors = tensors as Readonly<T>;
    this.length = tensors[0]!.shape[0] ?? 0;
    for (const t of tensors) {
      if (t.shape[0] !== this.length) throw new ArgumentError('TensorDataset: all tensors need the same first dim');
    }
  }
  get(index: number): T {
    return this.tensors.map((t) => t.slice(0, index, index + 1).squeeze(0)) as T;
  }
}

/** mulberry32: a small, fast, seedable PRNG for shuffling (not for numerics). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Options of {@link DataLoader}. */
export interface DataLoaderOptions<T, B = Collated<T>> {
  /** Items per batch (default 1). */
  batchSize?: number;
  /** Draw a new random order each epoch (default false). */
  shuffle?: boolean;
  /** Drop the last batch when it is smaller than batchSize (default false). */
  dropLast?: boolean;
  /** Seed of the shuffling; each epoch draws a new order from it. */
  seed?: number;
  /**
   * The indices each epoch visits, in order (e.g. a {@link WeightedRandomSampler}, or an
   * array of indices), as PyTorch's `sampler`: iterated anew each epoch; the loader's
   * length follows the sampler's. Exclusive with `shuffle`, as in PyTorch.
   */
  sampler?: Sampler;
  /**
   * Turns items into a batch; the default is {@link stackCollate}, whose batch type follows
   * from the item type ({@link Collated}: `[Tensor, number]` items give `[Tensor, Tensor]`
   * batches). With `numWorkers > 0` the collate is the one the dataset's worker factory
   * returns, unless this is a {@link WorkerCollate} (a function carrying a `workerRef`).
   */
  // Method syntax on purpose: it keeps DataLoader<[Tensor, Tensor]> assignable to a plain
  // DataLoader (of Tensor[] items), which a function-typed property would forbid.
  collate?(items: T[]): B;
  /**
   * Worker threads that build batches ahead of the consumer (default 0: batches are built
   * in the calling thread when asked for). Needs a {@link WorkerDataset}; see the class docs.
   */
  numWorkers?: number;
  /** Batches each worker builds ahead (default 2), as PyTorch's `prefetch_factor`. */
  prefetchFactor?: number;
  /**
   * Keep the workers (and the dataset each one built) from one epoch to the next instead
   * of starting them anew each epoch (default false), as PyTorch's `persistent_workers`.
   * Call `close()` (or `await using`) when done; idle workers never keep the process alive.
   */
  persistentWorkers?: boolean;
  /**
   * Copy each batch's tensors into page-locked memory (default false), as PyTorch's
   * `pin_memory`, so that `to('cuda')` goes by DMA. Without a usable CUDA device the batches
   * stay as they are and one warning says why.
   */
  pinMemory?: boolean;
}

/** `batch` with every tensor in it (also inside arrays and plain objects) moved to pinned memory. */
function pinned<B>(batch: B): B {
  if (batch instanceof Tensor) {
    const copy = batch.pinMemory();
    batch.dispose();
    return copy as B;
  }
  if (Array.isArray(batch)) return batch.map((item: unknown) => pinned(item)) as B;
  if (batch !== null && typeof batch === 'object' && Object.getPrototypeOf(batch) === Object.prototype) {
    return Object.fromEntries(Object.entries(batch).map(([key, value]) => [key, pinned(value)])) as B;
  }
  return batch;
}

function positiveInteger(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new ArgumentError(`DataLoader: expected ${name} to be an integer >= ${min}, got ${value}`);
  return value;
}

/**
 * Iterates a dataset in batches: `for await (const [x, y] of loader) ...`. Each epoch
 * (each new iteration) reshuffles with the seeded generator, so runs are reproducible.
 * Batches belong to the caller: dispose them (or use `scope`).
 *
 * **Worker threads** (`numWorkers > 0`): datasets, closures and tensors cannot move
 * between threads, so the dataset must be a {@link WorkerDataset}: its `workerSpec()`
 * names a module export that builds the same dataset (and its collate) inside each
 * worker. `ImageFolder`, `CIFAR10`, `CIFAR100`, `MNIST`, `FashionMNIST`,
 * `ImageArrayDataset`, `CocoDetection` and `VOCDetection` are, and so are `Subset` and `ConcatDataset` of them; a `transform`
 * must then be a `{ module, exportName, args }` reference rather than a function, and a
 * `collate` option a {@link WorkerCollate}. Each epoch starts
 * `numWorkers` threads and stops them when it ends (also on `break` or an error), unless
 * `persistentWorkers` keeps them until `close()`. Batch `b` is built by worker
 * `b % numWorkers` and batches come out in order; the sample indices of every batch are
 * the same as with `numWorkers: 0`. Before building a batch a
 * worker seeds its generator with a hash of (`seed`, epoch, batch index), so random
 * augmentation is reproducible and independent of timing and of the number of workers
 * (in-process loading instead draws from the caller's generator, as PyTorch does). An
 * error thrown in a worker is rethrown by the iterator, as the same error class with the
 * same message, when its batch is reached. Batches arrive as CPU tensors.
 */
export class DataLoader<T = TensorItem, B = Collated<T>> implements AsyncIterable<B>, AsyncDisposable {
  readonly batchSize: number;
  readonly numWorkers: number;
  readonly prefetchFactor: number;
  #epoch = 0;
  #warnedUnpinned = false;
  /** The workers kept across epochs (persistentWorkers). */
  #pool: Promise<WorkerPool> | undefined;

  constructor(
    readonly dataset: Dataset<T> | IterableDataset<T>,
    readonly options: DataLoaderOptions<T, B> = {},
  ) {
    this.batchSize = positiveInteger('batchSize', options.batchSize ?? 1, 1);
    this.numWorkers = positiveInteger('numWorkers', options.numWorkers ?? 0, 0);
    this.prefetchFactor = positiveInteger('prefetchFactor', options.prefetchFactor ?? 2, 1);
    if (!isMapStyle(dataset)) {
      const iterable = dataset !== null && typeof dataset === 'object' && (Symbol.asyncIterator in dataset || Symbol.iterator in dataset);
      if (!iterable) throw new ArgumentError('DataLoader: expected a dataset with get(index) and length, or an (async) iterable of items');
      if (options.shuffle) throw new ArgumentError('DataLoader: an iterable dataset cannot be shuffled (its order is its own); shuffle it at the source');
      if (options.sampler !== undefined) throw new ArgumentError('DataLoader: an iterable dataset takes no sampler (its order is its own)');
      if (this.numWorkers > 0) throw new ArgumentError('DataLoader: numWorkers > 0 needs a map-style WorkerDataset, not an iterable');
    }
    if (options.sampler !== undefined) {
      const { sampler } = options;
      if (sampler === null || typeof sampler !== 'object' || typeof sampler[Symbol.iterator] !== 'function' || !Number.isInteger(sampler.length)) {
        throw new ArgumentError('DataLoader: expected sampler to be an iterable of indices with a length (e.g. a WeightedRandomSampler or an array)');
      }
      if (options.shuffle) throw new ArgumentError('DataLoader: sampler is mutually exclusive with shuffle (the sampler decides the order)');
    }
    if (this.numWorkers > 0) {
      if (!isWorkerDataset(dataset)) {
        throw new ArgumentError('DataLoader: numWorkers > 0 needs a dataset with workerSpec() (a WorkerDataset, e.g. ImageFolder or CIFAR10); use numWorkers: 0 for this one');
      }
      if (options.collate && !isWorkerCollate(options.collate)) {
        throw new ArgumentError(
          "DataLoader: a collate function cannot run in worker threads; with numWorkers > 0 the collate comes from the dataset's worker factory, or from a collate that carries a workerRef (a WorkerCollate, e.g. ImageArrayDataset's collate())",
        );
      }
    }
  }

  /** Number of batches per epoch (NaN for an iterable dataset, whose size is unknown). */
  get length(): number {
    if (!isMapStyle(this.dataset)) return Number.NaN;
    return this.#batchCount(this.options.sampler?.length ?? this.dataset.length);
  }

  #batchCount(samples: number): number {
    const n = samples / this.batchSize;
    return this.options.dropLast ? Math.floor(n) : Math.ceil(n);
  }

  /** The sample order of the next epoch: the sampler's, or all indices (shuffled on request). */
  #order(dataset: Dataset<T>): { order: number[]; epoch: number } {
    if (this.options.sampler) {
      const order = [...this.options.sampler];
      order.forEach((index, i) => {
        if (!Number.isInteger(index) || index < 0 || index >= dataset.length) {
          throw new IndexError(`DataLoader: sampler gave index ${index} (position ${i}), out of range for a dataset of length ${dataset.length}`);
        }
      });
      return { order, epoch: this.#epoch++ };
    }
    const order = Array.from({ length: dataset.length }, (_, i) => i);
    if (this.options.shuffle) {
      const random = seededRandom((this.options.seed ?? 0) * 1000003 + this.#epoch);
      for (let i = order.length - 1; i > 0; --i) {
        const j = Math.floor(random() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
    }
    return { order, epoch: this.#epoch++ };
  }

  async *[Symbol.asyncIterator](): AsyncIterator<B> {
    const pacer = new StepPacer();
    for await (const batch of this.#pinnedIfAsked()) {
      // A `for await` loop otherwise runs on microtasks only: timers, I/O and the finalizers
      // that free forgotten tensors would never get a turn, and a loop that never reads a
      // value would queue work without bound. The pacer turns the event loop once per
      // batch and keeps the caller's step at most one ahead of the device.
      await pacer.step();
      yield batch;
    }
  }

  async *#pinnedIfAsked(): AsyncGenerator<B, void, undefined> {
    if (!this.options.pinMemory) {
      yield* this.#batches();
      return;
    }
    const reason = cudaUnavailableReason();
    if (reason !== null && !this.#warnedUnpinned) {
      this.#warnedUnpinned = true;
      process.emitWarning(`DataLoader: pinMemory is set but CUDA is not available (${reason}); batches stay in pageable memory`);
    }
    for await (const batch of this.#batches()) yield reason === null ? pinned(batch) : batch;
  }

  async *#batches(): AsyncGenerator<B, void, undefined> {
    const collate = this.options.collate ?? (stackCollate as unknown as (items: T[]) => B);
    const dataset = this.dataset;
    if (!isMapStyle(dataset)) {
      yield* this.#fromIterable(dataset, collate);
      return;
    }
    const { order, epoch } = this.#order(dataset);
    const batches = Array.from({ length: this.#batchCount(order.length) }, (_, b) => order.slice(b * this.batchSize, (b + 1) * this.batchSize));
    if (this.numWorkers > 0 && isWorkerDataset(dataset)) {
      // The batch type is what the worker factory's collate makes; B is the caller's claim about it.
      yield* this.#fromWorkers(dataset, batches, epoch) as AsyncGenerator<B>;
      return;
    }
    for (const indices of batches) {
      // Tensors of the items are freed once collated; only the batch is handed out.
      yield await scope(async () => collate(await Promise.all(indices.map((i) => dataset.get(i)))));
    }
  }

  /** One epoch over an iterable dataset: consecutive items, batchSize at a time. */
  async *#fromIterable(dataset: IterableDataset<T>, collate: (items: T[]) => B): AsyncGenerator<B, void, undefined> {
    const items: T[] = [];
    // Items are collated (and their tensors freed) batch by batch, as in the map-style path.
    const emit = () => scope(() => collate(items.splice(0)));
    for await (const item of dataset) {
      items.push(item);
      if (items.length === this.batchSize) yield emit();
    }
    if (items.length > 0 && !this.options.dropLast) yield emit();
  }

  /** One epoch from worker threads: the kept ones, or new ones stopped when the epoch ends. */
  async *#fromWorkers(dataset: WorkerDataset, batches: number[][], epoch: number): AsyncGenerator<unknown, void, undefined> {
    if (batches.length === 0) return;
    const persistent = this.options.persistentWorkers ?? false;
    const pool = persistent ? await this.#persistentPool(dataset) : new WorkerPool(await this.#workerSpec(dataset), Math.min(this.numWorkers, batches.length));
    try {
      yield* workerBatches(pool, { batches, prefetchFactor: this.prefetchFactor, seed: this.options.seed ?? 0, epoch });
    } finally {
      if (!persistent) await pool.close();
    }
  }

  /** What each worker builds: the dataset's spec, with the loader's collate when it is a WorkerCollate. */
  async #workerSpec(dataset: WorkerDataset): Promise<ModuleRef> {
    const spec = await dataset.workerSpec();
    const { collate } = this.options;
    return isWorkerCollate(collate) ? withWorkerCollate(spec, collate.workerRef) : spec;
  }

  /** The kept workers, started on first use and restarted if one of them died. */
  async #persistentPool(dataset: WorkerDataset): Promise<WorkerPool> {
    const kept = this.#pool && (await this.#pool.catch(() => undefined));
    if (kept && !kept.broken) return kept;
    if (kept) void kept.close();
    const starting = (async () => new WorkerPool(await this.#workerSpec(dataset), this.numWorkers))();
    this.#pool = starting;
    starting.catch(() => {
      if (this.#pool === starting) this.#pool = undefined; // a failed start is retried next epoch
    });
    return starting;
  }

  /** Stops the workers kept by `persistentWorkers` (a no-op otherwise). The loader stays usable. */
  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    await (await pool?.catch(() => undefined))?.close();
  }

  /** `await using loader = new DataLoader(...)` closes it at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
