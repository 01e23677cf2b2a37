// lib/data/detection_collate.ts: [image, target] items to [images, targets], in-process and
// as the WorkerCollate a DataLoader sends to its workers.
import { expect, it } from 'vitest';

import { ArgumentError, data, tensor, zeros, type Tensor } from '../../lib/index.js';

it('keeps images of different sizes apart and targets in item order, as zip(*batch)', () => {
  const a = zeros([3, 4, 5]);
  const b = zeros([3, 6, 2]);
  const ta = { boxes: tensor([[0, 0, 1, 1]], { dtype: 'float32' }), imageId: 1 };
  const tb = { boxes: tensor([[1, 1, 2, 2]], { dtype: 'float32' }), imageId: 2 };
  const [images, targets] = data.detectionCollate([
    [a, ta],
    [b, tb],
  ]);
  expect(images).toEqual([a, b]);
  expect(images[1]!.shape).toEqual([3, 6, 2]);
  expect(targets.map((t) => t.imageId)).toEqual([1, 2]);
  expect(targets[0]).toBe(ta);
});

it('carries a workerRef that rebuilds the same collate', async () => {
  const ref = data.detectionCollate.workerRef;
  const factory = ((await import(ref.module)) as Record<string, () => typeof data.detectionCollate>)[ref.exportName]!;
  const image = zeros([1, 2, 2]);
  expect(factory()([[image, 'target']])).toEqual([[image], ['target']]);
});

it('refuses an empty batch and items that are not [image, target]', () => {
  expect(() => data.detectionCollate([])).toThrow(ArgumentError);
  expect(() => data.detectionCollate([])).toThrow('detectionCollate: expected at least one item, got 0');
  expect(() => data.detectionCollate([[zeros([1]), 1], [zeros([1])] as unknown as [Tensor, number]])).toThrow(/item 1 to be \[image, target\]/);
});
