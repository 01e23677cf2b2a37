import { describe, expect, it } from 'vitest';

import { ArgumentError, models, nn, noGrad, randn, ShapeError } from '../../../lib/index.js';

const { SSDLiteClassificationHead, SSDLiteHead, SSDLitePredictionBlock, SSDLiteRegressionHead, ssdliteBatchNorm, ssdliteNormalInit } = models.detection;

/** Mean and standard deviation of a tensor's values. */
function moments(values: Float32Array): [number, number] {
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  return [mean, Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length)];
}

describe('SSDlite heads', () => {
  it('SSDLitePredictionBlock is a 3x3 depthwise conv (no bias) with BatchNorm(eps 0.001, momentum 0.03) and ReLU6, then a 1x1 conv with bias', () => {
    const block = new SSDLitePredictionBlock(8, 12);
    expect([...block.stateDict().keys()].sort()).toEqual(['0.0.weight', '0.1.bias', '0.1.num_batches_tracked', '0.1.running_mean', '0.1.running_var', '0.1.weight', '1.bias', '1.weight']);
    const [convNorm, pointwise] = [...block.children()] as [nn.Sequential, nn.Conv2d];
    const [depthwise, norm, activation] = [...convNorm.children()] as [nn.Conv2d, nn.BatchNorm2d, nn.ReLU6];
    expect(depthwise.weight.shape).toEqual([8, 1, 3, 3]);
    expect(depthwise.bias).toBeNull();
    expect(norm.extraRepr()).toBe('8, eps=0.001, momentum=0.03');
    expect(activation).toBeInstanceOf(nn.ReLU6);
    expect(pointwise.weight.shape).toEqual([12, 8, 1, 1]);
    expect(block.inChannels).toBe(8);
    expect(noGrad(() => block.call(randn([2, 8, 5, 7]))).shape).toEqual([2, 12, 5, 7]);
  });

  it('SSDLiteHead holds the two heads under torchvision\'s names, normal(0, 0.03) weights and zero biases; outputs per default box', () => {
    const head = new SSDLiteHead([64, 16], [6, 4], 3);
    const names = [...head.stateDict().keys()];
    expect(names).toHaveLength(2 * 2 * 8);
    for (const name of ['classification_head.module_list.0.0.0.weight', 'classification_head.module_list.1.0.1.running_var', 'classification_head.module_list.1.1.bias', 'regression_head.module_list.0.1.weight', 'regression_head.module_list.1.0.1.num_batches_tracked']) {
      expect(names, name).toContain(name);
    }
    const cls = head.classificationHead.moduleList.at(0);
    expect(cls.outChannels).toBe(6 * 3);
    expect(head.regressionHead.moduleList.at(1).outChannels).toBe(4 * 4);
    const pointwise = [...cls.children()][1] as nn.Conv2d;
    const [mean, std] = moments(pointwise.weight.dataSync() as Float32Array);
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(std - 0.03)).toBeLessThan(0.006);
    expect(Array.from(pointwise.bias!.dataSync()).every((v) => v === 0)).toBe(true);
    const { cls_logits, bbox_regression } = noGrad(() => head.call([randn([2, 64, 4, 4]), randn([2, 16, 2, 2])]));
    expect(cls_logits.shape).toEqual([2, 16 * 6 + 4 * 4, 3]);
    expect(bbox_regression.shape).toEqual([2, 16 * 6 + 4 * 4, 4]);
    expect(head.classificationHead.numClasses).toBe(3);
  });

  it('ssdliteNormalInit sets every convolution to normal(0, 0.03) with zero biases and leaves norms alone', () => {
    const m = new nn.Sequential(new nn.Conv2d(64, 64, 3), ssdliteBatchNorm(64));
    ssdliteNormalInit(m);
    const conv = m.at(0) as nn.Conv2d;
    const [, std] = moments(conv.weight.dataSync() as Float32Array);
    expect(Math.abs(std - 0.03)).toBeLessThan(0.003);
    expect(Array.from(conv.bias!.dataSync()).every((v) => v === 0)).toBe(true);
    expect(Array.from((m.at(1) as nn.BatchNorm2d).weight!.dataSync()).every((v) => v === 1)).toBe(true);
  });

  it('reject bad channels, box counts, classes and norm layers (ArgumentError) and features of the wrong count or channels (ShapeError)', () => {
    expect(() => new SSDLiteClassificationHead([], [], 3)).toThrow(/SSDLiteClassificationHead: expected inChannels to be a non-empty array of positive integers/);
    expect(() => new SSDLiteClassificationHead([8, 16], [6], 3)).toThrow(/SSDLiteClassificationHead: expected numAnchors of 2 entries \(one per level of inChannels\), got 1/);
    expect(() => new SSDLiteClassificationHead([8], [6], 0)).toThrow(/SSDLiteClassificationHead: .*numClasses/);
    expect(() => new SSDLiteRegressionHead([8, 0], [6, 6])).toThrow(ArgumentError);
    expect(() => new SSDLiteRegressionHead([8], [6], 'bn' as never)).toThrow(/SSDLiteRegressionHead: expected normLayer to be a function/);
    expect(() => new SSDLitePredictionBlock(8, 0)).toThrow(/SSDLitePredictionBlock: .*outChannels/);
    const head = new SSDLiteRegressionHead([8, 16], [6, 6]);
    expect(() => head.call([randn([1, 8, 4, 4])])).toThrow(/SSDLiteRegressionHead.forward: expected features to be an array of 2 feature maps/);
    expect(() => head.call([randn([1, 8, 4, 4]), randn([1, 8, 2, 2])])).toThrow(ShapeError);
    expect(() => head.call([randn([1, 8, 4, 4]), randn([1, 8, 2, 2])])).toThrow(/expected features\[1\] of shape \[N, 16, H, W\]/);
  });
});
