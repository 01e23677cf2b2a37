// lib/infer/half_precision.ts: convolutions and linear layers on 16-bit weight copies, other
// weighted layers fed float32, only in eval without autograd, and restore() undoing it all.
import { describe, expect, it } from 'vitest';

import { ArgumentError, manualSeed, memory, noGrad, randn, scope, synchronize } from '../../lib/index.js';
import { halfPrecision } from '../../lib/infer/index.js';
import { maxRelDiff, trainedNet } from '../helpers/folding_net.js';

describe('halfPrecision', () => {
  it('runs a model with convolutions, unfolded BatchNorms and a linear head in bfloat16, close to float32', async () => {
    const net = trainedNet();
    manualSeed(2);
    const x = randn([4, 3, 12, 12]);
    const reference = noGrad(() => net.call(x));
    await synchronize();
    const before = memory('cpu');
    const half = halfPrecision(net, 'bfloat16');
    expect(half.dtype).toBe('bfloat16');
    scope(() => {
      const out = noGrad(() => net.call(x));
      expect(out.dtype).toBe('bfloat16'); // the head is a linear layer
      expect(maxRelDiff(out.to('float32'), reference)).toBeLessThan(3e-2);
      // The model's own weights are untouched; autograd (or training) runs the float32 layers.
      expect([...net.parameters()].every((p) => p.dtype === 'float32')).toBe(true);
      expect(net.call(x).dtype).toBe('float32');
    });
    half.restore();
    await synchronize();
    // The 16-bit copies are freed (the collector may free earlier garbage meanwhile: at most as many as before).
    expect(memory('cpu').tensors).toBeLessThanOrEqual(before.tensors);
    expect(maxRelDiff(noGrad(() => net.call(x)), reference)).toBe(0);
    expect(() => halfPrecision(net, 'float32' as 'bfloat16')).toThrow(ArgumentError);
  });
});
