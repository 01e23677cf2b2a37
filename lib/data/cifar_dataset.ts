/**
 * CIFAR-10 / CIFAR-100 as datasets of `[image, label]` items, as torchvision's `CIFAR10`
 * and `CIFAR100`: images are float32 `[3, 32, 32]` in [0, 1], then `transform`.
 * @module
 */
import { fromTypedArray } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { readCifar, type CifarArrays, type CifarReadOptions } from './cifar.js';
import { stackCollate } from './collate.js';
import type { Dataset } from './dataloader.js';
import { TransformRunner, type ImageTransform } from './image_transform.js';
import type { ModuleRef } from './module_ref.js';
import type { WorkerDataset, WorkerDatasetParts } from './worker_dataset.js';

/** Options of {@link CIFAR10} and {@link CIFAR100}. */
export interface CifarOptions extends Omit<CifarReadOptions, 'variant'> {
  /** Applied to each float image `[3, 32, 32]`; a ModuleRef form also works in DataLoader workers. */
  transform?: ImageTransform;
}

/** CIFAR arrays in memory as a dataset of `[image, label]`; also usable by DataLoader workers. */
export class CifarDataset implements Dataset<[Tensor, number]>, WorkerDataset {
  readonly length: number;
  readonly classes: string[];
  readonly #arrays: CifarArrays;
  readonly #transform: TransformRunner;

  constructor(arrays: CifarArrays, transform?: ImageTransform) {
    this.#arrays = arrays;
    this.length = arrays.labels.length;
    this.classes = arrays.classes;
    this.#transform = new TransformRunner(transform, this.constructor.name);
  }

  /** The raw arrays (uint8 images `[N, 3, 32, 32]`, labels, classes), e.g. for `ImageArrayDataset`. */
  get arrays(): CifarArrays {
    return this.#arrays;
  }

  /** Image `index` as float32 `[3, 32, 32]` in [0, 1] (then `transform`), and its label. */
  async get(index: number): Promise<[Tensor, number]> {
    const size = 3 * 32 * 32;
    const pixels = this.#arrays.images.data.subarray(index * size, (index + 1) * size);
    const image = fromTypedArray(Float32Array.from(pixels, (v) => v / 255), [3, 32, 32]);
    return [await this.#transform.apply(image), this.#arrays.labels[index]!];
  }

  /** Workers receive the arrays themselves: the images' SharedArrayBuffer is shared, not copied. */
  workerSpec(): ModuleRef {
    return { module: import.meta.url, exportName: 'cifarWorkerDataset', args: { arrays: this.#arrays, transform: this.#transform.toRef() } };
  }
}

/** The CIFAR-10 training (default) or test split from an extracted binary archive. */
export class CIFAR10 extends CifarDataset {
  constructor(root: string, options: Omit<CifarOptions, 'labelKind'> = {}) {
    super(readCifar(root, { train: options.train ?? true, variant: 'cifar10' }), options.transform);
  }
}

/** The CIFAR-100 training (default) or test split, with fine (default) or coarse labels. */
export class CIFAR100 extends CifarDataset {
  constructor(root: string, options: CifarOptions = {}) {
    super(readCifar(root, { ...options, variant: 'cifar100' }), options.transform);
  }
}

/** Worker factory of {@link CifarDataset}: rebuilds it from the arrays the main thread read. */
export function cifarWorkerDataset(args: { arrays: CifarArrays; transform?: ModuleRef }): WorkerDatasetParts<[Tensor, number], Tensor[]> {
  return { dataset: new CifarDataset(args.arrays, args.transform), collate: stackCollate };
}
