import { expect, it } from 'vitest';

import { ArgumentError, DTypeError, ShapeError, tensor, vision, zeros, type Device } from '../../lib/index.js';
import { describeDevices } from '../helpers/devices.js';
import { readFixture } from '../helpers/fixture_cases.js';

// Written by make_vision_fixtures.py from torchvision 0.14's Matcher and SSDMatcher: IoUs of
// seeded random boxes, and a hand-made matrix with ties between ground truths, a ground
// truth's best value at several predictions, a ground truth that overlaps nothing and values
// equal to the thresholds.
interface MatcherCase {
  matrix: 'random' | 'ties';
  high?: number;
  low?: number;
  allowLowQualityMatches?: boolean;
  ssd?: number;
  matches: number[];
}
const fixture = readFixture<{ matcher: { matrices: Record<string, { shape: [number, number]; values: number[] }>; cases: MatcherCase[] } }>('vision.json').matcher;

const matrixOf = (name: string, device: Device) => {
  const m = fixture.matrices[name]!;
  return tensor(Float32Array.from(m.values), { device }).reshape(m.shape);
};

describeDevices('Matcher', (device) => {
  for (const c of fixture.cases) {
    const label =
      c.ssd === undefined ? `Matcher(${c.high}, ${c.low}, allowLowQualityMatches ${c.allowLowQualityMatches})` : `SSDMatcher(${c.ssd})`;
    it(`${label} on the ${c.matrix} matrix [${fixture.matrices[c.matrix]!.shape}] matches torchvision`, () => {
      const matcher = c.ssd === undefined ? new vision.Matcher(c.high!, c.low!, { allowLowQualityMatches: c.allowLowQualityMatches! }) : new vision.SSDMatcher(c.ssd);
      const matches = matcher.call(matrixOf(c.matrix, device));
      expect(matches.dtype).toBe('int32');
      expect(matches.device).toBe(device);
      expect(matches.cpu().tolist()).toEqual(c.matches);
    });
  }

  it('has torchvision codes on the class and the instance', () => {
    expect(vision.Matcher.BELOW_LOW_THRESHOLD).toBe(-1);
    expect(vision.Matcher.BETWEEN_THRESHOLDS).toBe(-2);
    const matcher = new vision.Matcher(0.7, 0.3);
    expect([matcher.BELOW_LOW_THRESHOLD, matcher.BETWEEN_THRESHOLDS]).toEqual([-1, -2]);
    expect(matcher.allowLowQualityMatches).toBe(false);
    const ssd = new vision.SSDMatcher(0.5);
    expect([ssd.highThreshold, ssd.lowThreshold, ssd.allowLowQualityMatches]).toEqual([0.5, 0.5, false]);
  });

  it('a low-quality match is the prediction best for some ground truth, with its own best ground truth', () => {
    // gt 1's best is prediction 2 (0.4) although prediction 2 is better with gt 0 (0.45).
    const quality = tensor([[0.9, 0.0, 0.45], [0.0, 0.1, 0.4]], { dtype: 'float32', device });
    expect(new vision.Matcher(0.7, 0.3).call(quality).cpu().tolist()).toEqual([0, -1, -2]);
    expect(new vision.Matcher(0.7, 0.3, { allowLowQualityMatches: true }).call(quality).cpu().tolist()).toEqual([0, -1, 0]);
  });

  it('refuses empty matrices as torchvision does, with ShapeError naming the side', () => {
    expect(() => new vision.Matcher(0.7, 0.3).call(zeros([0, 5], { device }))).toThrow(/Matcher.call: expected at least one ground-truth box .* got \[0, 5\]/);
    expect(() => new vision.Matcher(0.7, 0.3).call(zeros([2, 0], { device }))).toThrow(/Matcher.call: expected at least one prediction/);
    expect(() => new vision.SSDMatcher(0.5).call(zeros([0, 5], { device }))).toThrow(/SSDMatcher.call: expected at least one ground-truth box/);
  });

  it('rejects bad thresholds, ranks and dtypes with typed errors', () => {
    expect(() => new vision.Matcher(0.3, 0.7)).toThrow(/Matcher: expected lowThreshold <= highThreshold, got lowThreshold 0.7 and highThreshold 0.3/);
    expect(() => new vision.Matcher(NaN, 0.3)).toThrow(ArgumentError);
    expect(() => new vision.SSDMatcher('0.5' as unknown as number)).toThrow(/SSDMatcher: expected highThreshold to be a number/);
    expect(() => new vision.Matcher(0.7, 0.3, { allowLowQualityMatches: 1 as unknown as boolean })).toThrow(ArgumentError);
    expect(() => new vision.Matcher(0.7, 0.3).call(zeros([4], { device }))).toThrow(ShapeError);
    expect(() => new vision.Matcher(0.7, 0.3).call(zeros([2, 4], { dtype: 'int32', device }))).toThrow(DTypeError);
  });
});
