import { describe, expect, it } from 'vitest';

import { ArgumentError, crossEntropy, manualSeed, models, nn, optim, randn, ShapeError, tensor, zeros } from '../../../lib/index.js';
import { expectMatchesPyTorch, unetCaseOptions } from '../../helpers/unet_fixture.js';

const { UNet, unet, unet3d } = models.segmentation;

describe('UNet against the same network in PyTorch', () => {
  it.each(['unet', 'unet_bilinear', 'unet_unpadded'])('%s loads strictly and gives its eval output', (name) => {
    expectMatchesPyTorch(name, unet(unetCaseOptions(name)));
  });

  it('unet3d loads strictly and gives its eval output', () => {
    const { spatialDims: _, ...opts } = unetCaseOptions('unet3d');
    expectMatchesPyTorch('unet3d', unet3d(opts));
  });
});

describe('UNet', () => {
  it('keeps the input size, for several depths, widths and both upsamplings', () => {
    for (const [depth, size] of [[1, [6, 10]], [3, [16, 24]], [4, [32, 48]]] as const) {
      for (const upsampling of ['transposed', 'bilinear'] as const) {
        const net = unet({ inChannels: 3, numClasses: 5, depth, baseChannels: 2, upsampling });
        expect(net.call(randn([2, 3, ...size])).shape).toEqual([2, 5, ...size]);
      }
    }
  });

  it("has the original's size arithmetic unpadded, and says so in outputSize", () => {
    const original = unet({ padding: false, numClasses: 2, baseChannels: 1 });
    expect(original.outputSize([572, 572])).toEqual([388, 388]);
    expect(original.outputSize([570, 572])).toBeNull();
    expect(original.call(randn([1, 1, 188, 188])).shape).toEqual([1, 2, 4, 4]);
    expect(unet({ depth: 2 }).outputSize([20, 24])).toEqual([20, 24]);
  });

  it('has the layout and parameter count of the original (31.04M at depth 4, base 64)', () => {
    const net = unet({ inChannels: 1, numClasses: 2 });
    const names = [...net.namedParameters()].map(([n]) => n);
    expect(names.slice(0, 3)).toEqual(['encoder.0.0.weight', 'encoder.0.1.weight', 'encoder.0.1.bias']);
    expect(names).toContain('upsample.3.weight');
    expect(names).toContain('decoder.0.3.weight');
    expect(names.slice(-2)).toEqual(['head.weight', 'head.bias']);
    // Convs without bias (BatchNorm follows), 2x2 up-convs and a 1x1 head: 31,036,546, as the same net in PyTorch (make_unet_fixtures.py).
    expect(net.parameterCount()).toBe(31_036_546);
    net.dispose();
  });

  it('initialises convs with He normal weights and zero biases', () => {
    manualSeed(0);
    const net = unet({ baseChannels: 32, depth: 1 });
    const w = net.encoder.at(1).children().next().value!.weight as nn.Conv2d['weight'];
    // fan-in 32 * 9: std sqrt(2 / 288) = 0.0833
    const v = w.dataSync();
    const std = Math.sqrt(v.reduce((s, x) => s + x * x, 0) / v.length);
    expect(std).toBeGreaterThan(0.075);
    expect(std).toBeLessThan(0.092);
    expect(Array.from(net.head.namedParameters()).find(([n]) => n === 'bias')![1].dataSync().every((b) => b === 0)).toBe(true);
  });

  it('drops out at the end of the contracting path in training only', () => {
    const net = unet({ depth: 1, baseChannels: 2, dropout: 0.5 });
    expect(net.bottleneckDropout).toBeInstanceOf(nn.Dropout);
    net.eval();
    const x = randn([1, 1, 8, 8]);
    expect(Array.from(net.call(x).dataSync())).toEqual(Array.from(net.call(x).dataSync()));
  });

  it('trains: a few SGD steps reduce the loss, and every parameter gets a gradient', () => {
    manualSeed(1);
    const net = unet({ inChannels: 1, numClasses: 2, depth: 2, baseChannels: 4 });
    // Segment the bright square.
    const x = zeros([2, 1, 16, 16]);
    const mask = new Int32Array(2 * 16 * 16);
    for (let n = 0; n < 2; n++) for (let i = 4; i < 10; i++) for (let j = 3 + n; j < 11 + n; j++) mask[n * 256 + i * 16 + j] = 1;
    const target = tensor(mask).reshape(2, 16, 16);
    const input = x.add(target.reshape(2, 1, 16, 16).float()).add(randn([2, 1, 16, 16]).mul(0.1));
    const opt = new optim.SGD(net.parameters(), { lr: 0.1, momentum: 0.9 });
    const losses: number[] = [];
    for (let step = 0; step < 12; step++) {
      opt.zeroGrad();
      const loss = crossEntropy(net.call(input), target);
      loss.backward();
      if (step === 0) {
        const missing = [...net.namedParameters()].filter(([, p]) => !p.grad || p.grad.abs().sum().item() === 0).map(([n]) => n);
        expect(missing).toEqual([]);
      }
      opt.step();
      losses.push(loss.item());
    }
    expect(losses.at(-1)!).toBeLessThan(0.5 * losses[0]!);
  });

  it('refuses bad options and inputs with typed errors', () => {
    expect(() => unet({ upsampling: 'nearest' as never })).toThrow(ArgumentError);
    expect(() => unet({ upsampling: 'nearest' as never })).toThrow(/unet: expected upsampling 'transposed' or 'bilinear', got nearest/);
    expect(() => unet({ dropout: 1.5 })).toThrow(/unet: expected dropout in \[0, 1\]/);
    expect(() => new UNet({ depth: 2 }).call(randn([1, 1, 10, 12]))).toThrow(ShapeError);
    expect(() => new UNet({ depth: 2 }).call(randn([1, 1, 10, 12]))).toThrow(/UNet: spatial size 10 \(dim 2\) .* nearest sizes that work: 8 or 12/);
    expect(() => unet3d({ depth: 1 }).call(randn([1, 1, 4, 4]))).toThrow(/\[N, C, D, H, W\]/);
  });
});
