/**
 * Dataset and DataLoader, as torch.utils.data: map-style datasets, seeded shuffling,
 * batching with a collate function, an async iterator over batches, and optional
 * prefetching on worker threads.
 * @module
 */
import { ArgumentError } from '../errors.js';
import { fromTypedArray } from '../tensor/creation.js';
import { scope } from '../tensor/memory.js';
import { cudaUnavailableReason } from '../cuda.js';
import { Tensor } from '../tensor/tensor.js';
import { stackCollate, type TensorItem } from './collate.js';
import { workerBatches } from './worker_batches.js';
import { isWorkerDataset, type WorkerDataset } from './worker_dataset.js';
import { WorkerPool } from './worker_pool.js';

export { stackCollate, type CollatableItem, type TensorItem } from './collate.js';

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

/** A dataset over the first dim of equal-length tensors, as torch's TensorDataset. */
export class TensorDataset implements Dataset<TensorItem> {
  readonly length: number;
  constructor(readonly tensors: readonly Tensor[]) {
    if (tensors.length === 0) throw new ArgumentError('TensorDataset: expected at least one tensor');
    this.length = tensors[0]!.shape[0] ?? 0;
    for (const t of tensors) {
      if (t.shape[0] !== this.length) throw new ArgumentError('TensorDataset: all tensors need the same first dim');
    }
  }
  get(index: number): TensorItem {
    return this.tensors.map((t) => t.slice(0, index, index + 1).squeeze(0));
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
export interface DataLoaderOptions<T, B> {
  /** Items per batch (default 1). */
  batchSize?: number;
  /** Draw a new random order each epoch (default false). */
  shuffle?: boolean;
  /** Drop the last batch when it is smaller than batchSize (default false). */
  dropLast?: boolean;
  /** Seed of the shuffling; each epoch draws a new order from it. */
  seed?: number;
  /**
   * Turns items into a batch; the default is {@link stackCollate}. In-process only: with
   * `numWorkers > 0` the collate is the one the dataset's worker factory returns.
   */
  collate?: (items: T[]) => B;
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
 * worker. `ImageFolder`, `CIFAR10` and `CIFAR100` are; their `transform` must then be a
 * `{ module, exportName, args }` reference rather than a function. Each epoch starts
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
export class DataLoader<T = TensorItem, B = Tensor[]> implements AsyncIterable<B>, AsyncDisposable {
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
      if (this.numWorkers > 0) throw new ArgumentError('DataLoader: numWorkers > 0 needs a map-style WorkerDataset, not an iterable');
    }
    if (this.numWorkers > 0) {
      if (!isWorkerDataset(dataset)) {
        throw new ArgumentError('DataLoader: numWorkers > 0 needs a dataset with workerSpec() (a WorkerDataset, e.g. ImageFolder or CIFAR10); use numWorkers: 0 for this one');
      }
      if (options.collate) {
        throw new ArgumentError("DataLoader: a collate function cannot run in worker threads; with numWorkers > 0 the collate comes from the dataset's worker factory");
      }
    }
  }

  /** Number of batches per epoch (NaN for an iterable dataset, whose size is unknown). */
  get length(): number {
    if (!isMapStyle(this.dataset)) return Number.NaN;
    const n = this.dataset.length / this.batchSize;
    return this.options.dropLast ? Math.floor(n) : Math.ceil(n);
  }

  /** The sample order of the next epoch. */
  #order(dataset: Dataset<T>): { order: number[]; epoch: number } {
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
    const batches = Array.from({ length: this.length }, (_, b) => order.slice(b * this.batchSize, (b + 1) * this.batchSize));
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
    const pool = persistent ? await this.#persistentPool(dataset) : new WorkerPool(await dataset.workerSpec(), Math.min(this.numWorkers, batches.length));
    try {
      yield* workerBatches(pool, { batches, prefetchFactor: this.prefetchFactor, seed: this.options.seed ?? 0, epoch });
    } finally {
      if (!persistent) await pool.close();
    }
  }

  /** The kept workers, started on first use and restarted if one of them died. */
  async #persistentPool(dataset: WorkerDataset): Promise<WorkerPool> {
    const kept = this.#pool && (await this.#pool.catch(() => undefined));
    if (kept && !kept.broken) return kept;
    if (kept) void kept.close();
    const starting = (async () => new WorkerPool(await dataset.workerSpec(), this.numWorkers))();
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

/**
 * A dataset of uint8 images `[N, H, W]` or `[N, C, H, W]` and integer labels held in
 * memory, batched without per-item tensors: images become float32 in [0, 1] (minus
 * `mean`, divided by `std`), labels int32.
 */
export class ImageArrayDataset implements Dataset<[Uint8Array, number]> {
  readonly length: number;
  readonly itemShape: number[];
  constructor(readonly images: { shape: number[]; data: Uint8Array }, readonly labels: Uint8Array | Int32Array) {
    this.length = images.shape[0] ?? 0;
    this.itemShape = images.shape.length === 3 ? [1, ...images.shape.slice(1)] : images.shape.slice(1);
    if (labels.length !== this.length) throw new ArgumentError(`ImageArrayDataset: ${this.length} images but ${labels.length} labels`);
  }
  get(index: number): [Uint8Array, number] {
    const size = this.itemShape.reduce((a, b) => a * b, 1);
    return [this.images.data.subarray(index * size, (index + 1) * size), this.labels[index]!];
  }
  /** A collate turning items into `[images, labels]` normalised with `mean` and `std`. */
  collate(mean = 0, std = 1): (items: Array<[Uint8Array, number]>) => Tensor[] {
    return (items) => {
      const size = this.itemShape.reduce((a, b) => a * b, 1);
      const pixels = new Float32Array(items.length * size);
      items.forEach(([image], i) => {
        for (let k = 0; k < size; ++k) pixels[i * size + k] = (image[k]! / 255 - mean) / std;
      });
      return [fromTypedArray(pixels, [items.length, ...this.itemShape]), fromTypedArray(Int32Array.from(items, ([, label]) => label))];
    };
  }
}
