import { expect, it } from 'vitest';

import { ArgumentError, DTypeError, memory, scope, ShapeError, tensor, viz, zeros } from '../../lib/index.js';
import { MAGMA, TURBO, VIRIDIS } from '../../lib/viz/colormap_data.js';

const bytes = (table: readonly number[], i: number) => table.slice(3 * i, 3 * i + 3).map((v) => Math.trunc(v * 255));
const pixel = (rgb: number[][][], y: number, x: number) => [rgb[0]![y]![x]!, rgb[1]![y]![x]!, rgb[2]![y]![x]!];

it.each([
  ['viridis', VIRIDIS],
  ['magma', MAGMA],
  ['turbo', TURBO],
] as const)('%s: the map minimum and maximum get the published first and last colours, as matplotlib bytes', (name, table) => {
  const rgb = viz.colormap(tensor([[0, 0.5], [2, 1]], { dtype: 'float32' }), { name });
  expect(rgb.dtype).toBe('uint8');
  expect(rgb.shape).toEqual([3, 2, 2]);
  const values = rgb.tolist() as number[][][];
  expect(pixel(values, 0, 0)).toEqual(bytes(table, 0));
  expect(pixel(values, 1, 0)).toEqual(bytes(table, 255));
  // 0.5 of 2 is entry floor(0.25 * 256) = 64; 1 of 2 is entry 128.
  expect(pixel(values, 0, 1)).toEqual(bytes(table, 64));
  expect(pixel(values, 1, 1)).toEqual(bytes(table, 128));
});

it('min and max clip; a constant map is drawn in the first colour', () => {
  const clipped = viz.colormap(tensor([[-5, 5]], { dtype: 'float32' }), { name: 'magma', min: 0, max: 1 }).tolist() as number[][][];
  expect(pixel(clipped, 0, 0)).toEqual(bytes(MAGMA, 0));
  expect(pixel(clipped, 0, 1)).toEqual(bytes(MAGMA, 255));
  const flat = viz.colormap(zeros([2, 3])).tolist() as number[][][];
  expect(pixel(flat, 1, 2)).toEqual(bytes(VIRIDIS, 0));
});

it('overlayHeatmap resizes the heatmap to the image and blends: uint8 [3, H, W], alpha 0 is the image, 1 the colours', () => {
  const image = tensor(new Uint8Array(3 * 8 * 6).fill(100), { shape: [3, 8, 6] });
  const heat = tensor([[0, 1], [1, 0]], { dtype: 'float32' });
  const overlay = viz.overlayHeatmap(image, heat, { colormap: 'turbo', alpha: 0.5 });
  expect(overlay.dtype).toBe('uint8');
  expect(overlay.shape).toEqual([3, 8, 6]);
  expect(viz.overlayHeatmap(image, heat, { alpha: 0 }).tolist()).toEqual(image.tolist());
  const resized = viz.colormap(tensor([[0, 1], [1, 0]], { dtype: 'float32' }));
  // Corners of a bilinear upsampling keep the corner values.
  const full = viz.overlayHeatmap(image, heat, { alpha: 1 }).tolist() as number[][][];
  expect(pixel(full, 0, 0)).toEqual(pixel(resized.tolist() as number[][][], 0, 0));
  expect(pixel(full, 7, 0)).toEqual(pixel(resized.tolist() as number[][][], 1, 0));
  // A grey float image in [0, 1] is drawn in colour.
  const grey = viz.overlayHeatmap(zeros([1, 4, 4]), zeros([4, 4]), { alpha: 1 });
  expect(grey.shape).toEqual([3, 4, 4]);
});

it('leaves no tensors behind', () => {
  const heat = tensor([[0, 1], [2, 3]], { dtype: 'float32' });
  const image = zeros([3, 4, 4]);
  // Each colormap's lookup table is made once and kept.
  for (const name of ['viridis', 'magma', 'turbo'] as const) viz.colormap(heat, { name }).dispose();
  const before = memory('cpu').tensors;
  scope(() => viz.overlayHeatmap(image, heat, { colormap: 'magma', min: 0, max: 4 })).dispose();
  viz.colormap(heat, { name: 'turbo' }).dispose();
  viz.colormap(heat, { name: 'turbo' }).dispose();
  expect(memory('cpu').tensors).toBe(before);
});

it('bad input: typed errors naming the argument', () => {
  expect(() => viz.colormap(zeros([1, 2, 2]))).toThrow(ShapeError);
  expect(() => viz.colormap(zeros([1, 2, 2]))).toThrow(/colormap: expected heat of shape \[H, W\]/);
  expect(() => viz.colormap(zeros([2, 2], { dtype: 'int32' }))).toThrow(DTypeError);
  expect(() => viz.colormap(zeros([2, 2]), { name: 'jet' as 'turbo' })).toThrow(/expected name 'viridis', 'magma' or 'turbo'/);
  expect(() => viz.colormap(zeros([2, 2]), { min: 1, max: 1 })).toThrow(ArgumentError);
  expect(() => viz.overlayHeatmap(zeros([2, 4, 4]), zeros([2, 2]))).toThrow(/overlayHeatmap: expected image of shape \[3, H, W\] or \[1, H, W\]/);
  expect(() => viz.overlayHeatmap(zeros([3, 4, 4]), zeros([2]))).toThrow(/overlayHeatmap: expected heat of shape \[H, W\]/);
  expect(() => viz.overlayHeatmap(zeros([3, 4, 4]), zeros([2, 2]), { alpha: 2 })).toThrow(/overlayHeatmap: expected alpha in \[0, 1\], got 2/);
});
