// lib/data/worker_dataset.ts: what makes a dataset or a collate able to go to workers, and
// the rebuilding of a dataset from its spec (run here in-process, as a worker would).
import { expect, it } from 'vitest';

import { buildWorkerParts, collatedWorkerDataset, withWorkerCollate } from '../../lib/data/worker_dataset.js';
import { data, tensor, type Tensor } from '../../lib/index.js';

const fixtureModule = new URL('./worker_datasets.fixture.ts', import.meta.url).href;
const numbersSpec = { module: fixtureModule, exportName: 'numbers', args: { n: 4 } };

it('a worker dataset has workerSpec(); a worker collate carries a ModuleRef', () => {
  expect(data.isWorkerDataset({ length: 1, get: () => 0, workerSpec: () => numbersSpec })).toBe(true);
  expect(data.isWorkerDataset({ length: 1, get: () => 0 })).toBe(false);
  expect(data.isWorkerDataset(null)).toBe(false);
  const collate = Object.assign((items: unknown[]) => items.length, { workerRef: { module: fixtureModule, exportName: 'records' } });
  expect(data.isWorkerCollate(collate)).toBe(true);
  expect(data.isWorkerCollate((items: unknown[]) => items.length)).toBe(false);
  expect(data.isWorkerCollate(Object.assign(() => 0, { workerRef: { module: fixtureModule } }))).toBe(false);
  expect(data.isWorkerCollate({ workerRef: numbersSpec })).toBe(false); // not a function
});

it('buildWorkerParts rebuilds the dataset a spec describes', async () => {
  const { dataset, collate } = await buildWorkerParts(numbersSpec, 'Subset worker');
  expect(dataset.length).toBe(4);
  const [image, label] = (await dataset.get(3)) as [Tensor, number];
  expect([image.tolist(), label]).toEqual([[3, 6], 3]);
  expect(collate).toBeUndefined(); // the default, stackCollate, is the worker's to apply
});

it('a factory that returns no dataset is a TypeError naming the caller and the factory', async () => {
  // node:path's basename returns a string, not { dataset, collate? }.
  await expect(buildWorkerParts({ module: 'node:path', exportName: 'basename', args: '/a' }, 'ConcatDataset worker')).rejects.toThrow(TypeError);
  await expect(buildWorkerParts({ module: 'node:path', exportName: 'basename', args: '/a' }, 'ConcatDataset worker')).rejects.toThrow(
    'ConcatDataset worker: node:path#basename should return { dataset, collate? }',
  );
});

it("withWorkerCollate replaces the source's collate with the one its ref builds", async () => {
  const spec = withWorkerCollate(numbersSpec, { module: fixtureModule, exportName: 'records', args: { n: 4 } });
  expect(spec.exportName).toBe('collatedWorkerDataset');
  // `records` builds { dataset, collate }, not a collate: the worker says what it got.
  await expect(collatedWorkerDataset(structuredClone(spec.args) as never)).rejects.toThrow(
    /^DataLoader worker: .*worker_datasets\.fixture\.ts#records should return a collate function, got object$/,
  );
  // A factory that returns a function: image_transforms.fixture.ts's scale (any function will do).
  const scaleRef = { module: new URL('./image_transforms.fixture.ts', import.meta.url).href, exportName: 'scale', args: { factor: 2 } };
  const parts = await collatedWorkerDataset(structuredClone(withWorkerCollate(numbersSpec, scaleRef).args) as never);
  expect(parts.dataset.length).toBe(4);
  expect((parts.collate!(tensor([1, 2], { dtype: 'float32' }) as never) as Tensor).tolist()).toEqual([2, 4]);
});
