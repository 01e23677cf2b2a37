import { expect, it } from 'vitest';

import { ArgumentError, data, tensor } from '../../lib/index.js';

const { DistributedSampler } = data;

/** Every rank's indices for one epoch. */
function shares(length: number, numReplicas: number, opts: { shuffle?: boolean; dropLast?: boolean; seed?: number; epoch?: number } = {}): number[][] {
  return Array.from({ length: numReplicas }, (_, rank) => {
    const sampler = new DistributedSampler({ length }, { numReplicas, rank, shuffle: opts.shuffle ?? false, dropLast: opts.dropLast ?? false, seed: opts.seed ?? 0 });
    sampler.setEpoch(opts.epoch ?? 0);
    const indices = [...sampler];
    expect(indices).toHaveLength(sampler.length);
    return indices;
  });
}

it('DistributedSampler gives each index to exactly one rank when the dataset divides evenly', () => {
  expect(shares(12, 4)).toEqual([
    [0, 4, 8],
    [1, 5, 9],
    [2, 6, 10],
    [3, 7, 11],
  ]);
  const all = shares(12, 4, { shuffle: true, seed: 3 }).flat();
  expect(all.sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i));
});

it('DistributedSampler pads with indices from the start, as torch computes', () => {
  // torch: num_samples = ceil(10 / 3) = 4, total 12, indices 0..9 + [0, 1], rank r takes [r::3].
  expect(shares(10, 3)).toEqual([
    [0, 3, 6, 9],
    [1, 4, 7, 0],
    [2, 5, 8, 1],
  ]);
  // Fewer indices than ranks: the order repeats more than once, [0, 1, 0, 1, 0].
  expect(shares(2, 5)).toEqual([[0], [1], [0], [1], [0]]);
  expect(new DistributedSampler({ length: 10 }, { numReplicas: 3, rank: 0 })).toMatchObject({ length: 4, totalSize: 12 });
});

it('DistributedSampler with dropLast drops the tail, as torch computes', () => {
  // torch: num_samples = ceil((10 - 3) / 3) = 3, total 9: indices 0..8.
  expect(shares(10, 3, { dropLast: true })).toEqual([
    [0, 3, 6],
    [1, 4, 7],
    [2, 5, 8],
  ]);
  // Evenly divisible: nothing to drop.
  expect(shares(6, 3, { dropLast: true })).toEqual([
    [0, 3],
    [1, 4],
    [2, 5],
  ]);
  // Fewer indices than ranks: nothing left for anyone (0, not -0).
  const empty = new DistributedSampler({ length: 2 }, { numReplicas: 5, rank: 4, dropLast: true });
  expect(empty.length).toBe(0);
  expect([...empty]).toEqual([]);
  expect(shares(0, 2)).toEqual([[], []]);
});

it('DistributedSampler shuffles with one permutation across ranks, a new one per epoch', () => {
  const epoch0 = shares(23, 4, { shuffle: true, seed: 7 });
  // The ranks' shares interleave back into one permutation of 0..22 padded by its first element.
  const order = Array.from({ length: 24 }, (_, i) => epoch0[i % 4]![Math.floor(i / 4)]!);
  expect(order.slice(0, 23).sort((a, b) => a - b)).toEqual(Array.from({ length: 23 }, (_, i) => i));
  expect(order[23]).toBe(order[0]);
  expect(order.slice(0, 23)).not.toEqual(Array.from({ length: 23 }, (_, i) => i));
  // The same seed and epoch give the same order; another epoch, another order.
  expect(shares(23, 4, { shuffle: true, seed: 7 })).toEqual(epoch0);
  expect(shares(23, 4, { shuffle: true, seed: 7, epoch: 1 })).not.toEqual(epoch0);
  expect(shares(23, 4, { shuffle: true, seed: 8 })).not.toEqual(epoch0);
  // As in torch, the order follows seed + epoch.
  expect(shares(23, 4, { shuffle: true, seed: 6, epoch: 1 })).toEqual(epoch0);
});

it('DistributedSampler repeats an epoch until setEpoch, as torch does', () => {
  const sampler = new DistributedSampler({ length: 50 }, { numReplicas: 2, rank: 1 });
  const first = [...sampler];
  expect([...sampler]).toEqual(first);
  expect(sampler.epoch).toBe(0);
  sampler.setEpoch(1);
  expect(sampler.epoch).toBe(1);
  expect([...sampler]).not.toEqual(first);
});

it('DistributedSampler takes numReplicas and rank from the job', () => {
  const saved = { RANK: process.env.RANK, WORLD_SIZE: process.env.WORLD_SIZE };
  try {
    process.env.RANK = '2';
    process.env.WORLD_SIZE = '3';
    expect(new DistributedSampler({ length: 9 })).toMatchObject({ numReplicas: 3, rank: 2, shuffle: true, seed: 0, dropLast: false, length: 3 });
    expect(new DistributedSampler({ length: 9 }, { rank: 0 })).toMatchObject({ numReplicas: 3, rank: 0 });
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
});

it('DistributedSampler plugs into the DataLoader', async () => {
  const dataset = new data.TensorDataset([tensor([0, 10, 20, 30, 40])]);
  const seen: number[] = [];
  for (const rank of [0, 1]) {
    const sampler = new DistributedSampler(dataset, { numReplicas: 2, rank, shuffle: false });
    const loader = new data.DataLoader(dataset, { batchSize: 2, sampler });
    expect(loader.length).toBe(2);
    for await (const [x] of loader) seen.push(...(x.tolist() as number[]));
  }
  expect(seen).toEqual([0, 20, 40, 10, 30, 0]);
});

it('DistributedSampler rejects bad arguments', () => {
  const saved = { RANK: process.env.RANK, OMPI: process.env.OMPI_COMM_WORLD_RANK };
  delete process.env.RANK;
  delete process.env.OMPI_COMM_WORLD_RANK;
  try {
    expect(() => new DistributedSampler({ length: 4 })).toThrow(ArgumentError);
    expect(() => new DistributedSampler({ length: 4 })).toThrow(
      'DistributedSampler: this process is not part of a distributed job (no RANK or OMPI_COMM_WORLD_RANK in its environment): pass numReplicas and rank, or start it with neocog-run',
    );
    expect(() => new DistributedSampler({ length: 4 }, { numReplicas: 2 })).toThrow(/pass rank,/);
  } finally {
    if (saved.RANK !== undefined) process.env.RANK = saved.RANK;
    if (saved.OMPI !== undefined) process.env.OMPI_COMM_WORLD_RANK = saved.OMPI;
  }
  expect(() => new DistributedSampler({ length: 4 }, { numReplicas: 2, rank: 2 })).toThrow('DistributedSampler: expected rank to be an integer in [0, 1], got 2 (number)');
  expect(() => new DistributedSampler({ length: 4 }, { numReplicas: 2, rank: -1 })).toThrow(ArgumentError);
  expect(() => new DistributedSampler({ length: 4 }, { numReplicas: 0, rank: 0 })).toThrow('DistributedSampler: expected numReplicas to be a positive integer, got 0 (number)');
  expect(() => new DistributedSampler({ length: 4 }, { numReplicas: 1.5, rank: 0 })).toThrow(/numReplicas/);
  expect(() => new DistributedSampler({ length: 4 }, { numReplicas: 2, rank: 0, seed: -1 })).toThrow(/seed/);
  expect(() => new DistributedSampler({ length: 4 }, { numReplicas: 2, rank: 0, shuffle: 1 as never })).toThrow(/shuffle/);
  expect(() => new DistributedSampler({ length: 4 }, { numReplicas: 2, rank: 0, dropLast: 'no' as never })).toThrow(/dropLast/);
  expect(() => new DistributedSampler({ length: -1 }, { numReplicas: 2, rank: 0 })).toThrow(/expected dataset to have a length/);
  expect(() => new DistributedSampler(null as never, { numReplicas: 2, rank: 0 })).toThrow(ArgumentError);
  expect(() => new DistributedSampler({ length: 4 }, { numReplicas: 2, rank: 0 }).setEpoch(-1)).toThrow('DistributedSampler.setEpoch: expected epoch to be a non-negative integer, got -1 (number)');
});
