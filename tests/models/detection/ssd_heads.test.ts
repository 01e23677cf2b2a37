import { describe, expect, it } from 'vitest';

import { ArgumentError, models, nn, noGrad, randn, ShapeError } from '../../../lib/index.js';

const { SSDClassificationHead, SSDHead, SSDRegressionHead, SSDScoringHead } = models.detection;

describe('SSD heads', () => {
  it('lay every level\'s [N, A*K, H, W] out as [N, HWA, K], level by level, cell-major, then default box (torchvision\'s order)', () => {
    const head = new SSDScoringHead(new nn.ModuleList([new nn.Conv2d(3, 2 * 5, 3, { padding: 1 }), new nn.Conv2d(4, 3 * 5, 3, { padding: 1 })]), 5);
    const features = [randn([2, 3, 4, 3]), randn([2, 4, 2, 2])];
    const out = noGrad(() => head.call(features));
    expect(out.shape).toEqual([2, 4 * 3 * 2 + 2 * 2 * 3, 5]);
    const got = out.dataSync();
    let row = 0;
    [...head.moduleList].forEach((conv, level) => {
      const raw = noGrad(() => conv.call(features[level]!));
      const [n, ak, h, w] = raw.shape as [number, number, number, number];
      const a = ak / 5;
      const values = raw.dataSync();
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          for (let anchor = 0; anchor < a; anchor++, row++) {
            for (let img = 0; img < n; img++) {
              for (let k = 0; k < 5; k++) {
                const want = values[((img * ak + anchor * 5 + k) * h + y) * w + x]!;
                expect(got[(img * out.shape[1]! + row) * 5 + k]).toBeCloseTo(want, 5);
              }
            }
          }
        }
      }
    });
  });

  it('SSDHead holds the two heads under torchvision\'s names, Xavier-uniform weights and zero biases', () => {
    const head = new SSDHead([8, 16], [4, 6], 3);
    expect([...head.stateDict().keys()].sort()).toEqual([
      'classification_head.module_list.0.bias', 'classification_head.module_list.0.weight', 'classification_head.module_list.1.bias', 'classification_head.module_list.1.weight',
      'regression_head.module_list.0.bias', 'regression_head.module_list.0.weight', 'regression_head.module_list.1.bias', 'regression_head.module_list.1.weight',
    ]);
    const cls = head.classificationHead.moduleList.at(1);
    expect(cls.weight.shape).toEqual([6 * 3, 16, 3, 3]);
    expect(head.regressionHead.moduleList.at(0).weight.shape).toEqual([4 * 4, 8, 3, 3]);
    // Xavier uniform: |w| <= sqrt(6 / (fanIn + fanOut)).
    const bound = Math.sqrt(6 / (16 * 9 + 18 * 9));
    expect(Math.max(...Array.from(cls.weight.dataSync(), Math.abs))).toBeLessThanOrEqual(bound);
    expect(Array.from(cls.bias!.dataSync()).every((v) => v === 0)).toBe(true);
    const { cls_logits, bbox_regression } = noGrad(() => head.call([randn([1, 8, 4, 4]), randn([1, 16, 2, 2])]));
    expect(cls_logits.shape).toEqual([1, 16 * 4 + 4 * 6, 3]);
    expect(bbox_regression.shape).toEqual([1, 16 * 4 + 4 * 6, 4]);
    expect(head.classificationHead.numClasses).toBe(3);
  });

  it('reject bad channels, box counts and classes (ArgumentError) and features of the wrong count or channels (ShapeError)', () => {
    expect(() => new SSDClassificationHead([], [], 3)).toThrow(/SSDClassificationHead: expected inChannels to be a non-empty array of positive integers/);
    expect(() => new SSDClassificationHead([8, 16], [4], 3)).toThrow(/expected numAnchors of 2 entries \(one per level of inChannels\), got 1/);
    expect(() => new SSDClassificationHead([8], [4], 0)).toThrow(ArgumentError);
    expect(() => new SSDRegressionHead([8, 0], [4, 4])).toThrow(ArgumentError);
    expect(() => new SSDScoringHead(new nn.ModuleList([]), 4)).toThrow(/expected moduleList to be a non-empty ModuleList/);
    const head = new SSDRegressionHead([8, 16], [4, 6]);
    expect(() => head.call([randn([1, 8, 4, 4])])).toThrow(/SSDRegressionHead.forward: expected features to be an array of 2 feature maps/);
    expect(() => head.call([randn([1, 8, 4, 4]), randn([1, 8, 2, 2])])).toThrow(ShapeError);
    expect(() => head.call([randn([1, 8, 4, 4]), randn([2, 16, 2, 2])])).toThrow(/expected features\[1\] of shape \[N, 16, H, W\] \(N of features\[0\]\)/);
  });
});
