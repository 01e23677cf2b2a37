// lib/data/cifar_dataset.ts: CIFAR10 / CIFAR100 as datasets of [image, label], with
// transforms, in-process and on workers.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, expect, it } from 'vitest';

import { data, type Tensor } from '../../lib/index.js';
import { cifar10, pixel, records } from '../helpers/cifar_files.js';

const root = mkdtempSync(join(tmpdir(), 'neocog-cifar-dataset-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const image = (t: Tensor) => t.tolist() as number[][][];

it('CIFAR10 yields float images with transforms, in-process and on workers alike', async () => {
  const dir = join(root, 'c10-dataset');
  cifar10(dir);
  mkdirSync(join(root, 'c100', 'cifar-100-binary'), { recursive: true });
  writeFileSync(join(root, 'c100', 'cifar-100-binary', 'train.bin'), records(0, [[3, 99], [19, 0]]));
  const plain = new data.CIFAR10(dir, { train: false });
  expect(plain.length).toBe(3);
  const [x, y] = await plain.get(2);
  expect(x.shape).toEqual([3, 32, 32]);
  expect(image(x)[2]![0]![3]).toBeCloseTo(pixel(2, 2, 3) / 255, 6);
  expect(y).toBe(2);

  const halve = new data.CIFAR10(dir, { transform: (t) => t.mul(0.5) });
  expect(image((await halve.get(0))[0])[0]![0]![0]).toBeCloseTo(pixel(0, 0, 0) / 510, 6);
  await expect(async () => {
    for await (const _ of new data.DataLoader(halve, { numWorkers: 1 }));
  }).rejects.toThrow(/transform given as a function cannot run in DataLoader workers/);

  const transform = { module: new URL('./image_transforms.fixture.ts', import.meta.url).href, exportName: 'scale', args: { factor: 2 } };
  const doubled = new data.CIFAR10(dir, { transform });
  const options = { batchSize: 4, shuffle: true, seed: 1 };
  const batches = async (loader: data.DataLoader<[Tensor, number]>) => {
    const out = [];
    for await (const [images, labels] of loader) out.push([images!.tolist(), labels!.tolist()]);
    return out;
  };
  const expected = await batches(new data.DataLoader(doubled, options));
  expect(expected).toHaveLength(3);
  expect(await batches(new data.DataLoader(doubled, { ...options, numWorkers: 2 }))).toEqual(expected);
  expect(new data.CIFAR100(join(root, 'c100'), { labelKind: 'coarse' }).classes).toHaveLength(20);
});
