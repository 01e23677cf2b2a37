/**
 * ImageArrayDataset: uint8 images and labels held in memory (e.g. read from IDX or CIFAR
 * files), batched without per-item tensors.
 * @module
 */
import { ArgumentError } from '../errors.js';
import { fromTypedArray } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Dataset } from './dataloader.js';
import type { ModuleRef } from './module_ref.js';
import type { WorkerCollate, WorkerDataset, WorkerDatasetParts } from './worker_dataset.js';

/** Images in memory: uint8 `[N, H, W]` or `[N, C, H, W]`, row-major. */
export interface ImageArrays {
  shape: number[];
  data: Uint8Array;
}

/** The batch of {@link ImageArrayDataset}'s collate: float images `[B, C, H, W]` and int32 labels `[B]`. */
export type ImageArrayBatch = [Tensor<'float32'>, Tensor<'int32'>];

/**
 * A dataset of uint8 images `[N, H, W]` or `[N, C, H, W]` and integer labels held in
 * memory, batched without per-item tensors by {@link ImageArrayDataset.collate}: images
 * become float32 in [0, 1] (minus `mean`, divided by `std`), labels int32. Works with
 * DataLoader workers: they share the images (copied once into a SharedArrayBuffer when
 * they are not in one already) and run the same collate.
 *
 * @example
 * const train = new ImageArrayDataset(readIdx(imagesPath), readIdx(labelsPath).data);
 * const loader = new DataLoader(train, { batchSize: 64, numWorkers: 2, collate: train.collate(0.286, 0.353) });
 */
export class ImageArrayDataset implements Dataset<[Uint8Array, number]>, WorkerDataset {
  readonly length: number;
  readonly itemShape: number[];
  /** The images in a SharedArrayBuffer, for workers (made on first use when not shared already). */
  #shared: Uint8Array | undefined;
  constructor(readonly images: ImageArrays, readonly labels: Uint8Array | Int32Array) {
    if (!(images?.data instanceof Uint8Array) || !Array.isArray(images.shape) || (images.shape.length !== 3 && images.shape.length !== 4)) {
      throw new ArgumentError('ImageArrayDataset: expected images to be { shape: [N, H, W] or [N, C, H, W], data: Uint8Array }');
    }
    this.length = images.shape[0] ?? 0;
    this.itemShape = images.shape.length === 3 ? [1, ...images.shape.slice(1)] : images.shape.slice(1);
    const size = this.itemShape.reduce((a, b) => a * b, 1);
    if (images.data.length !== this.length * size) {
      throw new ArgumentError(`ImageArrayDataset: images of shape [${images.shape.join(', ')}] need ${this.length * size} bytes, got ${images.data.length}`);
    }
    if (labels.length !== this.length) throw new ArgumentError(`ImageArrayDataset: ${this.length} images but ${labels.length} labels`);
  }

  /** The pixels of image `index` (a view, no copy) and its label. */
  get(index: number): [Uint8Array, number] {
    const size = this.itemShape.reduce((a, b) => a * b, 1);
    return [this.images.data.subarray(index * size, (index + 1) * size), this.labels[index]!];
  }

  /**
   * A collate turning items into `[images, labels]` normalised with `mean` and `std`. It
   * is a {@link WorkerCollate}, so it is also the collate of `numWorkers > 0` loading.
   */
  collate(mean = 0, std = 1): WorkerCollate<[Uint8Array, number], ImageArrayBatch> {
    const args: ImageArrayCollateArgs = { itemShape: this.itemShape, mean, std };
    return Object.assign(imageArrayCollate(args), { workerRef: { module: import.meta.url, exportName: 'imageArrayCollate', args } });
  }

  /** Workers receive the arrays themselves: images in a SharedArrayBuffer are shared, not copied. */
  workerSpec(): ModuleRef {
    // Copied once, on first use: every later epoch and worker shares the copy.
    this.#shared ??= shared(this.images.data);
    return { module: import.meta.url, exportName: 'imageArrayWorkerDataset', args: { images: { shape: this.images.shape, data: this.#shared }, labels: this.labels } };
  }
}

/** `data` itself when it lives in a SharedArrayBuffer, else a copy in a new one. */
function shared(data: Uint8Array): Uint8Array {
  if (data.buffer instanceof SharedArrayBuffer) return data;
  const copy = new Uint8Array(new SharedArrayBuffer(data.length));
  copy.set(data);
  return copy;
}

interface ImageArrayCollateArgs {
  itemShape: number[];
  mean: number;
  std: number;
}

/** The collate of {@link ImageArrayDataset.collate}; also its factory in workers. */
export function imageArrayCollate({ itemShape, mean, std }: ImageArrayCollateArgs): (items: Array<[Uint8Array, number]>) => ImageArrayBatch {
  const size = itemShape.reduce((a, b) => a * b, 1);
  return (items) => {
    const pixels = new Float32Array(items.length * size);
    items.forEach(([image], i) => {
      for (let k = 0; k < size; ++k) pixels[i * size + k] = (image[k]! / 255 - mean) / std;
    });
    return [fromTypedArray(pixels, [items.length, ...itemShape]), fromTypedArray(Int32Array.from(items, ([, label]) => label))];
  };
}

/** Worker factory of {@link ImageArrayDataset}: the same arrays; unnormalised collate unless the loader gives its own. */
export function imageArrayWorkerDataset(args: { images: ImageArrays; labels: Uint8Array | Int32Array }): WorkerDatasetParts<[Uint8Array, number], ImageArrayBatch> {
  const dataset = new ImageArrayDataset(args.images, args.labels);
  return { dataset, collate: dataset.collate() };
}
