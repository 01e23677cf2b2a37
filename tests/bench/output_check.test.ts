import { describe, expect, it } from 'vitest';

import { arange, tensor } from '../../lib/index.js';
import { compareFingerprints, fingerprint, type OutputFingerprint } from '../../bench/output_check.js';

const print = (over: Partial<OutputFingerprint> = {}): OutputFingerprint => ({ shape: [1, 2], mean: 1, meanAbs: 2, samples: [1, -3], ...over });

describe('fingerprint', () => {
  it('takes the mean, the mean |x| and 16 row-major values at floor(k (n - 1) / 15)', async () => {
    using t = arange(0, 31).reshape([1, 31]).sub(10);
    const f = await fingerprint(t);
    expect(f.shape).toEqual([1, 31]);
    expect(f.mean).toBeCloseTo(5, 10);
    expect(f.meanAbs).toBeCloseTo((55 + 210) / 31, 10);
    expect(f.samples).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30].map((i) => i - 10));
  });

  it('reads a channels-last tensor in logical order', async () => {
    using t = tensor([[[[1, 2], [3, 4]], [[5, 6], [7, 8]]]]);
    using cl = t.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);
    expect((await fingerprint(cl)).samples).toEqual((await fingerprint(t)).samples);
  });
});

describe('compareFingerprints', () => {
  it('agrees within rtol of the larger mean |x|', () => {
    const r = compareFingerprints(print(), print({ samples: [1.001, -3] }));
    expect(r.agree).toBe(true);
    expect(r.maxRelDiff).toBeCloseTo(0.0005, 10);
    expect(r.text).toBe('agree (5.0e-4)');
  });

  it('differs past rtol, on any mean or sample', () => {
    expect(compareFingerprints(print(), print({ samples: [1.01, -3] })).text).toBe('DIFFER (5.0e-3)');
    expect(compareFingerprints(print(), print({ mean: 1.1 })).agree).toBe(false);
    expect(compareFingerprints(print(), print({ samples: [Number.NaN, -3] })).agree).toBe(false);
  });

  it('differs on shape, naming both', () => {
    expect(compareFingerprints(print(), print({ shape: [2, 1] }))).toEqual({ agree: false, maxRelDiff: null, text: 'shape [1, 2] vs [2, 1]' });
  });
});
