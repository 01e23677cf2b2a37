/**
 * Image + mask pairs for segmentation: `root/images/<name>.<ext>` with
 * `root/masks/<name>.png` (indexed PNGs give palette indices, grayscale their values).
 * @module
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';

import { ArgumentError, IndexError, ShapeError } from '../errors.js';
import { checkInt } from '../ops/validate.js';
import { fromTypedArray } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { stackCollate } from './collate.js';
import type { Dataset } from './dataloader.js';
import { decodeImage, loadSharp } from './decode_image.js';
import { decodeMask } from './decode_mask.js';
import { DetectionTransformRunner, type DetectionTransform } from './detection_transform.js';
import { IMAGE_EXTENSIONS } from './image_folder.js';
import type { ModuleRef } from './module_ref.js';
import type { WorkerDataset, WorkerDatasetParts } from './worker_dataset.js';

/** Options of {@link SegmentationFolder}. */
export interface SegmentationFolderOptions {
  /** Subfolder of the images (default 'images'). */
  images?: string;
  /** Subfolder of the masks (default 'masks'); a mask has its image's file name stem. */
  masks?: string;
  /** Classes: a mask id `>= numClasses` other than `ignoreIndex` is an IndexError naming the file (default: not checked). */
  numClasses?: number;
  /** An id that marks pixels to ignore (Pascal VOC's 255) and passes the numClasses check (default 255). */
  ignoreIndex?: number;
  /** `[H, W]` both are resized to while decoding (bilinear image, nearest mask); default: the files' size. */
  size?: readonly [number, number];
  /** 3 (RGB, the default) or 1 (grayscale) image channels. */
  channels?: 1 | 3;
  /**
   * `(image, mask) => [image, mask]` after decoding, e.g. the paired transforms; give it as
   * a ModuleRef to use DataLoader workers.
   */
  transforms?: DetectionTransform<Tensor>;
}

/** The pairs a worker rebuilds a {@link SegmentationFolder} from. */
export interface SegmentationFolderWorkerArgs {
  pairs: Array<[string, string]>;
  options: Omit<SegmentationFolderOptions, 'transforms'> & { transforms?: ModuleRef };
}

/** `[image path, mask path]` pairs of `root`, by image name; a missing folder or an unpaired file is an ArgumentError naming it. */
export function scanSegmentationFolder(root: string, images = 'images', masks = 'masks'): Array<[string, string]> {
  const op = 'SegmentationFolder';
  const list = (dir: string) => {
    let ok = false;
    try {
      ok = statSync(dir).isDirectory();
    } catch {
      // reported below
    }
    if (!ok) throw new ArgumentError(`${op}: ${dir} is not a folder (expected ${join(root, images)}/<name>.png and ${join(root, masks)}/<name>.png)`);
    const wanted = new Set(IMAGE_EXTENSIONS);
    return readdirSync(dir).filter((f) => !f.startsWith('.') && wanted.has(extname(f).toLowerCase())).sort();
  };
  const stem = (file: string) => basename(file, extname(file));
  const maskFiles = new Map(list(join(root, masks)).map((f) => [stem(f), f]));
  const imageFiles = list(join(root, images));
  if (imageFiles.length === 0) throw new ArgumentError(`${op}: ${join(root, images)} holds no images`);
  const pairs = imageFiles.map((file): [string, string] => {
    const mask = maskFiles.get(stem(file));
    if (mask === undefined) throw new ArgumentError(`${op}: image ${join(root, images, file)} has no mask ${join(root, masks, stem(file))}.png`);
    maskFiles.delete(stem(file));
    return [join(root, images, file), join(root, masks, mask)];
  });
  const orphan = maskFiles.values().next();
  if (!orphan.done) throw new ArgumentError(`${op}: mask ${join(root, masks, orphan.value)} has no image`);
  return pairs;
}

/**
 * A folder of image/mask pairs as a dataset of `[image, mask]`: image float32 `[C, H, W]` in
 * [0, 1], mask int32 class ids `[H, W]` (an indexed PNG's palette indices, as Pascal VOC's
 * SegmentationClass, or a grayscale PNG's values). A mask whose size differs from its image
 * is a ShapeError, an id `>= numClasses` (but `ignoreIndex`) an IndexError, an unreadable
 * file a FormatError: each names the file. Batches stack (`[N, C, H, W]`, `[N, H, W]`) when
 * the sizes agree (give `size`). Works with DataLoader workers when `transforms` is a
 * ModuleRef or absent.
 *
 * @example
 * const train = new data.SegmentationFolder('cells/train', { numClasses: 2, size: [256, 256] });
 * const loader = new data.DataLoader(train, { batchSize: 8, shuffle: true, numWorkers: 2 });
 * for await (const [images, masks] of loader) crossEntropy(model.call(images), masks).backward();
 */
export class SegmentationFolder implements Dataset<[Tensor, Tensor]>, WorkerDataset {
  /** `[image path, mask path]` of every sample, by image name. */
  readonly pairs: ReadonlyArray<readonly [string, string]>;
  readonly length: number;
  readonly #options: SegmentationFolderOptions;
  readonly #transforms: DetectionTransformRunner<Tensor>;

  /** `source`: a root to scan (`<root>/images`, `<root>/masks`) or pairs from {@link scanSegmentationFolder} (a split). */
  constructor(source: string | ReadonlyArray<readonly [string, string]>, options: SegmentationFolderOptions = {}) {
    const op = 'SegmentationFolder';
    const { size, channels = 3, numClasses, ignoreIndex = 255 } = options;
    if (size && !(size.length === 2 && size.every((s) => Number.isInteger(s) && s > 0))) throw new ArgumentError(`${op}: expected size [H, W] of positive integers, got [${size.join(', ')}]`);
    if (channels !== 1 && channels !== 3) throw new ArgumentError(`${op}: expected channels 1 or 3, got ${String(channels)}`);
    if (numClasses !== undefined) checkInt(op, 'numClasses', numClasses, 1);
    checkInt(op, 'ignoreIndex', ignoreIndex, 0);
    this.pairs = typeof source === 'string' ? scanSegmentationFolder(source, options.images, options.masks) : source;
    this.length = this.pairs.length;
    this.#options = options;
    this.#transforms = new DetectionTransformRunner(options.transforms, op);
  }

  /** Pair `index`: the decoded image and mask (then `transforms`). */
  async get(index: number): Promise<[Tensor, Tensor]> {
    const op = 'SegmentationFolder';
    const pair = this.pairs[index];
    if (!pair) throw new ArgumentError(`${op}: index ${index} is out of range for ${this.length} pairs`);
    const [imagePath, maskPath] = pair;
    const { size, channels = 3, numClasses, ignoreIndex = 255 } = this.#options;
    const [image, mask] = await Promise.all([decodeImage(imagePath, { size, channels }, op), decodeMask(maskPath, { size }, op)]);
    if (image.shape[1] !== mask.shape[0] || image.shape[2] !== mask.shape[1]) {
      throw new ShapeError(`${op}: mask ${maskPath} is ${mask.shape.join('×')} but image ${imagePath} is ${image.shape[1]}×${image.shape[2]}`);
    }
    if (numClasses !== undefined) {
      const bad = mask.data.findIndex((id) => id >= numClasses && id !== ignoreIndex);
      if (bad >= 0) throw new IndexError(`${op}: mask ${maskPath} has class id ${mask.data[bad]} at pixel (${Math.floor(bad / mask.shape[1])}, ${bad % mask.shape[1]}), but numClasses is ${numClasses} (ignoreIndex ${ignoreIndex})`);
    }
    return this.#transforms.apply(fromTypedArray(image.data, image.shape), fromTypedArray(mask.data, mask.shape));
  }

  /** How workers rebuild this dataset: the same pairs and options; fails for function transforms. */
  async workerSpec(): Promise<ModuleRef> {
    await loadSharp(); // in the main thread before any worker loads it (see loadSharp)
    const args: SegmentationFolderWorkerArgs = {
      pairs: this.pairs.map(([image, mask]) => [image, mask]),
      options: { ...this.#options, transforms: this.#transforms.toRef() },
    };
    return { module: import.meta.url, exportName: 'segmentationFolderWorkerDataset', args };
  }
}

/** Worker factory of {@link SegmentationFolder}. */
export function segmentationFolderWorkerDataset(args: SegmentationFolderWorkerArgs): WorkerDatasetParts<[Tensor, Tensor], Tensor[]> {
  return { dataset: new SegmentationFolder(args.pairs, args.options), collate: stackCollate };
}
