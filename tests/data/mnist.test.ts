import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

import { afterAll, expect, it } from 'vitest';

import { data, FormatError, type Tensor } from '../../lib/index.js';
import { expectClose } from '../helpers/devices.js';

interface Split {
  length: number;
  classes: string[];
  items: Array<{ index: number; label: number; shape: number[]; sum: number; row14: number[] }>;
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/mnist.json', import.meta.url), 'utf8')) as { train: Split; test: Split };

const bundled = new URL('../../examples/data/fashion-mnist/', import.meta.url).pathname;
const subset = { images: 'train-subset-images-idx3-ubyte.gz', labels: 'train-subset-labels-idx1-ubyte.gz' };
const scratch = mkdtempSync(join(tmpdir(), 'neocog-mnist-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function expectItems(dataset: data.MnistDataset, split: Split): Promise<void> {
  expect(dataset.length).toBe(split.length);
  expect(dataset.classes).toEqual(split.classes);
  for (const item of split.items) {
    const [image, label] = await dataset.get(item.index);
    expect([image.dtype, image.shape, label]).toEqual(['float32', item.shape, item.label]);
    expectClose([image.sum().item()], [item.sum], 1e-5);
    expectClose(image.slice(1, 14, 15).reshape(-1).dataSync(), item.row14, 1e-6);
  }
}

it('FashionMNIST reads the bundled test split as torchvision does', async () => {
  await expectItems(new data.FashionMNIST(bundled, { train: false }), fixture.test);
});

it('FashionMNIST reads the bundled training subset by explicit file names', async () => {
  await expectItems(new data.FashionMNIST(bundled, { files: subset }), fixture.train);
});

it("MNIST finds plain (not gzipped) files in torchvision's root/MNIST/raw layout, with a transform", async () => {
  const raw = join(scratch, 'MNIST', 'raw');
  mkdirSync(raw, { recursive: true });
  writeFileSync(join(raw, 't10k-images-idx3-ubyte'), gunzipSync(readFileSync(join(bundled, 't10k-images-idx3-ubyte.gz'))));
  writeFileSync(join(raw, 't10k-labels-idx1-ubyte'), gunzipSync(readFileSync(join(bundled, 't10k-labels-idx1-ubyte.gz'))));
  const dataset = new data.MNIST(scratch, { train: false, transform: (x: Tensor) => x.mul(2) });
  expect(dataset.classes[3]).toBe('3 - three');
  const [image, label] = await dataset.get(0);
  expect(label).toBe(fixture.test.items[0]!.label);
  expectClose([image.sum().item()], [2 * fixture.test.items[0]!.sum], 1e-5);
  const loader = new data.DataLoader(new data.Subset(dataset, [0, 1, 4321]), { batchSize: 3 });
  for await (const [x, y] of loader) {
    expect([x.shape, y.dtype, y.tolist()]).toEqual([[3, 1, 28, 28], 'int32', fixture.test.items.slice(0, 3).map((i) => i.label)]);
  }
});

it('a missing or truncated file is a FormatError naming it', () => {
  expect(() => new data.MNIST(scratch)).toThrow(FormatError);
  expect(() => new data.MNIST(scratch)).toThrow(/MNIST: found no train-images-idx3-ubyte or train-images-idx3-ubyte\.gz in /);
  expect(() => new data.FashionMNIST(bundled, { files: { images: 'nothing.gz', labels: subset.labels } })).toThrow(/FashionMNIST: found no nothing\.gz/);

  const broken = join(scratch, 'broken');
  mkdirSync(broken);
  const images = gunzipSync(readFileSync(join(bundled, 't10k-images-idx3-ubyte.gz')));
  writeFileSync(join(broken, 't10k-images-idx3-ubyte.gz'), gzipSync(images.subarray(0, 16 + 28 * 28 * 5 - 3)));
  writeFileSync(join(broken, 't10k-labels-idx1-ubyte.gz'), readFileSync(join(bundled, 't10k-labels-idx1-ubyte.gz')));
  expect(() => new data.FashionMNIST(broken, { train: false })).toThrow(FormatError);
  expect(() => new data.FashionMNIST(broken, { train: false })).toThrow(/FashionMNIST: .*t10k-images-idx3-ubyte\.gz/);

  // Images and labels that disagree in count.
  writeFileSync(join(broken, 'few-labels'), Buffer.from([0, 0, 8, 1, 0, 0, 0, 2, 1, 2]));
  expect(() => new data.FashionMNIST(bundled, { train: false, files: { images: 't10k-images-idx3-ubyte.gz', labels: join(broken, 'few-labels') } })).toThrow(
    /holds 10000 images but .*few-labels holds 2 labels/,
  );
});
