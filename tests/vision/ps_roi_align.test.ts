import { expect, it } from 'vitest';

import { ArgumentError, psRoiAlign, rand, tensor, vision } from '../../lib/index.js';

// The op itself is tested against torchvision in tests/ops/ps_roi_align.test.ts; the module
// only stores its configuration and calls it.
it('PSRoIAlign calls psRoiAlign with its configuration and prints it', () => {
  const x = rand([2, 12, 9, 11]);
  const rois = tensor([[0, 1.3, 2.1, 7.6, 8.2], [1, -2, 3, 4, 12]], { dtype: 'float32' });
  const pool = new vision.PSRoIAlign([2, 3], 0.5, 2);
  expect(pool.outputSize).toEqual([2, 3]);
  expect(pool.call(x, rois).tolist()).toEqual(psRoiAlign(x, rois, [2, 3], { spatialScale: 0.5, samplingRatio: 2 }).tolist());
  expect(new vision.PSRoIAlign(2, 1, -1).call(x, rois).shape).toEqual([2, 3, 2, 2]);
  expect(pool.toString()).toBe('PSRoIAlign(outputSize=[2, 3], spatialScale=0.5, samplingRatio=2)');
});

it('PSRoIAlign refuses a bad configuration with typed errors', () => {
  expect(() => new vision.PSRoIAlign(0, 1, 2)).toThrow(ArgumentError);
  expect(() => new vision.PSRoIAlign(0, 1, 2)).toThrow(/PSRoIAlign: expected outputSize to be an integer >= 1 or two of them, got 0/);
  expect(() => new vision.PSRoIAlign([2, 2.5], 1, 2)).toThrow(/PSRoIAlign: expected outputSize/);
  expect(() => new vision.PSRoIAlign(2, 0, 2)).toThrow(/PSRoIAlign: expected spatialScale > 0, got 0/);
  expect(() => new vision.PSRoIAlign(2, 1, 0.5)).toThrow(/PSRoIAlign: expected an integer samplingRatio, got 0.5/);
});
