import { expect, it } from 'vitest';

import { ArgumentError, memory, nn, ShapeError, tensor, viz } from '../../lib/index.js';

it('8 grey 5x5 filters of a Conv2d: a [1, 3*(5*2+1)+1, 3*(5*2+1)+1] grid, each filter spanning 0..255', () => {
  const conv = new nn.Conv2d(1, 8, 5);
  const grid = viz.filters(conv, { padding: 1, scale: 2 });
  expect(grid.dtype).toBe('uint8');
  expect(grid.shape).toEqual([1, 34, 34]);
  const rows = (grid.tolist() as number[][][])[0]!;
  const tile = rows.slice(1, 11).flatMap((r) => r.slice(1, 11));
  expect(Math.min(...tile)).toBe(0);
  expect(Math.max(...tile)).toBe(255);
  expect(conv.weight.grad).toBeNull();
});

it('RGB filters from a weight tensor; global normalisation keeps relative strength', () => {
  const weight = tensor(Float32Array.from({ length: 2 * 3 * 2 * 2 }, (_, i) => (i < 12 ? 0.1 * i : 10 * i)), { shape: [2, 3, 2, 2] });
  const grid = viz.filters(weight, { padding: 0, nrow: 2, normalize: 'global' });
  expect(grid.shape).toEqual([3, 2, 4]);
  const values = grid.tolist() as number[][][];
  // The weak first filter is near black next to the strong second one.
  expect(Math.max(...values.flatMap((c) => c.flatMap((r) => r.slice(0, 2))))).toBeLessThan(3);
  const perFilter = viz.filters(weight, { padding: 0, nrow: 2 }).tolist() as number[][][];
  expect(Math.max(...perFilter.flatMap((c) => c.flatMap((r) => r.slice(0, 2))))).toBe(255);
});

it('leaks no tensors; bad input is a typed error naming the argument', () => {
  const conv = new nn.Conv2d(3, 4, 3);
  viz.filters(conv).dispose();
  const before = memory('cpu').tensors;
  viz.filters(conv).dispose();
  expect(memory('cpu').tensors).toBe(before);
  expect(() => viz.filters(new nn.Conv2d(4, 4, 3))).toThrow(ShapeError);
  expect(() => viz.filters(new nn.Conv2d(4, 4, 3))).toThrow(/filters: expected conv's weight of shape \[outChannels, 1 or 3, kH, kW\]/);
  expect(() => viz.filters(conv, { normalize: 'none' as 'global' })).toThrow(ArgumentError);
  expect(() => viz.filters(new nn.Linear(2, 2) as unknown as nn.Conv2d)).toThrow(/filters: expected conv to be a Conv2d or its weight tensor/);
});
