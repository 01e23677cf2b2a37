// lib/data/photometric.ts: torchvision's colour adjustments (golden values from
// tests/fixtures/make_photometric_fixtures.py) and SSD's randomPhotometricDistort.
import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import * as T from '../../lib/data/transforms.js';
import { ArgumentError, DTypeError, flip, manualSeed, ShapeError, stack, tensor, type Tensor } from '../../lib/index.js';
import { expectClose } from '../helpers/devices.js';

interface Fixture {
  rgb: { shape: number[]; data: number[] };
  gray: { shape: number[]; data: number[] };
  cases: Array<{ fn: 'brightness' | 'contrast' | 'saturation' | 'hue'; factor: number; image: 'rgb' | 'gray'; out: number[] }>;
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/photometric.json', import.meta.url), 'utf8')) as Fixture;
const images = {
  rgb: tensor(Float32Array.from(fixture.rgb.data)).reshape(fixture.rgb.shape),
  gray: tensor(Float32Array.from(fixture.gray.data)).reshape(fixture.gray.shape),
};
const adjust = { brightness: T.adjustBrightness, contrast: T.adjustContrast, saturation: T.adjustSaturation, hue: T.adjustHue };

describe('colour adjustments', () => {
  it("match torchvision's adjust_* (grey, saturated and hue-boundary pixels included)", () => {
    expect(fixture.cases.length).toBe(32);
    for (const { fn, factor, image, out } of fixture.cases) {
      const got = adjust[fn](images[image], factor);
      expect(got.shape, `${fn} ${factor} ${image}`).toEqual(images[image].shape);
      try {
        expectClose(got.dataSync(), out, 2e-6);
      } catch (error) {
        throw new Error(`${fn}(${image}, ${factor}): ${(error as Error).message}`);
      }
    }
  });

  it('treat a batch as its images, one by one', () => {
    const other = flip(images.rgb, [2]).mul(0.7);
    const batch = stack([images.rgb, other]);
    for (const fn of [T.adjustContrast, T.adjustSaturation, T.adjustHue] as const) {
      const factor = fn === T.adjustHue ? 0.2 : 1.4;
      const out = fn(batch, factor);
      expect(out.shape).toEqual([2, 3, 4, 5]);
      expectClose(out.slice(0, 1, 2).dataSync(), fn(other, factor).dataSync(), 1e-6);
    }
  });

  it('reject bad factors and images, naming the function and the argument', () => {
    expect(() => T.adjustBrightness(images.rgb, -1)).toThrow(ArgumentError);
    expect(() => T.adjustBrightness(images.rgb, -1)).toThrow(/adjustBrightness: expected factor to be a finite number >= 0, got -1/);
    expect(() => T.adjustHue(images.rgb, 0.6)).toThrow(/adjustHue: expected factor in \[-0.5, 0.5\], got 0.6/);
    expect(() => T.adjustContrast(tensor(new Float32Array(2 * 4)).reshape(2, 2, 2), 1)).toThrow(ShapeError);
    expect(() => T.adjustContrast(tensor(new Float32Array(2 * 4)).reshape(2, 2, 2), 1)).toThrow(/adjustContrast: expected an image with 1 or 3 channels, got 2/);
    expect(() => T.adjustSaturation(images.rgb.to('int32'), 1)).toThrow(DTypeError);
  });
});

describe('randomPhotometricDistort', () => {
  const small = tensor(Float32Array.of(0.2, 0.4, 0.6, 0.8)).reshape(1, 2, 2);

  it('with p = 0 is the identity', () => {
    manualSeed(3);
    for (let i = 0; i < 5; ++i) {
      expect(T.randomPhotometricDistort({ p: 0 })(images.rgb).tolist()).toEqual(images.rgb.tolist());
    }
  });

  it('with p = 1 applies brightness, then contrast (hand-computed on a gray image)', () => {
    const distort = T.randomPhotometricDistort({ p: 1, brightness: [1.5, 1.5], contrast: [0.5, 0.5] });
    for (const seed of [1, 2, 3, 4]) {
      manualSeed(seed); // contrast before or after saturation and hue: both orders give the same on one channel
      // brightness: [0.3, 0.6, 0.9, 1.2 -> 1]; contrast 0.5 about their mean 0.7: 0.5 x + 0.35.
      expectClose(distort(small).dataSync(), [0.5, 0.65, 0.8, 0.85], 1e-6);
    }
  });

  it('with p = 1 and neutral factors permutes the channels, differently across draws', () => {
    const neutral = T.randomPhotometricDistort({ p: 1, brightness: [1, 1], contrast: [1, 1], saturation: [1, 1], hue: [0, 0] });
    const planes = (t: Tensor) => [0, 1, 2].map((c) => Array.from(t.slice(0, c, c + 1).dataSync()));
    const source = planes(images.rgb);
    const orders = new Set<string>();
    manualSeed(5);
    for (let i = 0; i < 12; ++i) {
      const out = planes(neutral(images.rgb));
      const order = out.map((plane) => source.findIndex((s) => s.every((v, j) => Math.abs(v - plane[j]!) < 1e-5)));
      expect([...order].sort()).toEqual([0, 1, 2]);
      orders.add(order.join(''));
    }
    expect(orders.size).toBeGreaterThan(1);
  });

  it('is deterministic under manualSeed and changes the image with the default options', () => {
    const distort = T.randomPhotometricDistort();
    manualSeed(9);
    const first = [0, 1, 2, 3].map(() => distort(images.rgb).tolist());
    manualSeed(9);
    expect([0, 1, 2, 3].map(() => distort(images.rgb).tolist())).toEqual(first);
    expect(first.some((out) => JSON.stringify(out) !== JSON.stringify(images.rgb.tolist()))).toBe(true);
  });

  it('rejects bad ranges and images, naming the option', () => {
    expect(() => T.randomPhotometricDistort({ brightness: [1.2, 0.8] })).toThrow(ArgumentError);
    expect(() => T.randomPhotometricDistort({ brightness: [1.2, 0.8] })).toThrow(/randomPhotometricDistort: expected brightness to be \[lo, hi\] with 0 <= lo <= hi/);
    expect(() => T.randomPhotometricDistort({ contrast: [-1, 1] })).toThrow(/expected contrast/);
    expect(() => T.randomPhotometricDistort({ saturation: [0, Infinity] })).toThrow(/expected a finite saturation range/);
    expect(() => T.randomPhotometricDistort({ hue: [-0.6, 0] })).toThrow(/expected hue to be \[lo, hi\] with -0.5 <= lo <= hi <= 0.5/);
    expect(() => T.randomPhotometricDistort({ p: 1.5 })).toThrow(/randomPhotometricDistort: expected p in \[0, 1\], got 1.5/);
    expect(() => T.randomPhotometricDistort()(tensor(new Float32Array(4 * 4)).reshape(4, 2, 2))).toThrow(ShapeError);
  });
});
