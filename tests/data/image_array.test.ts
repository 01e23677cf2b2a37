// lib/data/image_array.ts: uint8 images and labels in memory, batched by a normalising
// collate without per-item tensors.
import { expect, it } from 'vitest';

import { imageArrayCollate, imageArrayWorkerDataset } from '../../lib/data/image_array.js';
import { ArgumentError, data } from '../../lib/index.js';

it('image datasets collate uint8 pixels into normalised float batches', () => {
  const images = { shape: [2, 2, 2], data: Uint8Array.from([0, 255, 51, 102, 255, 255, 0, 0]) };
  const dataset = new data.ImageArrayDataset(images, Uint8Array.from([3, 7]));
  const [x, y] = dataset.collate(0.5, 0.5)([dataset.get(0), dataset.get(1)]);
  expect(x!.shape).toEqual([2, 1, 2, 2]);
  expect((x!.tolist() as number[][][][])[0]![0]![0]).toEqual([-1, 1]);
  expect(y!.tolist()).toEqual([3, 7]);
});

it('images may be [N, H, W] (one channel) or [N, C, H, W]; a mismatch names what is wrong', () => {
  const gray = new data.ImageArrayDataset({ shape: [2, 1, 3], data: new Uint8Array(6) }, new Int32Array([0, 1]));
  expect([gray.length, gray.itemShape]).toEqual([2, [1, 1, 3]]);
  const color = new data.ImageArrayDataset({ shape: [1, 3, 1, 1], data: Uint8Array.from([1, 2, 3]) }, Uint8Array.from([5]));
  expect(color.itemShape).toEqual([3, 1, 1]);
  expect(Array.from(color.get(0)[0])).toEqual([1, 2, 3]);
  expect(() => new data.ImageArrayDataset({ shape: [2, 3], data: new Uint8Array(6) }, new Uint8Array(2))).toThrow(ArgumentError);
  expect(() => new data.ImageArrayDataset({ shape: [2, 3], data: new Uint8Array(6) }, new Uint8Array(2))).toThrow(
    'ImageArrayDataset: expected images to be { shape: [N, H, W] or [N, C, H, W], data: Uint8Array }',
  );
  expect(() => new data.ImageArrayDataset({ shape: [2, 2, 2], data: new Uint8Array(7) }, new Uint8Array(2))).toThrow(
    'ImageArrayDataset: images of shape [2, 2, 2] need 8 bytes, got 7',
  );
  expect(() => new data.ImageArrayDataset({ shape: [2, 2, 2], data: new Uint8Array(8) }, new Uint8Array(3))).toThrow('ImageArrayDataset: 2 images but 3 labels');
});

it('workers get the images in a SharedArrayBuffer, copied once, and rebuild the same dataset', async () => {
  const pixels = Uint8Array.from([0, 255, 51, 102]);
  const dataset = new data.ImageArrayDataset({ shape: [2, 1, 2], data: pixels }, Uint8Array.from([3, 7]));
  const spec = dataset.workerSpec();
  const args = spec.args as Parameters<typeof imageArrayWorkerDataset>[0];
  expect(args.images.data.buffer).toBeInstanceOf(SharedArrayBuffer);
  expect(Array.from(args.images.data)).toEqual(Array.from(pixels));
  expect((dataset.workerSpec().args as typeof args).images.data).toBe(args.images.data); // not copied again
  const sharedAlready = new data.ImageArrayDataset({ shape: [2, 1, 2], data: args.images.data }, Uint8Array.from([3, 7]));
  expect((sharedAlready.workerSpec().args as typeof args).images.data).toBe(args.images.data);
  const rebuilt = imageArrayWorkerDataset(args);
  const [x, y] = await rebuilt.collate!(await Promise.all([rebuilt.dataset.get(0), rebuilt.dataset.get(1)]));
  expect(Array.from(x.dataSync())).toEqual([0, 1, 0.2, 0.4].map(Math.fround));
  expect(y.tolist()).toEqual([3, 7]);
  // The normalising collate carries a ref that builds the same function in a worker.
  const collate = dataset.collate(0.5, 0.5);
  expect(collate.workerRef.exportName).toBe('imageArrayCollate');
  const inWorker = imageArrayCollate(collate.workerRef.args as Parameters<typeof imageArrayCollate>[0]);
  expect(inWorker([dataset.get(0)])[0].tolist()).toEqual(collate([dataset.get(0)])[0].tolist());
});
