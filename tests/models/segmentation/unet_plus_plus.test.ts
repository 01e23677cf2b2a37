import { describe, expect, expectTypeOf, it } from 'vitest';

import { crossEntropy, models, randn, ShapeError, type Tensor, tensor } from '../../../lib/index.js';
import { expectMatchesPyTorch, unetCaseOptions } from '../../helpers/unet_fixture.js';

const { UNetPlusPlus, unetPlusPlus } = models.segmentation;

describe('UNetPlusPlus', () => {
  it('loads the same network built in PyTorch strictly and gives its deeply supervised outputs', () => {
    const opts = unetCaseOptions('unet_plus_plus');
    expect(opts.deepSupervision).toBe(true);
    expectMatchesPyTorch('unet_plus_plus', unetPlusPlus({ ...opts, deepSupervision: true }));
  });

  it('returns one tensor without deep supervision and a typed list with it', () => {
    const single = unetPlusPlus({ depth: 2, baseChannels: 2, numClasses: 3 });
    const y = single.call(randn([1, 1, 8, 12]));
    expectTypeOf(y).toEqualTypeOf<Tensor>();
    expect(y.shape).toEqual([1, 3, 8, 12]);
    const deep = unetPlusPlus({ depth: 3, baseChannels: 2, numClasses: 3, deepSupervision: true });
    const ys = deep.call(randn([2, 1, 8, 16]));
    expectTypeOf(ys).toEqualTypeOf<Tensor[]>();
    expect(ys.map((t) => t.shape)).toEqual([[2, 3, 8, 16], [2, 3, 8, 16], [2, 3, 8, 16]]);
  });

  it('has the nested nodes x<i>_<j> of the reference and their input widths', () => {
    const net = unetPlusPlus({ depth: 2, baseChannels: 4 });
    expect(net.blocks.keys().sort()).toEqual(['x0_0', 'x0_1', 'x0_2', 'x1_0', 'x1_1', 'x2_0'].sort());
    // X[0][2] sees X[0][0], X[0][1] (4 channels each) and X[1][1] upsampled (8).
    expect(net.blocks.get('x0_2')!.stateDict().get('0.weight')!.shape).toEqual([4, 16, 3, 3]);
  });

  it('trains through every head with deep supervision', () => {
    const net = unetPlusPlus({ depth: 2, baseChannels: 2, numClasses: 2, deepSupervision: true });
    const target = tensor(Int32Array.from({ length: 64 }, (_, i) => i % 3 === 0 ? 1 : 0)).reshape(1, 8, 8);
    const outputs = net.call(randn([1, 1, 8, 8]));
    outputs.map((o) => crossEntropy(o, target)).reduce((a, b) => a.add(b)).backward();
    const missing = [...net.namedParameters()].filter(([, p]) => !p.grad).map(([n]) => n);
    expect(missing).toEqual([]);
  });

  it('refuses sizes its depth does not divide', () => {
    expect(() => new UNetPlusPlus({ depth: 2 }).call(randn([1, 1, 8, 10]))).toThrow(ShapeError);
    expect(() => new UNetPlusPlus({ depth: 2 }).call(randn([1, 1, 8, 10]))).toThrow(/UNetPlusPlus: spatial size 10 .* 8 or 12/);
  });
});
