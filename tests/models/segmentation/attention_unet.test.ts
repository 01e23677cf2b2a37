import { describe, expect, it } from 'vitest';

import { models, noGrad, randn, ShapeError } from '../../../lib/index.js';
import { expectMatchesPyTorch, unetCaseOptions } from '../../helpers/unet_fixture.js';

const { AttentionGate, AttentionUNet, attentionUnet } = models.segmentation;

describe('AttentionUNet', () => {
  it('loads the same network built in PyTorch strictly and gives its eval output', () => {
    expectMatchesPyTorch('attention_unet', attentionUnet(unetCaseOptions('attention_unet')));
  });

  it('has a gate per level below the bottleneck, and keeps the input size in 2-D and 3-D', () => {
    const net = attentionUnet({ inChannels: 3, numClasses: 4, depth: 3, baseChannels: 4 });
    expect(net.gates.length).toBe(3);
    expect([...net.namedParameters()].map(([n]) => n)).toContain('gates.2.psi.0.weight');
    expect(net.call(randn([2, 3, 16, 24])).shape).toEqual([2, 4, 16, 24]);
    const volumes = attentionUnet({ spatialDims: 3, depth: 1, baseChannels: 2 });
    expect(volumes.call(randn([1, 1, 4, 6, 8])).shape).toEqual([1, 1, 4, 6, 8]);
  });

  it('refuses sizes its depth does not divide, naming the sizes that work', () => {
    expect(() => new AttentionUNet({ depth: 2, baseChannels: 2 }).call(randn([1, 1, 16, 18]))).toThrow(ShapeError);
    expect(() => new AttentionUNet({ depth: 2, baseChannels: 2 }).call(randn([1, 1, 16, 18]))).toThrow(/AttentionUNet: spatial size 18 .* 16 or 20/);
  });
});

describe('AttentionGate', () => {
  it('scales the skip by a per-pixel attention in [0, 1]', () => {
    const gate = new AttentionGate(6, 4, 3);
    const [g, x] = [randn([2, 6, 5, 7]), randn([2, 4, 5, 7]).abs().add(0.1)];
    const out = noGrad(() => gate.call(g, x));
    expect(out.shape).toEqual([2, 4, 5, 7]);
    // out = x * a with one a per pixel, shared by the channels: the ratio is the same in every channel.
    const ratio = out.div(x);
    const [r, first] = [ratio.dataSync(), ratio.slice(1, 0, 1).contiguous().dataSync()];
    for (let n = 0; n < 2; n++) {
      for (let c = 0; c < 4; c++) {
        for (let p = 0; p < 35; p++) {
          const a = r[(n * 4 + c) * 35 + p]!;
          expect(a).toBeGreaterThanOrEqual(0);
          expect(a).toBeLessThanOrEqual(1);
          expect(a).toBeCloseTo(first[n * 35 + p]!, 5);
        }
      }
    }
  });
});
