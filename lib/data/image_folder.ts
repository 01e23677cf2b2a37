/**
 * A folder of images sorted into one subfolder per class, as torchvision's `ImageFolder`:
 * `root/cat/001.png`, `root/dog/xyz.jpg`, ... Classes are the subfolder names, sorted.
 * @module
 */
import { readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';

import { ArgumentError } from '../errors.js';
import { fromTypedArray } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { stackCollate } from './collate.js';
import type { Dataset } from './dataloader.js';
import { decodeImage, loadSharp } from './decode_image.js';
import { TransformRunner, type ImageTransform } from './image_transform.js';
import type { ModuleRef } from './module_ref.js';
import type { WorkerDataset, WorkerDatasetParts } from './worker_dataset.js';

/** The file extensions {@link ImageFolder} picks up by default (case-insensitive). */
export const IMAGE_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg', '.webp'];

/** The classes and `[path, classIndex]` samples of an image folder. */
export interface ImageFolderIndex {
  root: string;
  classes: string[];
  samples: Array<[string, number]>;
}

/** Files under `dir` (recursively, skipping hidden entries), sorted. */
function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => !entry.name.startsWith('.'))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .flatMap((entry) => (entry.isDirectory() ? listFiles(join(dir, entry.name)) : entry.isFile() ? [join(dir, entry.name)] : []));
}

/**
 * Scans `root`: every subfolder is a class; its image files (in nested folders too) are
 * the class's samples. Throws `ArgumentError` when `root` is missing, has no subfolders,
 * or a class holds no image.
 */
export function scanImageFolder(root: string, extensions: readonly string[] = IMAGE_EXTENSIONS): ImageFolderIndex {
  let isDirectory = false;
  try {
    isDirectory = statSync(root).isDirectory();
  } catch {
    // reported below
  }
  if (!isDirectory) throw new ArgumentError(`ImageFolder: ${root} is not a folder (expected root/<class>/<image>)`);
  const wanted = new Set(extensions.map((e) => e.toLowerCase()));
  const classes = readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
    .map((entry) => entry.name)
    .sort();
  if (classes.length === 0) throw new ArgumentError(`ImageFolder: ${root} has no class subfolders (expected root/<class>/<image>)`);
  const samples = classes.flatMap((name, index) => {
    const files = listFiles(join(root, name)).filter((file) => wanted.has(extname(file).toLowerCase()));
    if (files.length === 0) throw new ArgumentError(`ImageFolder: class folder ${join(root, name)} holds no ${[...wanted].join('/')} files`);
    return files.map((file): [string, number] => [file, index]);
  });
  return { root, classes, samples };
}

/** Options of {@link ImageFolder}. */
export interface ImageFolderOptions {
  /** `[H, W]` every image is resized to while decoding (stretching); default: the file's size. */
  size?: readonly [number, number];
  /** 3 (RGB, the default) or 1 (grayscale). */
  channels?: 1 | 3;
  /** Applied to each float image `[C, H, W]`; a ModuleRef form also works in DataLoader workers. */
  transform?: ImageTransform;
  /** File extensions to pick up; default {@link IMAGE_EXTENSIONS}. */
  extensions?: readonly string[];
}

/** What a worker needs to rebuild an {@link ImageFolder}: the scanned index and the decoding options. */
export interface ImageFolderWorkerArgs {
  index: ImageFolderIndex;
  size: readonly [number, number] | undefined;
  channels: 1 | 3;
  transform: ModuleRef | undefined;
}

/**
 * Images in class subfolders as a dataset of `[image, label]`: `image` is float32
 * `[C, H, W]` in [0, 1] decoded by sharp (then `transform`), `label` the class index.
 * `get()` is async (decoding is). A file that cannot be decoded is a `FormatError`
 * naming it. Works with `DataLoader` workers (each decodes its own batches) when the
 * transform, if any, is a {@link ModuleRef}.
 */
export class ImageFolder implements Dataset<[Tensor, number]>, WorkerDataset {
  readonly root: string;
  /** Class names (the subfolder names), sorted. */
  readonly classes: string[];
  /** Class name to label. */
  readonly classToIdx: Record<string, number>;
  /** `[path, label]` of every image, by class, then by path. */
  readonly samples: ReadonlyArray<readonly [string, number]>;
  readonly length: number;
  readonly #size: readonly [number, number] | undefined;
  readonly #channels: 1 | 3;
  readonly #transform: TransformRunner;

  /** `source` is a root folder to scan, or an index from {@link scanImageFolder} (e.g. a filtered split). */
  constructor(source: string | ImageFolderIndex, options: ImageFolderOptions = {}) {
    const index = typeof source === 'string' ? scanImageFolder(source, options.extensions) : source;
    this.root = index.root;
    this.classes = index.classes;
    this.classToIdx = Object.fromEntries(index.classes.map((name, i) => [name, i]));
    this.samples = index.samples;
    this.length = index.samples.length;
    const { size, channels = 3 } = options;
    if (size && !(size.length === 2 && size.every((s) => Number.isInteger(s) && s > 0))) {
      throw new ArgumentError(`ImageFolder: expected size [H, W] of positive integers, got [${size.join(', ')}]`);
    }
    if (channels !== 1 && channels !== 3) throw new ArgumentError(`ImageFolder: expected channels 1 or 3, got ${String(channels)}`);
    this.#size = size;
    this.#channels = channels;
    this.#transform = new TransformRunner(options.transform, 'ImageFolder');
  }

  /** Image `index` decoded to float32 `[C, H, W]` in [0, 1] (then `transform`), and its label. */
  async get(index: number): Promise<[Tensor, number]> {
    const sample = this.samples[index];
    if (!sample) throw new ArgumentError(`ImageFolder: index ${index} is out of range for ${this.length} images`);
    const [path, label] = sample;
    const { data, shape } = await decodeImage(path, { size: this.#size, channels: this.#channels }, 'ImageFolder');
    return [await this.#transform.apply(fromTypedArray(data, shape)), label];
  }

  /** How workers rebuild this dataset: the same samples and options; fails for a function transform. */
  async workerSpec(): Promise<ModuleRef> {
    await loadSharp(); // in the main thread before any worker loads it (see loadSharp)
    const args: ImageFolderWorkerArgs = {
      index: { root: this.root, classes: this.classes, samples: this.samples.map(([path, label]) => [path, label]) },
      size: this.#size,
      channels: this.#channels,
      transform: this.#transform.toRef(),
    };
    return { module: import.meta.url, exportName: 'imageFolderWorkerDataset', args };
  }
}

/** Worker factory of {@link ImageFolder}: the same samples, decoded in the worker. */
export function imageFolderWorkerDataset(args: ImageFolderWorkerArgs): WorkerDatasetParts<[Tensor, number], Tensor[]> {
  const dataset = new ImageFolder(args.index, { size: args.size, channels: args.channels, transform: args.transform });
  return { dataset, collate: stackCollate };
}
