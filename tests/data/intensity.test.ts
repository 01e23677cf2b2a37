import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { ArgumentError, data, DTypeError, tensor, type Tensor, zeros } from '../../lib/index.js';

// MONAI's intensity formulas and scikit-image's equalize_hist, in torch / numpy
// (tests/fixtures/make_intensity_fixtures.py).
const f = JSON.parse(readFileSync(new URL('../fixtures/intensity.json', import.meta.url), 'utf8')) as Record<string, number[]>;
const input = tensor(Float32Array.from(f.input!)).reshape(f.shape!);
const sparse = tensor(Float32Array.from(f.sparse!)).reshape(f.shape!);
const ct = tensor(Float32Array.from(f.ct!)).reshape(f.ct_shape!);
const T = data.transforms;

function expectClose(got: Tensor, want: number[], tol = 1e-5): void {
  expect(got.shape.reduce((a, b) => a * b, 1)).toBe(want.length);
  const g = got.dataSync();
  const scale = Math.max(1, ...want.map(Math.abs));
  want.forEach((w, i) => expect(Math.abs(g[i]! - w) / scale, `element ${i}`).toBeLessThan(tol));
}

describe('intensity transforms against MONAI / scikit-image formulas', () => {
  it('scaleIntensity maps min..max to the target range', () => expectClose(T.scaleIntensity({ min: -1, max: 2 })(input), f.scale_intensity!));
  it('normalizeIntensity: global, per channel, and non-zero per channel', () => {
    expectClose(T.normalizeIntensity()(input), f.normalize!);
    expectClose(T.normalizeIntensity({ channelWise: true })(input), f.normalize_channel_wise!);
    expectClose(T.normalizeIntensity({ nonzero: true, channelWise: true })(sparse), f.normalize_nonzero_channel_wise!);
  });
  it('scaleIntensityRange with clipping (a CT range)', () => expectClose(T.scaleIntensityRange({ aMin: -1000, aMax: 400, clip: true })(ct), f.range_clip!));
  it('scaleIntensityRangePercentiles, with and without clipping', () => {
    expectClose(T.scaleIntensityRangePercentiles({ lower: 5, upper: 95 })(input), f.percentiles!);
    expectClose(T.scaleIntensityRangePercentiles({ lower: 10, upper: 90, bMin: -1, bMax: 1, clip: true })(input), f.percentiles_clip!);
  });
  it('equalizeHistogram with 16 and 256 bins', () => {
    expectClose(T.equalizeHistogram({ bins: 16 })(input), f.equalize_16!, 1e-4);
    expectClose(T.equalizeHistogram()(input), f.equalize_256!, 1e-4);
  });
});

describe('intensity transforms: edge cases', () => {
  it('windowIntensity is the clipped range center ± width / 2', () => {
    const hu = tensor(Float32Array.from([-1200, -160, 40, 240, 900]));
    expect(Array.from(T.windowIntensity({ center: 40, width: 400 })(hu).dataSync())).toEqual([0, 0, 0.5, 1, 1]);
  });

  it('a constant image scales to min, normalises to 0 and equalises to 1', () => {
    const flat = zeros([2, 3]).add(7);
    expect(Array.from(T.scaleIntensity({ min: 0.25 })(flat).dataSync())).toEqual(new Array(6).fill(0.25));
    expect(Array.from(T.normalizeIntensity()(flat).dataSync())).toEqual(new Array(6).fill(0));
    expect(Array.from(T.equalizeHistogram()(flat).dataSync())).toEqual(new Array(6).fill(1));
  });

  it('normalizeIntensity with nonzero leaves the background at 0, and subtrahend/divisor replace the statistics', () => {
    const x = tensor(Float32Array.from([0, 2, 4, 0]));
    expect(Array.from(T.normalizeIntensity({ nonzero: true })(x).dataSync())).toEqual([0, -1, 1, 0]);
    expect(Array.from(T.normalizeIntensity({ subtrahend: 1, divisor: 2 })(x).dataSync())).toEqual([-0.5, 0.5, 1.5, -0.5]);
  });

  it('refuses bad options and non-float images with typed errors', () => {
    expect(() => T.scaleIntensityRange({ aMin: 1, aMax: 1 })).toThrow(ArgumentError);
    expect(() => T.scaleIntensityRangePercentiles({ lower: 90, upper: 10 })).toThrow(/scaleIntensityRangePercentiles: expected 0 <= lower < upper <= 100/);
    expect(() => T.windowIntensity({ center: 0, width: 0 })).toThrow(/windowIntensity: expected width > 0/);
    expect(() => T.equalizeHistogram({ bins: 0 })).toThrow(/equalizeHistogram: expected bins to be a positive integer/);
    expect(() => T.normalizeIntensity({ divisor: 0 })).toThrow(/normalizeIntensity: expected divisor != 0/);
    expect(() => T.normalizeIntensity({ channelWise: true })(tensor(Float32Array.from([1, 2])))).toThrow(/channelWise needs a channel-first image/);
    expect(() => T.scaleIntensity()(tensor(Int32Array.from([1, 2])))).toThrow(DTypeError);
  });
});
