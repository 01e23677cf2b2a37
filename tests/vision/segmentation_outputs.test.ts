// thresholdMask and labelMap against PyTorch (tests/fixtures/segmentation_outputs.json, made by
// make_segmentation_outputs_fixtures.py): resize with F.interpolate, then argmax / threshold.
import { expect, it } from 'vitest';

import { ArgumentError, DTypeError, ShapeError, tensor, vision } from '../../lib/index.js';
import { describeDevices } from '../helpers/devices.js';
import { readFixture } from '../helpers/fixture_cases.js';

const { labelMap, thresholdMask } = vision;

interface LabelCase {
  shape: number[];
  scores: number[];
  size: number[];
  alignCorners: boolean;
  labels: number[];
  outShape: number[];
}

interface MaskCase {
  shape: number[];
  logits: number[];
  size: number[] | null;
  threshold: number;
  mask: number[];
  outShape: number[];
}

const fixture = readFixture<{ labels: LabelCase[]; masks: MaskCase[] }>('segmentation_outputs.json');

describeDevices('segmentation outputs', (device) => {
  for (const c of fixture.labels) {
    it(`labelMap [${c.shape.join(', ')}] -> [${c.size.join(', ')}] alignCorners ${c.alignCorners}: interpolate then argmax, as PyTorch`, () => {
      const scores = tensor(Float32Array.from(c.scores), { shape: c.shape, device });
      const labels = labelMap(scores, { size: c.size, alignCorners: c.alignCorners });
      expect(labels.dtype).toBe('int32');
      expect(labels.device).toBe(device);
      expect(labels.shape).toEqual(c.outShape);
      expect(Array.from(labels.cpu().dataSync())).toEqual(c.labels);
    });
  }

  it('labelMap without a size is the argmax over classes (ties: the lower class)', () => {
    const scores = tensor([[[[0.1, 2]], [[0.3, 2]], [[0.2, -1]]]], { device });
    expect(labelMap(scores).tolist()).toEqual([[[1, 0]]]);
  });

  for (const c of fixture.masks) {
    it(`thresholdMask logits [${c.shape.join(', ')}] size ${JSON.stringify(c.size)} threshold ${c.threshold}: as sigmoid(x) >= t`, () => {
      const logits = tensor(Float32Array.from(c.logits), { shape: c.shape, device });
      const mask = thresholdMask(logits, { logits: true, threshold: c.threshold, ...(c.size ? { size: c.size } : {}) });
      expect(mask.dtype).toBe('bool');
      expect(mask.shape).toEqual(c.outShape);
      expect(Array.from(mask.cpu().dataSync())).toEqual(c.mask);
    });
  }

  it('thresholdMask of probabilities compares with >= the threshold (default 0.5)', () => {
    const p = tensor([0.2, 0.5, 0.7], { device });
    expect(thresholdMask(p).tolist()).toEqual([false, true, true]);
    expect(thresholdMask(p, { threshold: 0.75 }).tolist()).toEqual([false, false, false]);
  });

  it('refuses bad inputs with typed errors naming the function and argument', () => {
    const scores = tensor([[[[0.1, 2]], [[0.3, 2]]]], { device });
    expect(() => labelMap(scores.to('int32'))).toThrow(DTypeError);
    expect(() => labelMap(scores.slice(1, 0, 1))).toThrow(/labelMap: expected scores \[N, C, \*spatial\] with C >= 2 classes/);
    expect(() => labelMap(scores, { size: [3] })).toThrow(ArgumentError);
    expect(() => labelMap(scores, { size: [3] })).toThrow(/labelMap: expected size with 2 entries/);
    expect(() => thresholdMask(scores.reshape([4]), { size: [3] })).toThrow(ShapeError);
    expect(() => thresholdMask(scores, { logits: true, threshold: 1 })).toThrow(/thresholdMask: expected threshold in \(0, 1\) for logits, got 1/);
    expect(() => thresholdMask(scores, { threshold: Number.NaN })).toThrow(/thresholdMask: expected threshold/);
  });
});
