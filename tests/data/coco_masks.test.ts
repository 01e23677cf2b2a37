// lib/data/coco_masks.ts: polygons and RLEs to masks, against pycocotools (fixtures from
// tests/fixtures/make_coco_fixtures.py).
import { readFileSync } from 'node:fs';

import { expect, it } from 'vitest';

import { FormatError } from '../../lib/index.js';
import { paintRle, polygonToRle, rleFromString, segmentationProblem, segmentationToMask, type CocoSegmentation } from '../../lib/data/coco_masks.js';
import { countsOf } from '../helpers/mask_runs.js';

interface Fixture {
  annotations: Record<string, number[]>;
  polygons: Array<{ h: number; w: number; xy: number[]; counts: number[] }>;
  strings: Array<{ h: number; w: number; string: string; counts: number[] }>;
  parts: Array<{ h: number; w: number; segmentation: number[][]; counts: number[] }>;
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/coco_masks.json', import.meta.url), 'utf8')) as Fixture;
const instances = JSON.parse(readFileSync(new URL('../fixtures/coco/instances.json', import.meta.url), 'utf8')) as {
  images: Array<{ id: number; width: number; height: number }>;
  annotations: Array<{ id: number; image_id: number; segmentation: CocoSegmentation }>;
};

it('rasterises 300 random polygons exactly as pycocotools frPyObjects + decode', () => {
  expect(fixture.polygons).toHaveLength(300);
  let differing = 0;
  for (const { h, w, xy, counts } of fixture.polygons) {
    const mask = new Uint8Array(h * w);
    expect(paintRle(polygonToRle(xy, h, w), h, w, mask)).toBe(true);
    if (JSON.stringify(countsOf(mask, h, w)) !== JSON.stringify(counts)) ++differing;
  }
  expect(differing).toBe(0);
});

it("decodes compressed RLE strings as pycocotools' rleFrString, up to multi-group counts", () => {
  expect(fixture.strings.length).toBeGreaterThan(30);
  for (const { h, w, string, counts } of fixture.strings) {
    const decoded = rleFromString(string);
    const mask = new Uint8Array(h * w);
    expect(paintRle(decoded!, h, w, mask)).toBe(true);
    expect(countsOf(mask, h, w)).toEqual(counts);
  }
  expect(fixture.strings.at(-1)!.h).toBe(1000); // 900,000 pixels: counts past 2^15 need 4 groups
});

it("gives each fixture annotation pycocotools' mask: concave, multi-part, star, crowd and compressed RLE", () => {
  const sizes = new Map(instances.images.map((im) => [im.id, [im.height, im.width] as const]));
  expect(instances.annotations).toHaveLength(7);
  for (const annotation of instances.annotations) {
    const [h, w] = sizes.get(annotation.image_id)!;
    expect(segmentationProblem(annotation.segmentation, h, w)).toBeNull();
    const mask = segmentationToMask(annotation.segmentation, h, w);
    expect(countsOf(mask, h, w), `annotation ${annotation.id}`).toEqual(fixture.annotations[String(annotation.id)]);
  }
});

it('paints a small polygon where a hand count says (pixel centres inside)', () => {
  // The square [1, 4] x [1, 3] covers the centres of columns 1..3 and rows 1..2.
  const mask = segmentationToMask([[1, 1, 4, 1, 4, 3, 1, 3]], 4, 5);
  expect(Array.from(mask)).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0]);
});

it('paints nothing for a two-point part, as pycocotools does for one after the first', () => {
  expect(fixture.parts).toHaveLength(10);
  for (const { h, w, segmentation, counts } of fixture.parts) {
    expect(segmentationProblem(segmentation, h, w)).toBeNull();
    expect(countsOf(segmentationToMask(segmentation, h, w), h, w)).toEqual(counts);
    expect(Array.from(segmentationToMask([segmentation[1]!], h, w)).every((v) => v === 0)).toBe(true);
  }
});

it('refuses malformed segmentations and strings, saying what it expected', () => {
  expect(segmentationProblem([], 4, 4)).toMatch(/at least one polygon/);
  expect(segmentationProblem([[1, 2, 3, 4, 5]], 4, 4)).toMatch(/polygon 0 .*even number >= 4/);
  expect(segmentationProblem([[0, 0, 3, 0, 3, 3], [1, 2]], 4, 4)).toMatch(/polygon 1 /);
  expect(segmentationProblem([[1, 2, 3, 4, 5, Number.NaN]], 4, 4)).toMatch(/finite/);
  expect(segmentationProblem({ size: [4, 5], counts: [20] }, 4, 4)).toMatch(/size \[4, 4\]/);
  expect(segmentationProblem({ size: [4, 4], counts: [3, 4] }, 4, 4)).toMatch(/cover 16 pixels, got 7/);
  expect(segmentationProblem({ size: [4, 4], counts: '\u0001' }, 4, 4)).toMatch(/compressed RLE string/);
  expect(segmentationProblem('nope', 4, 4)).toMatch(/polygons or an RLE/);
  expect(rleFromString('0 ')).toBeNull();
  expect(rleFromString('a')).toBeNull(); // a lone continuation group: the count never ends
  expect(rleFromString('')).toEqual([]);
  expect(() => segmentationToMask({ size: [2, 2], counts: [1, 1] }, 2, 2)).toThrow(FormatError);
});
