import { describe, expect, it } from 'vitest';

import { ArgumentError, nn, randn, ShapeError } from '../../../lib/index.js';
import {
  centerCrop,
  checkUNetInput,
  DoubleConv,
  levelWidths,
  resolveUNetOptions,
  unetOutputSize,
  upsampler,
} from '../../../lib/models/segmentation/unet_blocks.js';

describe('unetOutputSize', () => {
  it('keeps sizes with padded convs when 2^depth divides them, and is null otherwise', () => {
    expect(unetOutputSize(128, 4, true)).toBe(128);
    expect(unetOutputSize(48, 4, true)).toBe(48);
    expect(unetOutputSize(100, 3, true)).toBeNull(); // 100 / 8 is not an integer
    expect(unetOutputSize(8, 4, true)).toBeNull();
  });

  it("gives the original's 572 -> 388 with unpadded convs at depth 4", () => {
    expect(unetOutputSize(572, 4, false)).toBe(388);
    // 570 - 4 = 566, / 2 = 283, - 4 = 279: odd before the second pooling.
    expect(unetOutputSize(570, 4, false)).toBeNull();
    expect(unetOutputSize(20, 4, false)).toBeNull(); // shrinks below zero
  });
});

describe('checkUNetInput', () => {
  const o = resolveUNetOptions('t', { depth: 3, inChannels: 1 });

  it('accepts sizes the depth divides', () => {
    expect(() => checkUNetInput('t', randn([1, 1, 16, 24]), o, true)).not.toThrow();
  });

  it('names the nearest sizes that work', () => {
    expect(() => checkUNetInput('t', randn([1, 1, 16, 20]), o, true)).toThrow(ShapeError);
    expect(() => checkUNetInput('t', randn([1, 1, 16, 20]), o, true)).toThrow(/t: spatial size 20 \(dim 3\) does not work with depth 3: it must be a multiple of 2\^depth = 8; nearest sizes that work: 16 or 24/);
    expect(() => checkUNetInput('t', randn([1, 1, 4, 16]), o, true)).toThrow(/nearest sizes that work: 8$/);
    const unpadded = resolveUNetOptions('t', { depth: 4 });
    expect(() => checkUNetInput('t', randn([1, 1, 570, 572]), unpadded, false)).toThrow(/spatial size 570 .* nearest sizes that work: 556 or 572/);
  });

  it('refuses the wrong rank or channel count', () => {
    expect(() => checkUNetInput('t', randn([1, 16, 16]), o, true)).toThrow(/t: expected input \[N, C, H, W\], got shape \[1, 16, 16\]/);
    expect(() => checkUNetInput('t', randn([1, 3, 16, 16]), o, true)).toThrow(/t: expected 1 input channels/);
    const volumes = resolveUNetOptions('t', { spatialDims: 3 });
    expect(() => checkUNetInput('t', randn([1, 1, 16, 16]), volumes, true)).toThrow(/\[N, C, D, H, W\]/);
  });
});

describe('resolveUNetOptions', () => {
  it('fills in the defaults of the original U-Net', () => {
    const o = resolveUNetOptions('t', {});
    expect([o.inChannels, o.numClasses, o.depth, o.baseChannels, o.spatialDims]).toEqual([1, 1, 4, 64, 2]);
    expect(levelWidths(o)).toEqual([64, 128, 256, 512, 1024]);
  });

  it('refuses bad options with typed errors naming them', () => {
    expect(() => resolveUNetOptions('unet', { depth: 0 })).toThrow(ArgumentError);
    expect(() => resolveUNetOptions('unet', { depth: 0 })).toThrow(/unet: expected depth/);
    expect(() => resolveUNetOptions('unet', { baseChannels: 2.5 })).toThrow(/unet: expected baseChannels/);
    expect(() => resolveUNetOptions('unet', { spatialDims: 1 as never })).toThrow(/unet: expected spatialDims 2 or 3, got 1/);
  });
});

describe('DoubleConv', () => {
  it('is conv, norm, act twice, without conv biases when normalised', () => {
    const block = new DoubleConv(3, 8, resolveUNetOptions('t', {}));
    expect([...block.namedParameters()].map(([n, p]) => `${n} ${p.shape.join('x')}`)).toEqual([
      '0.weight 8x3x3x3', '1.weight 8', '1.bias 8', '3.weight 8x8x3x3', '4.weight 8', '4.bias 8',
    ]);
    expect(block.call(randn([2, 3, 10, 12])).shape).toEqual([2, 8, 10, 12]);
  });

  it('has biased convs and no norm with normLayer null, and pluggable norm and activation', () => {
    const bare = new DoubleConv(3, 8, resolveUNetOptions('t', { normLayer: null }));
    expect([...bare.namedParameters()].map(([n]) => n)).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
    const grouped = new DoubleConv(3, 8, resolveUNetOptions('t', { normLayer: (c) => new nn.GroupNorm(2, c), activation: () => new nn.LeakyReLU() }));
    expect([...grouped.children()].map((m) => m.constructor.name)).toEqual(['Conv2d', 'GroupNorm', 'LeakyReLU', 'Conv2d', 'GroupNorm', 'LeakyReLU']);
  });

  it('loses 4 pixels per dim unpadded, and builds 3-D blocks', () => {
    expect(new DoubleConv(1, 2, resolveUNetOptions('t', {}), 0).call(randn([1, 1, 12, 9])).shape).toEqual([1, 2, 8, 5]);
    expect(new DoubleConv(1, 2, resolveUNetOptions('t', { spatialDims: 3 })).call(randn([1, 1, 4, 5, 6])).shape).toEqual([1, 2, 4, 5, 6]);
  });
});

describe('upsampler and centerCrop', () => {
  it('doubles the size, transposed or interpolated', () => {
    const x = randn([1, 8, 5, 6]);
    expect(upsampler(2, 'transposed', 8, 4).call(x).shape).toEqual([1, 4, 10, 12]);
    expect(upsampler(2, 'bilinear', 8, 4).call(x).shape).toEqual([1, 4, 10, 12]);
    expect(upsampler(3, 'bilinear', 8, 4).call(randn([1, 8, 2, 3, 4])).shape).toEqual([1, 4, 4, 6, 8]);
  });

  it('crops about the centre to the reference size', () => {
    const x = randn([1, 1, 6, 7]);
    const cropped = centerCrop(x, randn([1, 1, 2, 3]));
    expect(cropped.shape).toEqual([1, 1, 2, 3]);
    expect(Array.from(cropped.dataSync())).toEqual(Array.from(x.slice(2, 2, 4).slice(3, 2, 5).contiguous().dataSync()));
    expect(centerCrop(x, x)).toBe(x);
  });
});
