import { expect, it } from 'vitest';

import { ArgumentError, DTypeError, manualSeed, ShapeError, tensor, vision, zeros, type Device, type Tensor } from '../../lib/index.js';
import { describeDevices } from '../helpers/devices.js';

/** Labels with `pos` positives (1 or a larger class id), `neg` negatives and `ignored` -1s, interleaved. */
function labelsOf(pos: number, neg: number, ignored: number): number[] {
  const values = [...Array<number>(pos).fill(1).map((v, i) => v + (i % 3)), ...Array<number>(neg).fill(0), ...Array<number>(ignored).fill(-1)];
  // A fixed shuffle, so the kinds are not in blocks.
  return values.map((v, i) => [v, (i * 7919) % values.length] as const).sort((a, b) => a[1] - b[1]).map(([v]) => v);
}

const values = (t: Tensor) => Array.from(t.cpu().dataSync());

describeDevices('BalancedPositiveNegativeSampler', (device) => {
  const cases = [
    { batch: 16, fraction: 0.25, pos: 10, neg: 40, ignored: 5, takePos: 4, takeNeg: 12 },
    { batch: 16, fraction: 0.5, pos: 3, neg: 40, ignored: 5, takePos: 3, takeNeg: 13 }, // too few positives: negatives fill
    { batch: 16, fraction: 0.5, pos: 30, neg: 5, ignored: 0, takePos: 8, takeNeg: 5 }, // too few negatives
    { batch: 256, fraction: 0.5, pos: 0, neg: 100, ignored: 7, takePos: 0, takeNeg: 100 },
    { batch: 10, fraction: 0.3, pos: 20, neg: 20, ignored: 0, takePos: 3, takeNeg: 7 }, // int(10 * 0.3) = 3
    { batch: 0, fraction: 0.5, pos: 5, neg: 5, ignored: 0, takePos: 0, takeNeg: 0 },
  ];
  for (const c of cases) {
    it(`batch ${c.batch} fraction ${c.fraction} of ${c.pos} positives, ${c.neg} negatives, ${c.ignored} ignored: ${c.takePos} + ${c.takeNeg}, as torchvision counts`, () => {
      const labels = labelsOf(c.pos, c.neg, c.ignored);
      const sampler = new vision.BalancedPositiveNegativeSampler(c.batch, c.fraction);
      for (const dtype of ['int32', 'float32'] as const) {
        const { positive, negative } = sampler.call([tensor(labels, { dtype, device }), tensor(labels, { dtype, device })]);
        expect(positive).toHaveLength(2);
        for (let image = 0; image < 2; ++image) {
          const p = values(positive[image]!), n = values(negative[image]!);
          expect(positive[image]!.dtype).toBe('uint8');
          expect(positive[image]!.device).toBe(device);
          expect(p.reduce((a, b) => a + b, 0)).toBe(c.takePos);
          expect(n.reduce((a, b) => a + b, 0)).toBe(c.takeNeg);
          labels.forEach((label, i) => {
            if (p[i]) expect(label).toBeGreaterThanOrEqual(1);
            if (n[i]) expect(label).toBe(0);
          });
        }
      }
    });
  }

  it('draws from the seeded generator: the same seed gives the same masks, another seed others', () => {
    const labels = tensor(labelsOf(50, 200, 10), { dtype: 'int32', device });
    const sampler = new vision.BalancedPositiveNegativeSampler(64, 0.25);
    const draw = (seed: number) => {
      manualSeed(seed);
      const { positive, negative } = sampler.call([labels]);
      return [values(positive[0]!), values(negative[0]!)];
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(8)).not.toEqual(draw(7));
  });

  it('picks every candidate about equally often (uniform, not the first ones)', () => {
    manualSeed(0);
    const labels = tensor([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], { dtype: 'int32', device });
    const sampler = new vision.BalancedPositiveNegativeSampler(4, 0.5);
    const counts = new Array<number>(20).fill(0);
    const draws = 400;
    for (let d = 0; d < draws; ++d) {
      const { positive, negative } = sampler.call([labels]);
      values(positive[0]!).forEach((v, i) => (counts[i]! += v));
      values(negative[0]!).forEach((v, i) => (counts[i]! += v));
    }
    // Each of 10 candidates is expected in 2/10 of the draws: 80 of 400 (sd 8).
    for (const count of counts) {
      expect(count).toBeGreaterThan(50);
      expect(count).toBeLessThan(110);
    }
  });

  it('handles images without elements and batches without images', () => {
    const sampler = new vision.BalancedPositiveNegativeSampler(8, 0.5);
    const { positive, negative } = sampler.call([zeros([0], { dtype: 'int32', device })]);
    expect([positive[0]!.shape, negative[0]!.shape]).toEqual([[0], [0]]);
    expect(sampler.call([])).toEqual({ positive: [], negative: [] });
  });

  it('rejects bad sizes, fractions and labels with typed errors', () => {
    expect(() => new vision.BalancedPositiveNegativeSampler(-1, 0.5)).toThrow(/BalancedPositiveNegativeSampler: expected batchSizePerImage to be an integer >= 0/);
    expect(() => new vision.BalancedPositiveNegativeSampler(2.5, 0.5)).toThrow(ArgumentError);
    expect(() => new vision.BalancedPositiveNegativeSampler(8, 1.5)).toThrow(/expected positiveFraction in \[0, 1\]/);
    const sampler = new vision.BalancedPositiveNegativeSampler(8, 0.5);
    expect(() => sampler.call([zeros([2, 3], { dtype: 'int32', device })])).toThrow(/BalancedPositiveNegativeSampler.call: expected matchedIdxs\[0\] of shape \[N\]/);
    expect(() => sampler.call([zeros([3], { dtype: 'uint8', device })])).toThrow(DTypeError);
    expect(() => sampler.call(zeros([3], { dtype: 'int32', device }) as unknown as Tensor[])).toThrow(ArgumentError);
    expect(() => sampler.call([zeros([4], { dtype: 'int32', device }), zeros([2, 2], { dtype: 'int32', device })])).toThrow(ShapeError);
  });
});
