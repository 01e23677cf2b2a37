/**
 * Image + label volume pairs for 3-D segmentation: `root/images/<name>.tif` with
 * `root/labels/<name>.tif`, multi-page TIFF stacks read exactly by {@link readTiffVolume}.
 * @module
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';

import { ArgumentError, DTypeError, IndexError, ShapeError } from '../errors.js';
import { checkInt } from '../ops/validate.js';
import { scope } from '../tensor/memory.js';
import type { Tensor } from '../tensor/tensor.js';
import { stackCollate } from './collate.js';
import type { Dataset } from './dataloader.js';
import { loadSharp } from './decode_image.js';
import { DetectionTransformRunner, type DetectionTransform } from './detection_transform.js';
import type { ModuleRef } from './module_ref.js';
import { readTiffVolume } from './tiff_volume.js';
import type { WorkerDataset, WorkerDatasetParts } from './worker_dataset.js';

/** File name endings of TIFF volumes. */
const TIFF_EXTENSIONS = new Set(['.tif', '.tiff']);

/** Options of {@link VolumeFolder}. */
export interface VolumeFolderOptions {
  /** Subfolder of the image volumes (default 'images'). */
  images?: string;
  /** Subfolder of the label volumes (default 'labels'); a label has its image's file name stem. */
  labels?: string;
  /** Classes: a label id `>= numClasses` other than `ignoreIndex` is an IndexError naming the file (default: not checked). */
  numClasses?: number;
  /** An id that marks voxels to ignore and passes the numClasses check (default 255). */
  ignoreIndex?: number;
  /**
   * `(image, label) => [image, label]` after reading, e.g. `randCropByPosNegLabel` on
   * `label.unsqueeze(0)`; give it as a ModuleRef to use DataLoader workers.
   */
  transforms?: DetectionTransform<Tensor>;
}

/** The pairs a worker rebuilds a {@link VolumeFolder} from. */
export interface VolumeFolderWorkerArgs {
  pairs: Array<[string, string]>;
  options: Omit<VolumeFolderOptions, 'transforms'> & { transforms?: ModuleRef };
}

/** `[image path, label path]` pairs of `root`, by image name; a missing folder or an unpaired file is an ArgumentError naming it. */
export function scanVolumeFolder(root: string, images = 'images', labels = 'labels'): Array<[string, string]> {
  const op = 'VolumeFolder';
  const list = (dir: string) => {
    let ok = false;
    try {
      ok = statSync(dir).isDirectory();
    } catch {
      // reported below
    }
    if (!ok) throw new ArgumentError(`${op}: ${dir} is not a folder (expected ${join(root, images)}/<name>.tif and ${join(root, labels)}/<name>.tif)`);
    return readdirSync(dir).filter((f) => !f.startsWith('.') && TIFF_EXTENSIONS.has(extname(f).toLowerCase())).sort();
  };
  const stem = (file: string) => basename(file, extname(file));
  const labelFiles = new Map(list(join(root, labels)).map((f) => [stem(f), f]));
  const imageFiles = list(join(root, images));
  if (imageFiles.length === 0) throw new ArgumentError(`${op}: ${join(root, images)} holds no .tif volumes`);
  const pairs = imageFiles.map((file): [string, string] => {
    const label = labelFiles.get(stem(file));
    if (label === undefined) throw new ArgumentError(`${op}: image ${join(root, images, file)} has no label ${join(root, labels, stem(file))}.tif`);
    labelFiles.delete(stem(file));
    return [join(root, images, file), join(root, labels, label)];
  });
  const orphan = labelFiles.values().next();
  if (!orphan.done) throw new ArgumentError(`${op}: label ${join(root, labels, orphan.value)} has no image`);
  return pairs;
}

/**
 * A folder of image/label TIFF volumes as a dataset of `[image, label]` for 3-D
 * segmentation: image float32 `[C, D, H, W]` holding the file's values unscaled (as MONAI's
 * `LoadImage` + `EnsureChannelFirst`; a grey stack has C = 1), label int32 class ids
 * `[D, H, W]` (the target layout of 3-D cross entropy; an 8-, 16- or 32-bit integer stack).
 * A label whose size differs from its image is a ShapeError, a float or multi-channel label
 * a DTypeError / ShapeError, an id `>= numClasses` (but `ignoreIndex`) an IndexError, an
 * unreadable file a FormatError: each names the file. Batches stack when the sizes agree
 * (crop them to one size in `transforms`). Works with DataLoader workers when `transforms`
 * is a ModuleRef or absent.
 *
 * @example
 * const train = new data.VolumeFolder('isbi/train', { numClasses: 2 });
 * const [image, label] = await train.get(0); // [1, 30, 512, 512], [30, 512, 512]
 * const patches = await data.randCropByPosNegLabel(image, label.unsqueeze(0), { spatialSize: [16, 128, 128], numSamples: 4 });
 */
export class VolumeFolder implements Dataset<[Tensor, Tensor]>, WorkerDataset {
  /** `[image path, label path]` of every sample, by image name. */
  readonly pairs: ReadonlyArray<readonly [string, string]>;
  readonly length: number;
  readonly #options: VolumeFolderOptions;
  readonly #transforms: DetectionTransformRunner<Tensor>;

  /** `source`: a root to scan (`<root>/images`, `<root>/labels`) or pairs from {@link scanVolumeFolder} (a split). */
  constructor(source: string | ReadonlyArray<readonly [string, string]>, options: VolumeFolderOptions = {}) {
    const op = 'VolumeFolder';
    const { numClasses, ignoreIndex = 255 } = options;
    if (numClasses !== undefined) checkInt(op, 'numClasses', numClasses, 1);
    checkInt(op, 'ignoreIndex', ignoreIndex, 0);
    this.pairs = typeof source === 'string' ? scanVolumeFolder(source, options.images, options.labels) : source;
    this.length = this.pairs.length;
    this.#options = options;
    this.#transforms = new DetectionTransformRunner(options.transforms, op);
  }

  /** Pair `index`: the read image and label volumes (then `transforms`). */
  async get(index: number): Promise<[Tensor, Tensor]> {
    const op = 'VolumeFolder';
    const pair = this.pairs[index];
    if (!pair) throw new ArgumentError(`${op}: index ${index} is out of range for ${this.length} pairs`);
    const [imagePath, labelPath] = pair;
    const { numClasses, ignoreIndex = 255 } = this.#options;
    // The volumes as read and their views die here; only the returned pair lives on.
    const [image, ids] = await scope(async (): Promise<[Tensor, Tensor]> => {
      const [read, label] = await Promise.all([readTiffVolume(imagePath), readTiffVolume(labelPath)]);
      // [D, H, W] -> [1, D, H, W]; [D, C, H, W] -> [C, D, H, W].
      const channelsFirst = read.ndim === 3 ? read.unsqueeze(0) : read.permute([1, 0, 2, 3]);
      const image = channelsFirst.float().contiguous();
      const spatial = image.shape.slice(1);
      if (label.ndim !== 3) throw new ShapeError(`${op}: label ${labelPath} has ${label.shape[1]} channels per voxel, expected one class id`);
      if (label.dtype === 'float32') throw new DTypeError(`${op}: label ${labelPath} holds float values, expected integer class ids`);
      if (label.shape.some((s, d) => s !== spatial[d])) {
        throw new ShapeError(`${op}: label ${labelPath} is ${label.shape.join('×')} but image ${imagePath} is ${spatial.join('×')} (pages × height × width)`);
      }
      const ids = label.int();
      if (numClasses !== undefined) {
        const values = await ids.data();
        const bad = values.findIndex((id) => (id >= numClasses || id < 0) && id !== ignoreIndex);
        if (bad >= 0) {
          const [, height, width] = label.shape as [number, number, number];
          const at = `(${Math.floor(bad / (height * width))}, ${Math.floor(bad / width) % height}, ${bad % width})`;
          throw new IndexError(`${op}: label ${labelPath} has class id ${values[bad]} at voxel ${at}, but numClasses is ${numClasses} (ignoreIndex ${ignoreIndex})`);
        }
      }
      return [image, ids];
    });
    return this.#transforms.apply(image, ids);
  }

  /** How workers rebuild this dataset: the same pairs and options; fails for function transforms. */
  async workerSpec(): Promise<ModuleRef> {
    await loadSharp(); // in the main thread before any worker loads it (see loadSharp)
    const args: VolumeFolderWorkerArgs = {
      pairs: this.pairs.map(([image, label]) => [image, label]),
      options: { ...this.#options, transforms: this.#transforms.toRef() },
    };
    return { module: import.meta.url, exportName: 'volumeFolderWorkerDataset', args };
  }
}

/** Worker factory of {@link VolumeFolder}. */
export function volumeFolderWorkerDataset(args: VolumeFolderWorkerArgs): WorkerDatasetParts<[Tensor, Tensor], Tensor[]> {
  return { dataset: new VolumeFolder(args.pairs, args.options), collate: stackCollate };
}
