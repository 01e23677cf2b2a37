/**
 * MNIST and Fashion-MNIST as datasets of `[image, label]` items, as torchvision's `MNIST`
 * and `FashionMNIST`: images are float32 `[1, 28, 28]` in [0, 1], then `transform`; labels
 * are class indices (int32 once batched). Read from the IDX files, gzip-compressed or not;
 * nothing is downloaded.
 * @module
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';

import { FormatError } from '../errors.js';
import { fromTypedArray } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { stackCollate } from './collate.js';
import type { Dataset } from './dataloader.js';
import { readIdx } from './idx.js';
import { TransformRunner, type ImageTransform } from './image_transform.js';
import type { ModuleRef } from './module_ref.js';
import type { WorkerDataset, WorkerDatasetParts } from './worker_dataset.js';

/** Options of {@link MNIST} and {@link FashionMNIST}. */
export interface MnistOptions {
  /** The training split (default) or the test split (`t10k-*`). */
  train?: boolean;
  /** Applied to each float image `[1, 28, 28]`; a ModuleRef form also works in DataLoader workers. */
  transform?: ImageTransform;
  /**
   * File names to read instead of the standard ones (`train-images-idx3-ubyte`,
   * `train-labels-idx1-ubyte`, or `t10k-*` for the test split; each also found with
   * `.gz`; an absolute path is taken as it is): e.g. the bundled subset, `{ images: 'train-subset-images-idx3-ubyte.gz',
   * labels: 'train-subset-labels-idx1-ubyte.gz' }`.
   */
  files?: { images: string; labels: string };
}

/** MNIST-style arrays in memory: uint8 images `[N, H, W]` (in a SharedArrayBuffer), labels, class names. */
export interface MnistArrays {
  images: { shape: [number, number, number]; data: Uint8Array };
  labels: Uint8Array;
  classes: string[];
}

const MNIST_CLASSES = ['0 - zero', '1 - one', '2 - two', '3 - three', '4 - four', '5 - five', '6 - six', '7 - seven', '8 - eight', '9 - nine'];
const FASHION_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

/**
 * The path of `file` (or `file.gz`) in `root`, or in torchvision's `root/<name>/raw` or
 * `root/<name>`; FormatError naming the file and the places looked in when absent.
 */
function findFile(name: string, root: string, file: string): string {
  const folders = isAbsolute(file) ? [''] : [root, join(root, name, 'raw'), join(root, name)];
  const names = file.endsWith('.gz') ? [file] : [file, `${file}.gz`];
  for (const folder of folders) {
    for (const candidate of names) {
      const path = join(folder, candidate);
      if (existsSync(path)) return path;
    }
  }
  const where = isAbsolute(file) ? '' : ` in ${folders.join(', ')}`;
  throw new FormatError(`${name}: found no ${names.join(' or ')}${where} (nothing is downloaded)`);
}

/** An IDX file read with the shared reader; its FormatError (truncated, malformed) names the dataset too. */
function read(name: string, path: string) {
  try {
    return readIdx(path);
  } catch (error) {
    if (error instanceof FormatError) throw new FormatError(`${name}: ${error.message}`);
    throw error;
  }
}

/**
 * Reads an MNIST-format split (images `[N, H, W]` and labels `[N]` in IDX files) from
 * `root`. The images are copied into a SharedArrayBuffer so that DataLoader workers share
 * them. FormatError names a missing, truncated or inconsistent file.
 */
export function readMnist(name: string, root: string, options: Pick<MnistOptions, 'train' | 'files'>, classes: string[]): MnistArrays {
  const prefix = (options.train ?? true) ? 'train' : 't10k';
  const imagesPath = findFile(name, root, options.files?.images ?? `${prefix}-images-idx3-ubyte`);
  const labelsPath = findFile(name, root, options.files?.labels ?? `${prefix}-labels-idx1-ubyte`);
  const images = read(name, imagesPath);
  const labels = read(name, labelsPath);
  if (images.shape.length !== 3) throw new FormatError(`${name}: ${imagesPath} should hold images [N, H, W], found shape [${images.shape.join(', ')}]`);
  if (labels.shape.length !== 1) throw new FormatError(`${name}: ${labelsPath} should hold labels [N], found shape [${labels.shape.join(', ')}]`);
  const [count, height, width] = images.shape as [number, number, number];
  if (labels.shape[0] !== count) throw new FormatError(`${name}: ${imagesPath} holds ${count} images but ${labelsPath} holds ${labels.shape[0]} labels`);
  const bad = labels.data.findIndex((label) => label >= classes.length);
  if (bad >= 0) throw new FormatError(`${name}: label ${bad} of ${labelsPath} is ${labels.data[bad]}; expected < ${classes.length}`);
  const shared = new Uint8Array(new SharedArrayBuffer(images.data.length));
  shared.set(images.data);
  return { images: { shape: [count, height, width], data: shared }, labels: Uint8Array.from(labels.data), classes };
}

/** MNIST-style arrays in memory as a dataset of `[image, label]`; also usable by DataLoader workers. */
export class MnistDataset implements Dataset<[Tensor<'float32'>, number]>, WorkerDataset {
  readonly length: number;
  readonly classes: string[];
  readonly #arrays: MnistArrays;
  readonly #transform: TransformRunner;

  constructor(arrays: MnistArrays, transform?: ImageTransform) {
    this.#arrays = arrays;
    this.length = arrays.labels.length;
    this.classes = arrays.classes;
    this.#transform = new TransformRunner(transform, this.constructor.name);
  }

  /** The raw arrays (uint8 images `[N, H, W]`, labels, classes), e.g. for `ImageArrayDataset`. */
  get arrays(): MnistArrays {
    return this.#arrays;
  }

  /** Image `index` as float32 `[1, H, W]` in [0, 1] (then `transform`), and its label. */
  async get(index: number): Promise<[Tensor<'float32'>, number]> {
    const [, height, width] = this.#arrays.images.shape;
    const size = height * width;
    const pixels = this.#arrays.images.data.subarray(index * size, (index + 1) * size);
    const image = fromTypedArray(Float32Array.from(pixels, (v) => v / 255), [1, height, width]);
    return [(await this.#transform.apply(image)) as Tensor<'float32'>, this.#arrays.labels[index]!];
  }

  /** Workers receive the arrays themselves: the images' SharedArrayBuffer is shared, not copied. */
  workerSpec(): ModuleRef {
    return { module: import.meta.url, exportName: 'mnistWorkerDataset', args: { arrays: this.#arrays, transform: this.#transform.toRef() } };
  }
}

/**
 * MNIST's training (default) or test split from `root`: the folder holding
 * `train-images-idx3-ubyte(.gz)`, `train-labels-idx1-ubyte(.gz)`, `t10k-*`, or torchvision's
 * layout `root/MNIST/raw/`.
 *
 * @example const train = new MNIST('/data/mnist', { train: true });
 */
export class MNIST extends MnistDataset {
  constructor(root: string, options: MnistOptions = {}) {
    super(readMnist('MNIST', root, options, MNIST_CLASSES), options.transform);
  }
}

/**
 * Fashion-MNIST's training (default) or test split from `root` (the same file names as
 * MNIST, or torchvision's layout `root/FashionMNIST/raw/`).
 *
 * @example
 * const test = new FashionMNIST('examples/data/fashion-mnist', { train: false });
 */
export class FashionMNIST extends MnistDataset {
  constructor(root: string, options: MnistOptions = {}) {
    super(readMnist('FashionMNIST', root, options, FASHION_CLASSES), options.transform);
  }
}

/** Worker factory of {@link MnistDataset}: rebuilds it from the arrays the main thread read. */
export function mnistWorkerDataset(args: { arrays: MnistArrays; transform?: ModuleRef }): WorkerDatasetParts<[Tensor<'float32'>, number], Tensor[]> {
  return { dataset: new MnistDataset(args.arrays, args.transform), collate: stackCollate };
}
