/**
 * Pascal VOC detection (`VOCdevkit/VOC<year>/`: `ImageSets/Main/<set>.txt`,
 * `Annotations/<id>.xml`, `JPEGImages/<id>.jpg`) as a dataset of `[image, target]`, as
 * torchvision's `VOCDetection` with its XML dict converted to tensors the detection
 * models take.
 * @module
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { ArgumentError, FormatError } from '../errors.js';
import { fromTypedArray } from '../tensor/creation.js';
import type { DetectionTarget } from '../tensor/detection_records.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Dataset } from './dataloader.js';
import { decodeImage, loadSharp } from './decode_image.js';
import { detectionCollateFactory, type DetectionBatch } from './detection_collate.js';
import { DetectionTransformRunner, type DetectionTransform } from './detection_transform.js';
import type { ModuleRef } from './module_ref.js';
import type { WorkerDataset, WorkerDatasetParts } from './worker_dataset.js';

/**
 * The 20 Pascal VOC classes, in the devkit's order; label `i + 1` is `VOC_CLASSES[i]`
 * (0 is the background).
 *
 * @example
 * VOC_CLASSES.indexOf('dog') + 1; // 12, the label of a dog
 */
export const VOC_CLASSES: readonly string[] = [
  'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair', 'cow',
  'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor',
];

/** The target record of a {@link VOCDetection} item; `K` is the number of kept objects. */
export interface VocTarget extends DetectionTarget {
  /** float32 `[K, 4]` xyxy as VOC gives them: 1-based pixel coordinates, corners inclusive, clipped to `[0, W] x [0, H]`. */
  boxes: Tensor<'float32'>;
  /** int32 `[K]`: 1 + the class's index in `classes` (0 is kept for the background, as torchvision's detection models count it). */
  labels: Tensor<'int32'>;
  /** uint8 `[K]`: VOC's `difficult` flag (such objects are ignored by VOC's evaluation). */
  difficult: Tensor<'uint8'>;
  /** The image id, e.g. `'2007_000027'`. */
  imageId: string;
}

/** A VOC object left out of the targets: the XML file, the object's index in it and why. */
export interface DroppedVocObject {
  file: string;
  object: number;
  reason: 'degenerate box' | 'outside the image';
}

/** A parsed annotation: the image's size and its kept objects. */
export interface VocImage {
  id: string;
  width: number;
  height: number;
  boxes: number[];
  labels: number[];
  difficult: number[];
}

/** Options of {@link VOCDetection}. */
export interface VOCDetectionOptions {
  /** The devkit year folder, `VOC<year>` (default `'2012'`). */
  year?: string;
  /** The list in `ImageSets/Main/` to read: `'train'` (default), `'val'`, `'trainval'` or `'test'`. */
  imageSet?: 'train' | 'val' | 'trainval' | 'test';
  /** The class names labels index into, from 1 (default {@link VOC_CLASSES}); an object of another class is a FormatError. */
  classes?: readonly string[];
  /** Applied to each `(image, target)`; a ModuleRef form also works in DataLoader workers. */
  transforms?: DetectionTransform<VocTarget>;
}

/** An XML element: its name, child elements and text. */
interface XmlElement {
  name: string;
  children: XmlElement[];
  text: string;
}

/**
 * Parses the plain XML VOC writes (elements and text; declarations, comments and
 * attributes skipped). Returns the root element, or a string saying what is wrong.
 */
function parseXml(text: string): XmlElement | string {
  const top: XmlElement = { name: '', children: [], text: '' };
  const stack = [top];
  const tag = /<(\/?)([^\s/>!?]+)[^>]*?(\/?)>|<\?[\s\S]*?\?>|<!--[\s\S]*?-->|<!\[CDATA\[([\s\S]*?)\]\]>|<![^>]*>/g;
  let last = 0;
  for (let match = tag.exec(text); match; match = tag.exec(text)) {
    const current = stack[stack.length - 1]!;
    current.text += text.slice(last, match.index);
    last = tag.lastIndex;
    const [, closing, name, selfClosing, cdata] = match;
    if (cdata !== undefined) current.text += cdata;
    if (name === undefined) continue;
    if (closing) {
      if (current.name !== name) return `expected </${current.name || '(no open element)'}>, got </${name}>`;
      stack.pop();
    } else {
      const element: XmlElement = { name, children: [], text: '' };
      current.children.push(element);
      if (!selfClosing) stack.push(element);
    }
  }
  const rest = text.slice(last);
  if (rest.includes('<') || rest.includes('>')) return `unexpected markup ${JSON.stringify(rest.trim().slice(0, 30))}`;
  if (stack.length > 1) return `element <${stack[stack.length - 1]!.name}> is never closed`;
  if (top.children.length !== 1) return `expected one root element, got ${top.children.length}`;
  return top.children[0]!;
}

const child = (element: XmlElement, name: string): XmlElement | undefined => element.children.find((c) => c.name === name);

/**
 * Reads one VOC annotation file into boxes and labels (`classes` index + 1). A file that is
 * not well-formed XML, lacks `<size>` or an object's `<name>`/`<bndbox>`, has a non-numeric
 * coordinate or an unknown class is a `FormatError` naming the file (and the object).
 * Boxes wholly outside the image (`xmin > W`, `ymin > H`, `xmax < 0` or `ymax < 0`) and
 * inverted ones (`xmax < xmin` or `ymax < ymin`) are pushed onto `dropped`; the others are
 * clipped to `[0, W] x [0, H]`.
 *
 * @example
 * const dropped: DroppedVocObject[] = [];
 * const image = readVocAnnotation('VOC2012/Annotations/2007_000027.xml', VOC_CLASSES, dropped);
 */
export function readVocAnnotation(file: string, classes: readonly string[], dropped: DroppedVocObject[]): VocImage {
  const where = `VOCDetection: ${file}`;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new FormatError(`${where}: cannot read the annotation (${(cause as Error).message})`);
  }
  const root = parseXml(text);
  if (typeof root === 'string') throw new FormatError(`${where}: malformed XML: ${root}`);
  if (root.name !== 'annotation') throw new FormatError(`${where}: expected root element <annotation>, got <${root.name}>`);
  const number = (element: XmlElement | undefined, path: string, integer: boolean): number => {
    const raw = element?.text.trim();
    const value = raw === undefined || raw === '' ? Number.NaN : Number(raw);
    if (!Number.isFinite(value) || (integer && !Number.isInteger(value))) {
      throw new FormatError(`${where}: expected ${path} to be ${integer ? 'an integer' : 'a number'}, got ${raw === undefined ? 'no element' : JSON.stringify(raw)}`);
    }
    return value;
  };
  const size = child(root, 'size');
  const width = number(size && child(size, 'width'), '<size><width>', true);
  const height = number(size && child(size, 'height'), '<size><height>', true);
  if (width <= 0 || height <= 0) throw new FormatError(`${where}: expected a positive <size>, got ${width}x${height}`);
  const id = child(root, 'filename')?.text.trim().replace(/\.[^.]*$/, '') ?? '';
  const image: VocImage = { id, width, height, boxes: [], labels: [], difficult: [] };
  root.children
    .filter((c) => c.name === 'object')
    .forEach((object, i) => {
      const name = child(object, 'name')?.text.trim();
      const label = name === undefined ? -1 : classes.indexOf(name);
      if (label < 0) throw new FormatError(`${where}: object ${i}: expected <name> among ${classes.length} classes (${classes.slice(0, 3).join(', ')}, ...), got ${name === undefined ? 'no <name>' : JSON.stringify(name)}`);
      const box = child(object, 'bndbox');
      if (!box) throw new FormatError(`${where}: object ${i} (${name}): expected a <bndbox>`);
      const [xmin, ymin, xmax, ymax] = (['xmin', 'ymin', 'xmax', 'ymax'] as const).map((k) => number(child(box, k), `object ${i} <bndbox><${k}>`, false));
      // VOC corners are inclusive pixels: xmin === xmax is a one-pixel-wide box.
      const reason = xmin! > width || ymin! > height || xmax! < 0 || ymax! < 0 ? 'outside the image' : xmax! < xmin! || ymax! < ymin! ? 'degenerate box' : null;
      if (reason) {
        dropped.push({ file, object: i, reason });
        return;
      }
      const clip = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
      const [x1, y1, x2, y2] = [clip(xmin!, width), clip(ymin!, height), clip(xmax!, width), clip(ymax!, height)];
      const difficult = child(object, 'difficult')?.text.trim();
      image.boxes.push(x1, y1, x2, y2);
      image.labels.push(label + 1);
      image.difficult.push(difficult === '1' ? 1 : 0);
    });
  return image;
}

/** A checked VOC image set: what {@link VOCDetection} (and its workers) read items from. */
export interface VocIndex {
  /** `root/VOCdevkit/VOC<year>`. */
  vocRoot: string;
  /** The image set's annotations, in list order (each `id` as listed). */
  images: VocImage[];
  classes: readonly string[];
  dropped: DroppedVocObject[];
}

/** Options of {@link readVocIndex}. */
export type VocReadOptions = Omit<VOCDetectionOptions, 'transforms'>;

/**
 * Reads `ImageSets/Main/<imageSet>.txt` under `root/VOCdevkit/VOC<year>` and every
 * annotation it lists ({@link readVocAnnotation}). A missing list is an `ArgumentError`
 * naming the path expected.
 *
 * @example
 * const index = readVocIndex('data', { year: '2007', imageSet: 'test' });
 */
export function readVocIndex(root: string, options: VocReadOptions = {}): VocIndex {
  const { year = '2012', imageSet = 'train', classes = VOC_CLASSES } = options;
  if (!['train', 'val', 'trainval', 'test'].includes(imageSet)) {
    throw new ArgumentError(`VOCDetection: expected imageSet 'train', 'val', 'trainval' or 'test', got ${JSON.stringify(imageSet)}`);
  }
  if (!Array.isArray(classes) || classes.length === 0 || !classes.every((c) => typeof c === 'string')) {
    throw new ArgumentError(`VOCDetection: expected classes to be a non-empty array of class names, got ${JSON.stringify(classes)?.slice(0, 60)}`);
  }
  const vocRoot = join(root, 'VOCdevkit', `VOC${year}`);
  const listFile = join(vocRoot, 'ImageSets', 'Main', `${imageSet}.txt`);
  let list: string;
  try {
    list = readFileSync(listFile, 'utf8');
  } catch (cause) {
    throw new ArgumentError(`VOCDetection: cannot read ${listFile} (expected root/VOCdevkit/VOC${year}/ImageSets/Main/${imageSet}.txt): ${(cause as Error).message}`);
  }
  const dropped: DroppedVocObject[] = [];
  const ids = list
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const images = ids.map((id) => ({ ...readVocAnnotation(join(vocRoot, 'Annotations', `${id}.xml`), classes, dropped), id }));
  return { vocRoot, images, classes, dropped };
}

/** What a worker needs to rebuild a {@link VOCDetection}. */
export interface VocWorkerArgs {
  index: VocIndex;
  transforms: ModuleRef | undefined;
}

/**
 * Pascal VOC detection: item `i` is `[image, target]` for the `i`-th id of
 * `ImageSets/Main/<imageSet>.txt`. `image` is float32 `[3, H, W]` in [0, 1]; `target` a
 * {@link VocTarget}: boxes xyxy as VOC gives them (1-based, inclusive; subtract 1 from
 * `xmin`/`ymin` for 0-based half-open pixels), labels 1..20 (0 = background), `difficult`.
 *
 * The constructor reads every annotation of the set, so malformed XML, a missing field or
 * an unknown class fails at once with a `FormatError` naming the file. Boxes are clipped
 * to the image; those wholly outside it or inverted (`xmax < xmin` or `ymax < ymin`) are
 * dropped and listed in `dropped`, with the reason. `root` holds `VOCdevkit/VOC<year>`, as torchvision's. Batch with
 * {@link detectionCollate}; works with DataLoader workers when `transforms`, if any, is a
 * ModuleRef.
 *
 * @example
 * const train = new VOCDetection('data', { year: '2007', imageSet: 'trainval' });
 * const loader = new DataLoader(train, { batchSize: 4, shuffle: true, collate: detectionCollate, numWorkers: 2 });
 */
export class VOCDetection implements Dataset<[Tensor, VocTarget]>, WorkerDataset {
  /** `root/VOCdevkit/VOC<year>`. */
  readonly vocRoot: string;
  readonly length: number;
  /** The image ids, item by item, as listed in the image set file. */
  readonly ids: readonly string[];
  /** The class names; label `l` is `classes[l - 1]`. */
  readonly classes: readonly string[];
  /** The objects left out of the targets, and why (their count is `dropped.length`). */
  readonly dropped: readonly DroppedVocObject[];
  readonly #index: VocIndex;
  readonly #transforms: DetectionTransformRunner<VocTarget>;

  /** `source` is the folder holding `VOCdevkit/`, or an index {@link readVocIndex} made (e.g. filtered). */
  constructor(source: string | VocIndex, options: VOCDetectionOptions = {}) {
    this.#index = typeof source === 'string' ? readVocIndex(source, options) : source;
    this.vocRoot = this.#index.vocRoot;
    this.length = this.#index.images.length;
    this.ids = this.#index.images.map((image) => image.id);
    this.classes = this.#index.classes;
    this.dropped = this.#index.dropped;
    this.#transforms = new DetectionTransformRunner(options.transforms, 'VOCDetection');
  }

  /** The checked index items are read from. */
  get index(): VocIndex {
    return this.#index;
  }

  /** Item `index`: the JPEG as float32 `[3, H, W]` in [0, 1] and its target (then `transforms`). */
  async get(index: number): Promise<[Tensor, VocTarget]> {
    const image = this.#index.images[index];
    if (!image) throw new ArgumentError(`VOCDetection: index ${index} is out of range for ${this.length} images`);
    const path = join(this.vocRoot, 'JPEGImages', `${image.id}.jpg`);
    const { data, shape } = await decodeImage(path, {}, 'VOCDetection');
    if (shape[1] !== image.height || shape[2] !== image.width) {
      throw new FormatError(`VOCDetection: ${path} is ${shape[2]}x${shape[1]}, but Annotations/${image.id}.xml gives its <size> as ${image.width}x${image.height}`);
    }
    const k = image.labels.length;
    const target: VocTarget = {
      boxes: fromTypedArray(Float32Array.from(image.boxes), [k, 4]),
      labels: fromTypedArray(Int32Array.from(image.labels)),
      difficult: fromTypedArray(Uint8Array.from(image.difficult)),
      imageId: image.id,
    };
    return this.#transforms.apply(fromTypedArray(data, shape), target);
  }

  /** How workers rebuild this dataset: the parsed annotations; fails for function transforms. */
  async workerSpec(): Promise<ModuleRef> {
    await loadSharp(); // in the main thread before any worker loads it (see loadSharp)
    const args: VocWorkerArgs = { index: this.#index, transforms: this.#transforms.toRef() };
    return { module: import.meta.url, exportName: 'vocWorkerDataset', args };
  }
}

/**
 * Worker factory of {@link VOCDetection}: the same annotations, images decoded in the
 * worker, batched by the detection collate.
 *
 * @example
 * const { dataset, collate } = vocWorkerDataset({ index: readVocIndex('data'), transforms: undefined });
 */
export function vocWorkerDataset(args: VocWorkerArgs): WorkerDatasetParts<[Tensor, VocTarget], DetectionBatch<VocTarget>> {
  return { dataset: new VOCDetection(args.index, { transforms: args.transforms }), collate: detectionCollateFactory() };
}
