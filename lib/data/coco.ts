/**
 * COCO instances (detection and instance segmentation) as a dataset of `[image, target]`,
 * as torchvision's `CocoDetection` followed by the detection references'
 * `ConvertCocoPolysToMask`: boxes converted from COCO's xywh to xyxy and clipped to the
 * image, degenerate boxes dropped (and counted), masks decoded from polygons and RLEs.
 * @module
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { ArgumentError, FormatError } from '../errors.js';
import { fromTypedArray } from '../tensor/creation.js';
import type { DetectionTarget } from '../tensor/detection_records.js';
import type { Tensor } from '../tensor/tensor.js';
import { segmentationProblem, segmentationToMask, type CocoSegmentation } from './coco_masks.js';
import type { Dataset } from './dataloader.js';
import { decodeImage, loadSharp } from './decode_image.js';
import { detectionCollateFactory, type DetectionBatch } from './detection_collate.js';
import { DetectionTransformRunner, type DetectionTransform } from './detection_transform.js';
import type { ModuleRef } from './module_ref.js';
import type { WorkerDataset, WorkerDatasetParts } from './worker_dataset.js';

/** The target record of a {@link CocoDetection} item; `K` is the number of kept annotations. */
export interface CocoTarget extends DetectionTarget {
  /** float32 `[K, 4]` xyxy in pixels, clipped to the image. */
  boxes: Tensor<'float32'>;
  /** int32 `[K]`: COCO category ids as in the file (1..90 for COCO itself), not contiguous indices. */
  labels: Tensor<'int32'>;
  /** The image's COCO id. */
  imageId: number;
  /** float32 `[K]`: the annotations' `area` (the segmentation's area, as COCO gives it). */
  area: Tensor<'float32'>;
  /** uint8 `[K]`: 1 for crowd annotations. */
  iscrowd: Tensor<'uint8'>;
  /** uint8 `[K, H, W]` 0/1, only with `{ masks: true }`. */
  masks?: Tensor<'uint8'>;
}

/** Why {@link readCocoAnnotations} left an annotation out. */
export type CocoDropReason = 'degenerate box' | 'crowd';

/** An annotation left out of the targets: its index in the file's `annotations`, its id, its image and why. */
export interface DroppedAnnotation {
  index: number;
  id: number;
  imageId: number;
  reason: CocoDropReason;
}

/** A kept annotation, converted: box xyxy clipped to the image. */
export interface CocoObject {
  box: [number, number, number, number];
  label: number;
  area: number;
  iscrowd: number;
  /** Only kept when masks were asked for. */
  segmentation?: CocoSegmentation;
}

/** An image of the file and its kept annotations, in file order. */
export interface CocoImage {
  id: number;
  fileName: string;
  width: number;
  height: number;
  objects: CocoObject[];
}

/** A checked, converted COCO instances file: what {@link CocoDetection} (and its workers) read items from. */
export interface CocoIndex {
  annFile: string;
  /** Images by increasing id, as torchvision's `sorted(coco.imgs.keys())`. */
  images: CocoImage[];
  categories: Array<{ id: number; name: string }>;
  dropped: DroppedAnnotation[];
  /** Whether segmentations were checked and kept (the `masks` option). */
  masks: boolean;
}

/** Options of {@link readCocoAnnotations}. */
export interface CocoReadOptions {
  /** Check and keep segmentations, so that items carry `masks` (default false: masks cost `K * H * W` bytes per image). */
  masks?: boolean;
  /**
   * Leave crowd annotations (`iscrowd: 1`) out, as the torchvision reference's
   * `ConvertCocoPolysToMask` does; they are counted in `dropped` (default false: kept, flagged in `iscrowd`).
   */
  dropCrowd?: boolean;
}

/** Options of {@link CocoDetection}. */
export interface CocoDetectionOptions extends CocoReadOptions {
  /** Applied to each `(image, target)`; a ModuleRef form also works in DataLoader workers. */
  transforms?: DetectionTransform<CocoTarget>;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const isFiniteNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
const show = (value: unknown): string => JSON.stringify(value)?.slice(0, 80) ?? String(value);

/**
 * Reads and checks a COCO instances file: every image needs an integer `id`, a `file_name`
 * and positive integer `width`/`height`; every annotation an `id`, an `image_id` among the
 * images, a `category_id` among `categories`, a `bbox` `[x, y, w, h]` of finite numbers and
 * an `area` (with `masks`, a valid `segmentation` too). Anything else is a `FormatError`
 * naming the file and the record (`annotations[12] (id 345)`). Boxes become xyxy clipped to
 * the image; those with no width or height left are dropped and listed in `dropped`.
 *
 * @example
 * const index = readCocoAnnotations('coco/annotations/instances_val2017.json');
 * console.log(index.images.length, index.dropped.length);
 */
export function readCocoAnnotations(annFile: string, options: CocoReadOptions = {}): CocoIndex {
  const where = `CocoDetection: ${annFile}`;
  let text: string;
  try {
    text = readFileSync(annFile, 'utf8');
  } catch (cause) {
    throw new ArgumentError(`${where}: cannot read the annotation file (${(cause as Error).message})`);
  }
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (cause) {
    throw new FormatError(`${where}: expected JSON, got a parse error (${(cause as Error).message})`);
  }
  if (!isObject(root)) throw new FormatError(`${where}: expected a JSON object with images, annotations and categories, got ${show(root)}`);
  for (const key of ['images', 'annotations', 'categories']) {
    if (!Array.isArray(root[key])) throw new FormatError(`${where}: expected "${key}" to be an array, got ${show(root[key])}`);
  }

  const categories = (root.categories as unknown[]).map((category, i) => {
    if (!isObject(category) || !Number.isInteger(category.id)) throw new FormatError(`${where}: categories[${i}]: expected { id: integer, name }, got ${show(category)}`);
    return { id: category.id as number, name: typeof category.name === 'string' ? category.name : String(category.id) };
  });
  const categoryIds = new Set(categories.map((c) => c.id));

  const images = new Map<number, CocoImage>();
  (root.images as unknown[]).forEach((image, i) => {
    const record = `${where}: images[${i}]`;
    if (!isObject(image) || !Number.isInteger(image.id)) throw new FormatError(`${record}: expected an integer id, got ${show(image)}`);
    const { id, file_name: fileName, width, height } = image as { id: number; file_name: unknown; width: unknown; height: unknown };
    if (typeof fileName !== 'string' || fileName === '') throw new FormatError(`${record} (id ${id}): expected file_name to be a string, got ${show(fileName)}`);
    for (const [name, value] of [['width', width], ['height', height]] as const) {
      if (!Number.isInteger(value) || (value as number) <= 0) throw new FormatError(`${record} (id ${id}): expected ${name} to be a positive integer, got ${show(value)}`);
    }
    if (images.has(id)) throw new FormatError(`${record}: image id ${id} appears twice`);
    images.set(id, { id, fileName, width: width as number, height: height as number, objects: [] });
  });

  const dropped: DroppedAnnotation[] = [];
  (root.annotations as unknown[]).forEach((annotation, index) => {
    if (!isObject(annotation)) throw new FormatError(`${where}: annotations[${index}]: expected an object, got ${show(annotation)}`);
    const id = annotation.id as number;
    const record = `${where}: annotations[${index}] (id ${show(id)})`;
    if (!Number.isInteger(id)) throw new FormatError(`${record}: expected an integer id`);
    const image = images.get(annotation.image_id as number);
    if (!image) throw new FormatError(`${record}: expected image_id among the file's images, got ${show(annotation.image_id)}`);
    const label = annotation.category_id as number;
    if (!categoryIds.has(label)) {
      throw new FormatError(`${record}: expected category_id among the ${categoryIds.size} categories, got ${show(label)}`);
    }
    const bbox = annotation.bbox;
    if (!Array.isArray(bbox) || bbox.length !== 4 || !bbox.every(isFiniteNumber)) {
      throw new FormatError(`${record}: expected bbox [x, y, w, h] of finite numbers, got ${show(bbox)}`);
    }
    if (!isFiniteNumber(annotation.area)) throw new FormatError(`${record}: expected area to be a number, got ${show(annotation.area)}`);
    const iscrowd = annotation.iscrowd ?? 0;
    if (iscrowd !== 0 && iscrowd !== 1) throw new FormatError(`${record}: expected iscrowd 0 or 1, got ${show(iscrowd)}`);
    if (options.masks) {
      const problem = segmentationProblem(annotation.segmentation, image.height, image.width);
      if (problem) throw new FormatError(`${record}: segmentation: ${problem}`);
    }
    if (iscrowd === 1 && options.dropCrowd) {
      dropped.push({ index, id, imageId: image.id, reason: 'crowd' });
      return;
    }
    // xywh -> xyxy, clipped to the image, as the reference's ConvertCocoPolysToMask.
    const [x, y, w, h] = bbox as [number, number, number, number];
    const clip = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
    const box: CocoObject['box'] = [clip(x, image.width), clip(y, image.height), clip(x + w, image.width), clip(y + h, image.height)];
    if (!(box[2] > box[0] && box[3] > box[1])) {
      dropped.push({ index, id, imageId: image.id, reason: 'degenerate box' });
      return;
    }
    const object: CocoObject = { box, label, area: annotation.area, iscrowd };
    if (options.masks) object.segmentation = annotation.segmentation as CocoSegmentation;
    image.objects.push(object);
  });
  return { annFile, images: [...images.values()].sort((a, b) => a.id - b.id), categories, dropped, masks: options.masks ?? false };
}

/** The target tensors of one image's objects. */
function targetOf(image: CocoImage, masks: boolean): CocoTarget {
  const k = image.objects.length;
  const target: CocoTarget = {
    boxes: fromTypedArray(Float32Array.from(image.objects.flatMap((o) => o.box)), [k, 4]),
    labels: fromTypedArray(Int32Array.from(image.objects, (o) => o.label)),
    imageId: image.id,
    area: fromTypedArray(Float32Array.from(image.objects, (o) => o.area)),
    iscrowd: fromTypedArray(Uint8Array.from(image.objects, (o) => o.iscrowd)),
  };
  if (masks) {
    const plane = image.height * image.width;
    const data = new Uint8Array(k * plane);
    image.objects.forEach((o, i) => data.set(segmentationToMask(o.segmentation!, image.height, image.width), i * plane));
    target.masks = fromTypedArray(data, [k, image.height, image.width]);
  }
  return target;
}

/** What a worker needs to rebuild a {@link CocoDetection}. */
export interface CocoWorkerArgs {
  root: string;
  index: CocoIndex;
  transforms: ModuleRef | undefined;
}

/**
 * A COCO instances dataset: item `i` is `[image, target]` for the `i`-th image by
 * increasing id (images without annotations included, with `K = 0`), as torchvision's
 * `CocoDetection` + the detection references' conversion. `image` is float32 `[3, H, W]`
 * in [0, 1] (as the other image datasets here); `target` is a {@link CocoTarget}.
 *
 * Bad input fails early: the constructor checks the whole file ({@link readCocoAnnotations})
 * and throws a `FormatError` naming the file and the record. Degenerate boxes (no width or
 * height once clipped to the image, e.g. wholly outside it) are dropped as torchvision's
 * reference drops them, but not silently: each is listed in `dropped`, with its reason.
 * An image file that cannot be decoded, or whose size differs from the file's
 * `width`/`height`, is a `FormatError` naming it when its item is read.
 *
 * Images differ in size: batch with {@link detectionCollate}. Works with DataLoader
 * workers (which use that collate by default) when `transforms`, if any, is a ModuleRef.
 *
 * @example
 * const train = new CocoDetection('coco/train2017', 'coco/annotations/instances_train2017.json', { masks: true });
 * console.log(`${train.dropped.length} degenerate boxes dropped`);
 * const loader = new DataLoader(train, { batchSize: 2, shuffle: true, collate: detectionCollate, numWorkers: 4 });
 * for await (const [images, targets] of loader) { ... }
 */
export class CocoDetection implements Dataset<[Tensor, CocoTarget]>, WorkerDataset {
  /** The image folder. */
  readonly root: string;
  readonly annFile: string;
  readonly length: number;
  /** The image ids, item by item (increasing). */
  readonly ids: readonly number[];
  /** The file's categories (`labels` are their ids). */
  readonly categories: ReadonlyArray<{ id: number; name: string }>;
  /** The annotations left out of the targets, and why (their count is `dropped.length`). */
  readonly dropped: readonly DroppedAnnotation[];
  readonly #index: CocoIndex;
  readonly #transforms: DetectionTransformRunner<CocoTarget>;

  /**
   * `annotations` is the instances JSON file, or an index {@link readCocoAnnotations} made
   * (e.g. filtered); an index was read with its own `masks` and `dropCrowd`, so `masks: true`
   * with an index read without masks is an ArgumentError.
   */
  constructor(root: string, annotations: string | CocoIndex, options: CocoDetectionOptions = {}) {
    if (typeof root !== 'string') throw new ArgumentError(`CocoDetection: expected root to be a folder path, got ${show(root)}`);
    this.#index = typeof annotations === 'string' ? readCocoAnnotations(annotations, options) : annotations;
    if (options.masks && !this.#index.masks) {
      throw new ArgumentError(`CocoDetection: masks: true needs an index read with masks (readCocoAnnotations(${show(this.#index.annFile)}, { masks: true }))`);
    }
    this.root = root;
    this.annFile = this.#index.annFile;
    this.length = this.#index.images.length;
    this.ids = this.#index.images.map((image) => image.id);
    this.categories = this.#index.categories;
    this.dropped = this.#index.dropped;
    this.#transforms = new DetectionTransformRunner(options.transforms, 'CocoDetection');
  }

  /** The checked index items are read from. */
  get index(): CocoIndex {
    return this.#index;
  }

  /** Item `index`: the image as float32 `[3, H, W]` in [0, 1] and its target (then `transforms`). */
  async get(index: number): Promise<[Tensor, CocoTarget]> {
    const image = this.#index.images[index];
    if (!image) throw new ArgumentError(`CocoDetection: index ${index} is out of range for ${this.length} images`);
    const path = join(this.root, image.fileName);
    const { data, shape } = await decodeImage(path, {}, 'CocoDetection');
    if (shape[1] !== image.height || shape[2] !== image.width) {
      throw new FormatError(`CocoDetection: ${path} is ${shape[2]}x${shape[1]}, but ${this.annFile} gives image id ${image.id} as ${image.width}x${image.height}`);
    }
    return this.#transforms.apply(fromTypedArray(data, shape), targetOf(image, this.#index.masks));
  }

  /** How workers rebuild this dataset: the same checked index; fails for function transforms. */
  async workerSpec(): Promise<ModuleRef> {
    await loadSharp(); // in the main thread before any worker loads it (see loadSharp)
    const args: CocoWorkerArgs = { root: this.root, index: this.#index, transforms: this.#transforms.toRef() };
    return { module: import.meta.url, exportName: 'cocoWorkerDataset', args };
  }
}

/**
 * Worker factory of {@link CocoDetection}: the same index, images decoded in the worker,
 * batched by the detection collate.
 *
 * @example
 * const { dataset, collate } = cocoWorkerDataset({ root, index: readCocoAnnotations(annFile), transforms: undefined });
 */
export function cocoWorkerDataset(args: CocoWorkerArgs): WorkerDatasetParts<[Tensor, CocoTarget], DetectionBatch<CocoTarget>> {
  return { dataset: new CocoDetection(args.root, args.index, { transforms: args.transforms }), collate: detectionCollateFactory() };
}
