/**
 * Dataset and DataLoader, as torch.utils.data: map-style datasets, seeded shuffling,
 * batching with a collate function, and an async iterator over batches.
 * @module
 */
import { ArgumentError } from '../errors.js';
import { stack } from '../ops/shape.js';
import { fromTypedArray } from '../tensor/creation.js';
import { scope } from '../tensor/memory.js';
import type { Tensor } from '../tensor/tensor.js';

/** A map-style dataset: a length and an item getter (sync or async). */
export interface Dataset<T> {
  readonly length: number;
  get(index: number): T | Promise<T>;
}

/** Items of stacked tensors, e.g. [image, label]. */
export type TensorItem = Tensor[];

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
  batchSize?: number;
  shuffle?: boolean;
  dropLast?: boolean;
  /** Seed of the shuffling; each epoch draws a new order from it. */
  seed?: number;
  /** Turns items into a batch; the default stacks each tensor of the items. */
  collate?: (items: T[]) => B;
}

/** Default collate: stacks the i-th tensor of every item into the i-th batch tensor. */
export function stackCollate(items: TensorItem[]): Tensor[] {
  return items[0]!.map((_, i) => stack(items.map((item) => item[i]!)));
}

/**
 * Iterates a dataset in batches: `for await (const [x, y] of loader) ...`. Each epoch
 * (each new iteration) reshuffles with the seeded generator, so runs are reproducible.
 * Batches belong to the caller: dispose them (or use `scope`).
 */
export class DataLoader<T = TensorItem, B = Tensor[]> implements AsyncIterable<B> {
  readonly batchSize: number;
  #epoch = 0;

  constructor(
    readonly dataset: Dataset<T>,
    readonly options: DataLoaderOptions<T, B> = {},
  ) {
    this.batchSize = options.batchSize ?? 1;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) throw new ArgumentError(`DataLoader: expected batchSize >= 1, got ${options.batchSize}`);
  }

  /** Number of batches per epoch. */
  get length(): number {
    const n = this.dataset.length / this.batchSize;
    return this.options.dropLast ? Math.floor(n) : Math.ceil(n);
  }

  /** The sample order of the next epoch. */
  #order(): number[] {
    const order = Array.from({ length: this.dataset.length }, (_, i) => i);
    if (this.options.shuffle) {
      const random = seededRandom((this.options.seed ?? 0) * 1000003 + this.#epoch);
      for (let i = order.length - 1; i > 0; --i) {
        const j = Math.floor(random() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
    }
    this.#epoch++;
    return order;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<B> {
    const order = this.#order();
    const collate = this.options.collate ?? (stackCollate as unknown as (items: T[]) => B);
    for (let b = 0; b < this.length; ++b) {
      const indices = order.slice(b * this.batchSize, (b + 1) * this.batchSize);
      // Tensors of the items are freed once collated; only the batch is handed out.
      yield await scope(async () => collate(await Promise.all(indices.map((i) => this.dataset.get(i)))));
    }
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
