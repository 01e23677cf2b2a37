// lib/vision/image_list.ts: a padded batch and each image's size before padding.
import { expect, it } from 'vitest';

import { ArgumentError, ShapeError, vision, zeros } from '../../lib/index.js';
import { describeDevices } from '../helpers/devices.js';

describeDevices('ImageList', (device) => {
  it('holds a padded batch and the sizes before padding; to() moves the tensors', () => {
    const images = new vision.ImageList(zeros([2, 3, 40, 60], { device }), [[40, 55], [38, 60]]);
    expect(images.imageSizes).toEqual([[40, 55], [38, 60]]);
    const moved = images.to('cpu');
    expect(moved.tensors.device).toBe('cpu');
    expect(moved.imageSizes).toEqual(images.imageSizes);
  });

  it('rejects shapes and sizes that do not fit', () => {
    expect(() => new vision.ImageList(zeros([3, 40, 60], { device }), [[40, 60]])).toThrow(/ImageList: expected tensors of shape \[N, C, H, W\], got \[3, 40, 60\]/);
    expect(() => new vision.ImageList(zeros([2, 3, 40, 60], { device }), [[40, 60]])).toThrow(/expected 2 imageSizes/);
    expect(() => new vision.ImageList(zeros([1, 3, 40, 60], { device }), [[41, 60]])).toThrow(ShapeError);
    expect(() => new vision.ImageList(zeros([1, 3, 40, 60], { device }), [[40.5, 60]] as Array<[number, number]>)).toThrow(ArgumentError);
  });
});
