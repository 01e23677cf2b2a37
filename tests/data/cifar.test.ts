import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, expect, it } from 'vitest';

import { ArgumentError, data, FormatError, type Tensor } from '../../lib/index.js';
import { cifar10, pixel, records } from '../helpers/cifar_files.js';

const root = mkdtempSync(join(tmpdir(), 'neocog-cifar-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const image = (t: Tensor) => t.tolist() as number[][][];

it('reads CIFAR-10 binary files: labels, R/G/B planes, class names', () => {
  const dir = join(root, 'c10');
  cifar10(dir);
  const train = data.readCifar(dir);
  expect(train.images.shape).toEqual([10, 3, 32, 32]);
  expect(Array.from(train.labels)).toEqual([1, 8, 2, 7, 3, 6, 4, 5, 5, 4]);
  expect(train.classes).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j']);
  const at = (n: number, c: number, p: number) => train.images.data[n * 3072 + c * 1024 + p];
  expect([at(3, 0, 0), at(3, 1, 5), at(9, 2, 1023)]).toEqual([pixel(3, 0, 0), pixel(3, 1, 5), pixel(9, 2, 1023)]);
  const test = data.readCifar(join(dir, 'cifar-10-batches-bin'), { train: false });
  expect(Array.from(test.labels)).toEqual([0, 1, 2]);

  // ready for ImageArrayDataset
  const dataset = new data.ImageArrayDataset(test.images, test.labels);
  const [x, y] = dataset.collate()([dataset.get(1), dataset.get(2)]);
  expect(x!.shape).toEqual([2, 3, 32, 32]);
  expect(image(x!.slice(0, 0, 1).squeeze(0))[1]![0]![1]).toBeCloseTo(pixel(1, 1, 1) / 255, 6);
  expect(y!.tolist()).toEqual([1, 2]);
});

it('reads CIFAR-100 with fine or coarse labels, and falls back to the official class names', () => {
  const folder = join(root, 'c100', 'cifar-100-binary');
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'train.bin'), records(0, [[3, 99], [19, 0]]));
  writeFileSync(join(folder, 'test.bin'), records(0, [[1, 2]]));
  const fine = data.readCifar(join(root, 'c100'), { variant: 'cifar100' });
  expect(Array.from(fine.labels)).toEqual([99, 0]);
  expect(fine.classes).toHaveLength(100);
  expect([fine.classes[0], fine.classes[99]]).toEqual(['apple', 'worm']);
  const coarse = data.readCifar(join(root, 'c100'), { variant: 'cifar100', labelKind: 'coarse' });
  expect(Array.from(coarse.labels)).toEqual([3, 19]);
  expect(coarse.classes).toHaveLength(20);
  expect(fine.images.data[3072 + 1024]).toBe(pixel(1, 1, 0));
  const noMeta = join(root, 'c10-nometa');
  cifar10(noMeta, false);
  expect(data.readCifar(noMeta).classes).toEqual(['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']);
});

it('names the file that is truncated or malformed, and what is missing', () => {
  expect(() => data.readCifar(join(root, 'nowhere'))).toThrow(ArgumentError);
  expect(() => data.readCifar(join(root, 'nowhere'))).toThrow(/data_batch_1\.bin.*test|cifar-10-batches-bin/);
  const partial = cifar10(join(root, 'partial'));
  rmSync(join(partial, 'data_batch_4.bin'));
  expect(() => data.readCifar(partial)).toThrow(/lacks data_batch_4\.bin/);

  const truncated = cifar10(join(root, 'truncated'));
  truncateSync(join(truncated, 'data_batch_3.bin'), 3073 + 100);
  expect(() => data.readCifar(truncated)).toThrow(FormatError);
  expect(() => data.readCifar(truncated)).toThrow(/data_batch_3\.bin holds 3173 bytes, not a whole number of 3073-byte/);

  const badLabel = cifar10(join(root, 'bad-label'));
  writeFileSync(join(badLabel, 'test_batch.bin'), records(0, [[10]]));
  expect(() => data.readCifar(badLabel, { train: false })).toThrow(/label 10/);
  writeFileSync(join(badLabel, 'batches.meta.txt'), 'a\nb\n');
  expect(() => data.readCifar(badLabel)).toThrow(/should name 10 classes, found 2/);
});
