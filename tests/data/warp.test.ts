// lib/data/warp.ts: the plumbing of the resampling transforms — batching, per-image flips,
// option checks, the fill rule and the affine and elastic grids.
import { describe, expect, it } from 'vitest';

import { IDENTITY_AFFINE, rotation } from '../../lib/data/geometry.js';
import {
  affineGridOf,
  affineSettings,
  batched,
  checkFill,
  checkInterpolation,
  cropWindow,
  drawFlips,
  elasticGrid,
  elasticSettings,
  flipWhere,
  imageSize,
  sampleWithFill,
  warp,
} from '../../lib/data/warp.js';
import { arange, ArgumentError, DTypeError, manualSeed, memory, ShapeError, tensor, zeros, type Device } from '../../lib/index.js';
import { describeDevices, expectClose } from '../helpers/devices.js';

describeDevices('warp', (device: Device) => {
  const image = () => arange(12, { dtype: 'float32', device }).reshape(1, 3, 4); // [C, H, W]

  it('the identity grid samples the image back; a half turn flips both axes', () => {
    const grid = affineGridOf([IDENTITY_AFFINE], 3, 4, device);
    expect(grid.shape).toEqual([1, 3, 4, 2]);
    expectClose(warp('test', image(), grid, 'bilinear', [0]).dataSync(), image().dataSync(), 1e-5);
    const turned = warp('test', image(), affineGridOf([rotation(180)], 3, 4, device), 'nearest', [0]);
    expect(turned.shape).toEqual([1, 3, 4]); // the caller's rank
    expect(turned.tolist()).toEqual([[[11, 10, 9, 8], [7, 6, 5, 4], [3, 2, 1, 0]]]);
  });

  it('pixels from outside take the fill: per channel, hard with nearest, blended with bilinear', () => {
    const batch = zeros([1, 2, 2, 2], { device }).add(1);
    // Shift the whole image one pixel right: the left column comes from outside.
    const shift = affineGridOf([{ ...IDENTITY_AFFINE, translate: [1, 0] }], 2, 2, device);
    expect(sampleWithFill('test', batch, shift, 'nearest', [5, 7]).tolist()).toEqual([[[[5, 1], [5, 1]], [[7, 1], [7, 1]]]]);
    // Half a pixel: the left column lies half outside, so it samples 0.5 of the image and a
    // mask of 0.5; torchvision's blend image * mask + (1 - mask) * fill gives 0.25 + 1.5.
    const half = affineGridOf([{ ...IDENTITY_AFFINE, translate: [0.5, 0] }], 2, 2, device);
    expectClose(sampleWithFill('test', batch, half, 'bilinear', [3]).slice(3, 0, 1).dataSync(), [1.75, 1.75, 1.75, 1.75], 1e-5);
    expect(() => sampleWithFill('rotate', batch, shift, 'nearest', [1, 2, 3])).toThrow(ShapeError);
    expect(() => sampleWithFill('rotate', batch, shift, 'nearest', [1, 2, 3])).toThrow('rotate: fill has 3 values for 2 channels');
  });

  it('flips happen per image with probability p', () => {
    manualSeed(2);
    const chosen = drawFlips(400, 0.25, device);
    expect(chosen.shape).toEqual([400, 1, 1, 1]);
    const count = chosen.sum().item();
    expect(count).toBeGreaterThan(60);
    expect(count).toBeLessThan(140);
    const x = arange(4, { dtype: 'float32', device }).reshape(2, 1, 1, 2);
    const which = tensor([true, false], { device }).reshape(2, 1, 1, 1);
    expect(flipWhere(x, which, 3).tolist()).toEqual([[[[1, 0]]], [[[2, 3]]]]);
  });

  it('elastic grids are seeded per call, and alpha 0 gives the identity grid', () => {
    manualSeed(4);
    const a = elasticGrid(2, 5, 6, [30, 30], [2, 2], device);
    manualSeed(4);
    expect(elasticGrid(2, 5, 6, [30, 30], [2, 2], device).dataSync()).toEqual(a.dataSync());
    expect(a.shape).toEqual([2, 5, 6, 2]);
    expectClose(elasticGrid(1, 3, 4, [0, 0], [2, 2], device).dataSync(), affineGridOf([IDENTITY_AFFINE], 3, 4, device).dataSync(), 1e-6);
  });

  it('cropWindow is a view of the last two dims', () => {
    const window = cropWindow(image(), 1, 2, [2, 2]);
    expect(window.tolist()).toEqual([[[6, 7], [10, 11]]]);
  });

  it('leaves no temporaries behind', () => {
    const x = image();
    const grid = affineGridOf([rotation(30)], 3, 4, device);
    const before = memory(device).tensors;
    const out = warp('test', x, grid, 'bilinear', [0]);
    expect(memory(device).tensors).toBe(before + 1);
    out.dispose();
  });
});

describe('warp arguments', () => {
  it('images are [C, H, W] or [N, C, H, W] float32', () => {
    expect(imageSize('rotate', zeros([2, 3, 4, 5]))).toEqual({ n: 2, h: 4, w: 5 });
    expect(imageSize('rotate', zeros([3, 4, 5]))).toEqual({ n: 1, h: 4, w: 5 });
    expect(() => imageSize('rotate', zeros([4, 5]))).toThrow(ShapeError);
    expect(() => imageSize('rotate', zeros([4, 5]))).toThrow('rotate: expected an image [C, H, W] or a batch [N, C, H, W], got shape [4, 5]');
    expect(() => batched('rotate', zeros([1, 1, 1, 1, 1]))).toThrow(/rotate: expected an image \[C, H, W\] or a batch/);
    const grid = affineGridOf([IDENTITY_AFFINE], 2, 2, 'cpu');
    expect(() => warp('rotate', zeros([1, 2, 2], { dtype: 'uint8' }), grid, 'nearest', [0])).toThrow(DTypeError);
  });

  it('options are checked when a transform is made, naming it', () => {
    expect(checkFill('rotate', 3)).toEqual([3]);
    expect(checkFill('rotate', [1, 2, 3])).toEqual([1, 2, 3]);
    expect(() => checkFill('rotate', [])).toThrow(ArgumentError);
    expect(() => checkFill('rotate', Number.NaN)).toThrow('rotate: expected fill to be a finite number or one per channel, got NaN');
    expect(checkInterpolation('rotate', 'bilinear')).toBe('bilinear');
    expect(() => checkInterpolation('rotate', 'bicubic' as never)).toThrow(/rotate: expected interpolation 'nearest' or 'bilinear', got/);
    expect(affineSettings('randomAffine', () => [IDENTITY_AFFINE], {}).mode).toBe('nearest');
    const elastic = elasticSettings('elasticTransform', {});
    expect([elastic.mode, elastic.fill]).toEqual(['bilinear', [0]]);
    expect(() => elasticSettings('elasticTransform', { alpha: -1 })).toThrow(ArgumentError);
    expect(() => elasticSettings('elasticTransform', { sigma: [1, 2, 3] as never })).toThrow(
      /elasticTransform: expected sigma to be a number >= 0 or an \[x, y\] pair of them/,
    );
  });

  it('settings draw one grid per image, with the affine parameters when there are some', () => {
    const settings = affineSettings('randomRotation', (n) => Array.from({ length: n }, () => rotation(90)), {});
    const draw = settings.draw(3, 4, 5, 'cpu');
    expect(draw.grid.shape).toEqual([3, 4, 5, 2]);
    expect(draw.params).toHaveLength(3);
    expect(elasticSettings('elasticTransform', { alpha: 1 }).draw(2, 4, 5, 'cpu').params).toBeNull();
  });
});
