import { expect, it } from 'vitest';

import { ArgumentError, memory, ShapeError, tensor, viz, zeros } from '../../lib/index.js';
import { rescale } from '../../lib/viz/grid.js';

it('makeGrid: 5 tiles [5, 1, 2, 3] in rows of 3 with padding 1: [1, 2*3+1, 3*4+1]; tiles in row order, the rest padding', () => {
  const tiles = tensor(Float32Array.from({ length: 5 * 6 }, (_, i) => Math.floor(i / 6) / 4), { shape: [5, 1, 2, 3] });
  const grid = viz.makeGrid(tiles, { nrow: 3, padding: 1, padValue: 1 });
  expect(grid.dtype).toBe('uint8');
  expect(grid.shape).toEqual([1, 7, 13]);
  const rows = (grid.tolist() as number[][][])[0]!;
  expect(rows[0]).toEqual(new Array(13).fill(255)); // top padding
  expect(rows[1]!.slice(0, 5)).toEqual([255, 0, 0, 0, 255]); // tile 0
  expect(rows[1]!.slice(5, 9)).toEqual([64, 64, 64, 255]); // tile 1: 1/4
  expect(rows[4]!.slice(5, 9)).toEqual([255, 255, 255, 255]); // tile 4 is 1, next to the empty sixth cell
  expect(rows[4]!.slice(9, 13)).toEqual([255, 255, 255, 255]);
  expect(rows[4]![1]).toBe(191); // tile 3: 3/4
});

it('makeGrid: RGB uint8 tiles, default square-ish layout, scale enlarges each tile', () => {
  const tiles = tensor(new Uint8Array(4 * 3 * 2 * 2).fill(7), { shape: [4, 3, 2, 2] });
  expect(viz.makeGrid(tiles).shape).toEqual([3, 2 * 4 + 2, 2 * 4 + 2]);
  expect(viz.makeGrid(tiles, { scale: 3, padding: 0 }).shape).toEqual([3, 12, 12]);
  expect(new Set((viz.makeGrid(tiles, { padding: 0 }).tolist() as number[][][]).flat(2))).toEqual(new Set([7]));
});

it('rescale: min-max to [0, 1], per slice along dims or overall; constant parts become 0', () => {
  const t = tensor([[[1, 3]], [[5, 5]]], { dtype: 'float32' });
  expect(rescale(t, [1, 2]).tolist()).toEqual([[[0, 1]], [[0, 0]]]);
  expect(rescale(t).tolist()).toEqual([[[0, 0.5]], [[1, 1]]]);
});

it('leaks no tensors; bad input is a typed error naming the argument', () => {
  const tiles = zeros([2, 1, 3, 3]);
  viz.makeGrid(tiles).dispose();
  const before = memory('cpu').tensors;
  viz.makeGrid(tiles, { nrow: 1 }).dispose();
  expect(memory('cpu').tensors).toBe(before);
  expect(() => viz.makeGrid(zeros([2, 2, 3, 3]))).toThrow(ShapeError);
  expect(() => viz.makeGrid(zeros([2, 2, 3, 3]))).toThrow(/makeGrid: expected tiles of shape \[N, C, h, w\] with C 1 or 3/);
  expect(() => viz.makeGrid(tiles, { nrow: 0 })).toThrow(ArgumentError);
  expect(() => viz.makeGrid(tiles, { padValue: 2 })).toThrow(/makeGrid: expected padValue in \[0, 1\], got 2/);
});
