import { gzipSync } from 'node:zlib';

import { expect, it } from 'vitest';

import { data, FormatError, tensor } from '../../lib/index.js';

function idx(shape: number[], values: number[]): Buffer {
  const header = Buffer.alloc(4 + 4 * shape.length);
  header.set([0, 0, 8, shape.length]);
  shape.forEach((s, i) => header.writeUInt32BE(s, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(values)]);
}

it('reads IDX files, plain and gzip-compressed', () => {
  const raw = idx([2, 2, 3], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  for (const bytes of [raw, gzipSync(raw)]) {
    const parsed = data.parseIdx(bytes);
    expect(parsed.shape).toEqual([2, 2, 3]);
    expect(Array.from(parsed.data)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  }
});

it('rejects malformed IDX data with FormatError', () => {
  expect(() => data.parseIdx(Buffer.from([1, 2, 3]))).toThrow(FormatError);
  expect(() => data.parseIdx(idx([3], [1, 2]))).toThrow(/should hold 3 values/);
  expect(() => data.parseIdx(Buffer.from([0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0]))).toThrow(/only unsigned bytes/);
  expect(() => data.parseIdx(Buffer.from([0x1f, 0x8b, 0, 0]))).toThrow(/not a valid gzip/);
});

it('the data loader batches, drops the last partial batch on request and is deterministic with a seed', async () => {
  const x = tensor(Array.from({ length: 10 }, (_, i) => i));
  const dataset = new data.TensorDataset([x]);
  const orderOf = async (loader: data.DataLoader) => {
    const seen: number[] = [];
    for await (const [batch] of loader) {
      seen.push(...(batch!.tolist() as number[]));
      batch!.dispose();
    }
    return seen;
  };
  const plain = new data.DataLoader(dataset, { batchSize: 4 });
  expect(plain.length).toBe(3);
  expect(await orderOf(plain)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  expect(new data.DataLoader(dataset, { batchSize: 4, dropLast: true }).length).toBe(2);

  const a = new data.DataLoader(dataset, { batchSize: 3, shuffle: true, seed: 5 });
  const b = new data.DataLoader(dataset, { batchSize: 3, shuffle: true, seed: 5 });
  const first = await orderOf(a);
  expect(first).toEqual(await orderOf(b));
  expect([...first].sort((p, q) => p - q)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  expect(first).not.toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  expect(await orderOf(a)).not.toEqual(first); // a new order each epoch
});

it('iterable datasets (generators, async iterables) batch in their own order, again each epoch', async () => {
  const stream = {
    async *[Symbol.asyncIterator]() {
      for (let i = 0; i < 7; ++i) yield [tensor([i]), i % 2] as [ReturnType<typeof tensor>, number];
    },
  };
  const loader = new data.DataLoader(stream, { batchSize: 3 });
  expect(Number.isNaN(loader.length)).toBe(true);
  for (let epoch = 0; epoch < 2; ++epoch) {
    const seen: number[][] = [];
    for await (const [x, y] of loader) {
      seen.push(x!.flatten().tolist() as number[]);
      expect(y!.dtype).toBe('int32');
      x!.dispose();
      y!.dispose();
    }
    expect(seen).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
  }
  const sums: number[] = [];
  for await (const batch of new data.DataLoader([1, 2, 3, 4, 5], { batchSize: 2, dropLast: true, collate: (items) => items.reduce((a, b) => a + b, 0) })) sums.push(batch);
  expect(sums).toEqual([3, 7]);
  expect(() => new data.DataLoader(stream, { shuffle: true })).toThrow(/cannot be shuffled/);
  expect(() => new data.DataLoader(stream, { numWorkers: 2 })).toThrow(/map-style/);
  expect(() => new data.DataLoader(42 as never)).toThrow(/expected a dataset/);
});

it('image datasets collate uint8 pixels into normalised float batches', () => {
  const images = { shape: [2, 2, 2], data: Uint8Array.from([0, 255, 51, 102, 255, 255, 0, 0]) };
  const dataset = new data.ImageArrayDataset(images, Uint8Array.from([3, 7]));
  const [x, y] = dataset.collate(0.5, 0.5)([dataset.get(0), dataset.get(1)]);
  expect(x!.shape).toEqual([2, 1, 2, 2]);
  expect((x!.tolist() as number[][][][])[0]![0]![0]).toEqual([-1, 1]);
  expect(y!.tolist()).toEqual([3, 7]);
});
