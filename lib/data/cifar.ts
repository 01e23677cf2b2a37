/**
 * Reader for the binary versions of CIFAR-10 and CIFAR-100 (the `cifar-10-binary.tar.gz`
 * and `cifar-100-binary.tar.gz` archives, extracted). Each file is a run of fixed-size
 * records: the label byte(s), then 3072 pixel bytes, the red, green and blue 32x32 planes.
 * @module
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { ArgumentError, FormatError } from '../errors.js';

/** Which CIFAR: CIFAR-10 has one label byte per record, CIFAR-100 two (coarse, fine). */
export type CifarVariant = 'cifar10' | 'cifar100';

/** Options of {@link readCifar}. */
export interface CifarReadOptions {
  /** The training files (default) or the test file. */
  train?: boolean;
  /** Default `'cifar10'`. */
  variant?: CifarVariant;
  /** CIFAR-100 only: the 100 fine classes (default) or the 20 coarse superclasses. */
  labelKind?: 'fine' | 'coarse';
}

/** Images `[N, 3, 32, 32]` as uint8, labels and class names: ready for `ImageArrayDataset`. */
export interface CifarArrays {
  images: { shape: [number, 3, 32, 32]; data: Uint8Array };
  labels: Uint8Array;
  classes: string[];
}

const PIXELS = 3 * 32 * 32;

interface Layout {
  folder: string;
  train: string[];
  test: string[];
  labelBytes: number;
  classFiles: { fine: string; coarse: string };
}

const layouts: Record<CifarVariant, Layout> = {
  cifar10: {
    folder: 'cifar-10-batches-bin',
    train: [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`),
    test: ['test_batch.bin'],
    labelBytes: 1,
    classFiles: { fine: 'batches.meta.txt', coarse: 'batches.meta.txt' },
  },
  cifar100: {
    folder: 'cifar-100-binary',
    train: ['train.bin'],
    test: ['test.bin'],
    labelBytes: 2,
    classFiles: { fine: 'fine_label_names.txt', coarse: 'coarse_label_names.txt' },
  },
};

/** Class names used when the archive's names file is missing. */
const defaultClasses: Record<'cifar10' | 'fine' | 'coarse', string> = {
  cifar10: 'airplane automobile bird cat deer dog frog horse ship truck',
  coarse:
    'aquatic_mammals fish flowers food_containers fruit_and_vegetables household_electrical_devices household_furniture insects ' +
    'large_carnivores large_man-made_outdoor_things large_natural_outdoor_scenes large_omnivores_and_herbivores medium_mammals ' +
    'non-insect_invertebrates people reptiles small_mammals trees vehicles_1 vehicles_2',
  fine:
    'apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus butterfly camel can castle caterpillar ' +
    'cattle chair chimpanzee clock cloud cockroach couch crab crocodile cup dinosaur dolphin elephant flatfish forest fox girl ' +
    'hamster house kangaroo keyboard lamp lawn_mower leopard lion lizard lobster man maple_tree motorcycle mountain mouse mushroom ' +
    'oak_tree orange orchid otter palm_tree pear pickup_truck pine_tree plain plate poppy porcupine possum rabbit raccoon ray road ' +
    'rocket rose sea seal shark shrew skunk skyscraper snail snake spider squirrel streetcar sunflower sweet_pepper table tank ' +
    'telephone television tiger tractor train trout tulip turtle wardrobe whale willow_tree wolf woman worm',
};

/** The folder holding the files: `root` itself or the archive's subfolder inside it. */
function findFolder(root: string, layout: Layout, files: string[]): string {
  const candidates = [root, join(root, layout.folder)];
  const folder = candidates.find((dir) => files.some((file) => existsSync(join(dir, file))));
  if (!folder) {
    throw new ArgumentError(`readCifar: found no ${files.join(', ')} in ${candidates.join(' or ')} (extract the binary archive there; nothing is downloaded)`);
  }
  const missing = files.filter((file) => !existsSync(join(folder, file)));
  if (missing.length > 0) throw new ArgumentError(`readCifar: ${folder} lacks ${missing.join(', ')}`);
  return folder;
}

function readClasses(folder: string, file: string, fallback: string, count: number): string[] {
  const path = join(folder, file);
  if (!existsSync(path)) return fallback.split(' ');
  const names = readFileSync(path, 'utf8')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
  if (names.length !== count) throw new FormatError(`readCifar: ${path} should name ${count} classes, found ${names.length}`);
  return names;
}

/**
 * Reads a CIFAR split from `root` (the folder with the `.bin` files, or the folder where
 * the archive was extracted). The images live in a SharedArrayBuffer, so DataLoader
 * workers share them instead of copying. Throws `ArgumentError` naming the files it
 * expected when they are missing, and `FormatError` naming the file when one is not a
 * whole number of records or holds a label out of range.
 */
export function readCifar(root: string, options: CifarReadOptions = {}): CifarArrays {
  const variant = options.variant ?? 'cifar10';
  const layout = layouts[variant];
  if (!layout) throw new ArgumentError(`readCifar: expected variant 'cifar10' or 'cifar100', got ${String(variant)}`);
  const labelKind = options.labelKind ?? 'fine';
  if (labelKind !== 'fine' && labelKind !== 'coarse') throw new ArgumentError(`readCifar: expected labelKind 'fine' or 'coarse', got ${String(labelKind)}`);
  const files = (options.train ?? true) ? layout.train : layout.test;
  const folder = findFolder(root, layout, files);
  const classCount = variant === 'cifar10' ? 10 : labelKind === 'fine' ? 100 : 20;
  const classes = readClasses(folder, layout.classFiles[labelKind], defaultClasses[variant === 'cifar10' ? 'cifar10' : labelKind], classCount);

  const recordSize = layout.labelBytes + PIXELS;
  const paths = files.map((file) => join(folder, file));
  const counts = paths.map((path) => {
    const { size } = statSync(path);
    if (size === 0 || size % recordSize !== 0) {
      throw new FormatError(`readCifar: ${path} holds ${size} bytes, not a whole number of ${recordSize}-byte ${variant} records`);
    }
    return size / recordSize;
  });
  const total = counts.reduce((a, b) => a + b, 0);
  const images = new Uint8Array(new SharedArrayBuffer(total * PIXELS));
  const labels = new Uint8Array(total);
  // CIFAR-100 records hold the coarse label first, then the fine one.
  const labelOffset = variant === 'cifar100' && labelKind === 'fine' ? 1 : 0;
  let n = 0;
  paths.forEach((path, f) => {
    const bytes = readFileSync(path);
    for (let r = 0; r < counts[f]!; ++r, ++n) {
      const record = r * recordSize;
      const label = bytes[record + labelOffset]!;
      if (label >= classCount) throw new FormatError(`readCifar: record ${r} of ${path} has label ${label}; expected < ${classCount}`);
      labels[n] = label;
      images.set(bytes.subarray(record + layout.labelBytes, record + recordSize), n * PIXELS);
    }
  });
  return { images: { shape: [total, 3, 32, 32], data: images }, labels, classes };
}
