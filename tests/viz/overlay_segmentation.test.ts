// overlaySegmentation against torchvision 0.14's draw_segmentation_masks (fixtures from
// tests/fixtures/make_overlay_fixtures.py).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import sharp from 'sharp';
import { describe, expect, it } from 'vitest';

import { ArgumentError, data, DTypeError, IndexError, ShapeError, tensor, viz, zeros } from '../../lib/index.js';
import { vocPalette as referencePalette } from '../helpers/indexed_png.js';

interface Fixture {
  shape: [number, number];
  image: number[];
  imageFloat: number[];
  classMap: number[];
  stack: number[];
  cases: Array<{ kind: 'classMap' | 'stack' | 'floatImage'; alpha: number; out: number[] }>;
}

const fixture = JSON.parse(readFileSync(new URL('../fixtures/overlay.json', import.meta.url), 'utf8')) as Fixture;
const [H, W] = fixture.shape;
const image = tensor(Uint8Array.from(fixture.image), { shape: [3, H, W] });
const imageFloat = tensor(Float32Array.from(fixture.imageFloat), { shape: [3, H, W] });
const classMap = tensor(Int32Array.from(fixture.classMap), { shape: [H, W] });
const stack = tensor(Uint8Array.from(fixture.stack), { shape: [3, H, W] }).bool();

describe('vocPalette', () => {
  it("is the VOC devkit's labelcolormap", () => {
    expect(data.vocPalette()).toEqual(referencePalette());
    expect(data.vocPalette(3)).toEqual([[0, 0, 0], [128, 0, 0], [0, 128, 0]]);
  });
});

describe('overlaySegmentation', () => {
  it.each(fixture.cases.map((c) => [c.kind, c.alpha, c] as const))('matches draw_segmentation_masks: %s, alpha %s', async (kind, alpha, c) => {
    expect(c.out).toHaveLength(3 * H * W);
    const out = kind === 'stack' ? await viz.overlaySegmentation(image, stack, { alpha }) : await viz.overlaySegmentation(kind === 'floatImage' ? imageFloat : image, classMap, { alpha });
    expect(out.dtype).toBe('uint8');
    expect(out.shape).toEqual([3, H, W]);
    expect(Array.from(await out.data())).toEqual(c.out);
  });

  it('defaults to alpha 0.8, and draws exactly the chosen classes of a class map', async () => {
    const byDefault = await viz.overlaySegmentation(image, classMap);
    expect(Array.from(await byDefault.data())).toEqual(fixture.cases.find((c) => c.kind === 'classMap' && c.alpha === 0.8)!.out);
    // Only class 2, in a palette of its own; background (0) drawn when asked for.
    const palette = Array.from({ length: 256 }, () => [0, 0, 0] as const);
    const onlyTwo = await (await viz.overlaySegmentation(image, classMap, { alpha: 1, classes: [2, 0], palette })).data();
    const pixels = await image.data();
    for (let p = 0; p < H * W; ++p) {
      const drawn = fixture.classMap[p] === 2 || fixture.classMap[p] === 0;
      for (let c = 0; c < 3; ++c) expect(onlyTwo[c * H * W + p]).toBe(drawn ? 0 : pixels[c * H * W + p]);
    }
  });

  it('draws a [1, H, W] image in colour, a single [H, W] bool mask as class 1, and leaves its inputs alone', async () => {
    const grey = tensor(Uint8Array.from({ length: 12 }, (_, i) => 10 * i), { shape: [1, 3, 4] });
    const one = tensor(Uint8Array.from({ length: 12 }, (_, i) => Number(i % 5 === 0)), { shape: [3, 4] }).bool();
    const out = await (await viz.overlaySegmentation(grey, one, { alpha: 1 })).data();
    expect(Array.from(out.subarray(0, 12))).toEqual(Array.from({ length: 12 }, (_, i) => (i % 5 === 0 ? 128 : 10 * i)));
    expect(Array.from(out.subarray(12, 24))).toEqual(Array.from({ length: 12 }, (_, i) => (i % 5 === 0 ? 0 : 10 * i)));
    expect(Array.from(await grey.data())).toEqual(Array.from({ length: 12 }, (_, i) => 10 * i));
  });

  it('refuses size mismatches, ids beyond the palette, bad alpha and dtypes with typed errors', async () => {
    await expect(viz.overlaySegmentation(image, zeros([H, W + 1], { dtype: 'int32' }))).rejects.toThrow(ShapeError);
    await expect(viz.overlaySegmentation(image, zeros([H, W + 1], { dtype: 'int32' }))).rejects.toThrow(/overlaySegmentation: expected mask of shape \[6, 9\] \(a class map\) to match image \[3, 6, 9\], got \[6, 10\]/);
    await expect(viz.overlaySegmentation(image, zeros([2, H - 1, W], { dtype: 'bool' }))).rejects.toThrow(ShapeError);
    await expect(viz.overlaySegmentation(zeros([2, H, W], { dtype: 'uint8' }), classMap)).rejects.toThrow(ShapeError);
    await expect(viz.overlaySegmentation(image, classMap, { palette: data.vocPalette(5) })).rejects.toThrow(/class id 5 at pixel \(\d+, \d+\), outside the palette of 5 colours/);
    await expect(viz.overlaySegmentation(image, classMap, { palette: data.vocPalette(5) })).rejects.toThrow(IndexError);
    await expect(viz.overlaySegmentation(image, stack, { classes: [1, 2, 300] })).rejects.toThrow(/mask 2 is class 300, outside the palette of 256 colours/);
    await expect(viz.overlaySegmentation(image, stack, { classes: [1] })).rejects.toThrow(/one class id per mask \(3\), got 1/);
    for (const alpha of [-0.1, 1.5, Number.NaN]) await expect(viz.overlaySegmentation(image, classMap, { alpha })).rejects.toThrow(/expected alpha to be a number in \[0, 1\]/);
    await expect(viz.overlaySegmentation(image, classMap, { palette: [[0, 0, 256]] })).rejects.toThrow(ArgumentError);
    await expect(viz.overlaySegmentation(image, zeros([H, W]))).rejects.toThrow(DTypeError);
    await expect(viz.overlaySegmentation(zeros([3, H, W], { dtype: 'int32' }), classMap)).rejects.toThrow(DTypeError);
    await expect(viz.overlaySegmentation(imageFloat.mul(2), classMap)).rejects.toThrow(/float32 image's values in \[0, 1\], got/);
  });
});
