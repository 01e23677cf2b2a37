import { expect, it } from 'vitest';

import { ArgumentError, data, FormatError, tensor, type Tensor } from '../../lib/index.js';
import * as fixtures from './worker_datasets.fixture.js';

const fixtureModule = new URL('./worker_datasets.fixture.ts', import.meta.url).href;

type Factory = keyof typeof fixtures;

/** The fixture dataset in this thread, able to describe itself to workers. */
async function workerReady<A>(exportName: Factory, args: A) {
  const { dataset } = await (fixtures[exportName] as (a: A) => data.WorkerDatasetParts<[Tensor, number]> | Promise<data.WorkerDatasetParts<[Tensor, number]>>)(args);
  return Object.assign(dataset, { workerSpec: () => ({ module: fixtureModule, exportName, args }) });
}

/** Every batch of one epoch as plain arrays. */
async function epoch(loader: data.DataLoader<[Tensor, number]>): Promise<Array<[number[][], number[]]>> {
  const out: Array<[number[][], number[]]> = [];
  for await (const [x, y] of loader) {
    out.push([x!.tolist() as number[][], y!.tolist() as number[]]);
    x!.dispose();
    y!.dispose();
  }
  return out;
}

it('workers yield the same batches, in the same order, as in-process loading', async () => {
  const dataset = await workerReady('numbers', { n: 23 });
  const options = { batchSize: 4, shuffle: true, seed: 7 };
  const inProcess = new data.DataLoader(dataset, options);
  await using threaded = new data.DataLoader(dataset, { ...options, numWorkers: 2, prefetchFactor: 3, persistentWorkers: true });
  for (let e = 0; e < 2; ++e) {
    const expected = await epoch(inProcess);
    expect(expected).toHaveLength(6);
    expect(await epoch(threaded)).toEqual(expected); // epoch 2 reshuffles the same way too
  }
});

it('random augmentation in workers is seeded per batch: the same whatever the number of workers', async () => {
  const dataset = await workerReady('numbers', { n: 12, noise: true });
  const run = (numWorkers: number) => epoch(new data.DataLoader(dataset, { batchSize: 3, shuffle: true, seed: 3, numWorkers }));
  const one = await run(1);
  expect(await run(3)).toEqual(one);
  const [first] = one[0]!;
  expect(first[0]![0]! % 1).not.toBe(0); // the noise was applied
});

it('batches can be records of tensors of any dtype, built by the factory collate', async () => {
  const dataset = await workerReady('records', { n: 5 });
  const loader = new data.DataLoader(dataset as data.Dataset<[Tensor, number]>, { batchSize: 3, numWorkers: 1 }) as unknown as data.DataLoader<
    [Tensor, number],
    { x: Tensor; label: Tensor; mask: Tensor; count: number }
  >;
  const batches = [];
  for await (const batch of loader) batches.push(batch);
  expect(batches.map((b) => b.count)).toEqual([3, 2]);
  expect(batches[0]!.x.dtype).toBe('float32');
  expect(batches[0]!.x.tolist()).toEqual([[0, 0], [1, 2], [2, 4]]);
  expect(batches[1]!.label.dtype).toBe('int32');
  expect(batches[0]!.mask.dtype).toBe('bool');
  expect(batches[0]!.mask.tolist()).toEqual([true, false, true]);
});

it('an error thrown in a worker surfaces in the iterator with its class and message', async () => {
  const loader = new data.DataLoader(await workerReady('failing', { n: 10, failAt: 6 }), { batchSize: 2, numWorkers: 2 });
  const seen: number[][] = [];
  const failure = (async () => {
    for await (const [, y] of loader) seen.push(y!.tolist() as number[]);
  })();
  await expect(failure).rejects.toThrow(FormatError);
  await expect(failure).rejects.toThrow('item 6 is corrupt');
  expect(seen).toEqual([[0, 1], [2, 3], [4, 5]]); // the batches before the failing one still came

  const broken = new data.DataLoader(await workerReady('numbers', { n: 4 }), { numWorkers: 1 });
  Object.assign(broken.dataset, { workerSpec: () => ({ module: fixtureModule, exportName: 'broken', args: {} }) });
  const start = (async () => {
    for await (const _ of broken);
  })();
  await expect(start).rejects.toThrow(RangeError);
  await expect(start).rejects.toThrow('cannot open the dataset');
});

it('rejects worker settings it cannot honour', async () => {
  const plain = new data.TensorDataset([tensor([1, 2])]);
  expect(() => new data.DataLoader(plain, { numWorkers: 2 })).toThrow(ArgumentError);
  const dataset = await workerReady('numbers', { n: 4 });
  expect(() => new data.DataLoader(dataset, { numWorkers: 1, collate: (items) => items })).toThrow(/collate/);
  expect(() => new data.DataLoader(dataset, { numWorkers: -1 })).toThrow(/numWorkers/);
  expect(() => new data.DataLoader(dataset, { numWorkers: 1, prefetchFactor: 0 })).toThrow(/prefetchFactor/);
  const relative = Object.assign(await workerReady('numbers', { n: 4 }), { workerSpec: () => ({ module: './fixture.js', exportName: 'numbers' }) });
  await expect(new data.DataLoader(relative, { numWorkers: 1 })[Symbol.asyncIterator]().next()).rejects.toThrow(/expected module to be a URL .* or an absolute path/);
});

it('Subset, randomSplit and ConcatDataset of worker datasets load in workers as in-process', async () => {
  const source = await workerReady('numbers', { n: 12 });
  const [train] = data.randomSplit(source, [0.75, 0.25], { seed: 2 });
  const joined = new data.ConcatDataset([new data.Subset(source, [11, 3]), await workerReady('numbers', { n: 3 })]);
  for (const dataset of [train!, joined]) {
    expect(data.isWorkerDataset(dataset)).toBe(true);
    const options = { batchSize: 2, shuffle: true, seed: 5 };
    const expected = await epoch(new data.DataLoader(dataset, options));
    expect(expected.flatMap(([, y]) => y)).toHaveLength(dataset.length);
    expect(await epoch(new data.DataLoader(dataset, { ...options, numWorkers: 2 }))).toEqual(expected);
  }
  const sampled = new data.DataLoader(source, { batchSize: 3, sampler: new data.WeightedRandomSampler(Array.from({ length: 12 }, (_, i) => i), 9, { seed: 1 }) });
  const threaded = new data.DataLoader(source, { batchSize: 3, numWorkers: 2, sampler: new data.WeightedRandomSampler(Array.from({ length: 12 }, (_, i) => i), 9, { seed: 1 }) });
  expect(await epoch(threaded)).toEqual(await epoch(sampled));
  const plain = new data.Subset({ length: 3, get: (i: number) => [tensor([i]), i] as [Tensor, number] }, [0]);
  expect(() => new data.DataLoader(plain, { numWorkers: 1 })).toThrow(/needs a dataset with workerSpec/);
});

it('ImageArrayDataset loads in workers with its normalising collate, sharing its images', async () => {
  const n = 10;
  const pixels = Uint8Array.from({ length: n * 2 * 3 }, (_, i) => (i * 37) % 256);
  const dataset = new data.ImageArrayDataset({ shape: [n, 2, 3], data: pixels }, Int32Array.from({ length: n }, (_, i) => i % 4));
  const options = { batchSize: 4, shuffle: true, seed: 9, collate: dataset.collate(0.5, 0.25) };
  const batches = async (loader: data.DataLoader<[Uint8Array, number], data.ImageArrayBatch>) => {
    const out: Array<[number[], number[]]> = [];
    for await (const [x, y] of loader) {
      expect(x.shape).toEqual([y.shape[0], 1, 2, 3]);
      out.push([Array.from(x.dataSync()), y.tolist() as number[]]);
    }
    return out;
  };
  const expected = await batches(new data.DataLoader(dataset, options));
  expect(expected).toHaveLength(3);
  expect(expected[0]![0][0]).not.toBe(Math.round(expected[0]![0][0]!)); // normalised floats
  await using threaded = new data.DataLoader(dataset, { ...options, numWorkers: 2, persistentWorkers: true });
  expect(await batches(threaded)).toEqual(expected);
  const spec = dataset.workerSpec();
  expect((spec.args as { images: { data: Uint8Array } }).images.data.buffer).toBeInstanceOf(SharedArrayBuffer);
  expect(dataset.workerSpec().args).toEqual(spec.args); // the shared copy is made once
  // Without a collate, workers batch with the dataset's own (unnormalised) collate.
  const plain = await batches(new data.DataLoader(dataset, { batchSize: 4, numWorkers: 1 }) as unknown as data.DataLoader<[Uint8Array, number], data.ImageArrayBatch>);
  expect(plain[0]![0].slice(0, 6)).toEqual(Array.from(pixels.subarray(0, 6), (v) => Math.fround(v / 255)));
  // A plain function collate still cannot go to workers.
  expect(() => new data.DataLoader(dataset, { numWorkers: 1, collate: (items) => items.length })).toThrow(/carries a workerRef/);
});

it('FashionMNIST loads in workers as in-process, its images shared', async () => {
  const fashion = new data.FashionMNIST(new URL('../../examples/data/fashion-mnist/', import.meta.url).pathname, { train: false });
  const spec = fashion.workerSpec();
  expect((spec.args as { arrays: data.MnistArrays }).arrays.images.data.buffer).toBeInstanceOf(SharedArrayBuffer);
  const subset = new data.Subset(fashion, [5, 9999, 0, 42, 7]);
  const sums = async (loader: data.DataLoader<[Tensor<'float32'>, number]>) => {
    const out: Array<[number[], number[]]> = [];
    for await (const [x, y] of loader) out.push([x.sum([1, 2, 3]).tolist() as number[], y.tolist() as number[]]);
    return out;
  };
  const expected = await sums(new data.DataLoader(subset, { batchSize: 2 }));
  expect(expected.flatMap(([, y]) => y)).toHaveLength(5);
  expect(await sums(new data.DataLoader(subset, { batchSize: 2, numWorkers: 2 }))).toEqual(expected);
});
