import { describe, expect, it } from 'vitest';

import { flopsOf, opCases, selectCases, trainCases } from '../../bench/cases.js';
import { detectionCases } from '../../bench/detection_cases.js';
import { inferenceCases } from '../../bench/inference_cases.js';
import { segmentationCases } from '../../bench/segmentation_cases.js';

describe('bench case selection', () => {
  it('selects every case when no name is given', () => {
    const all = selectCases([]);
    expect(all.ops).toEqual(opCases);
    expect(all.train).toEqual(trainCases);
    expect(all.detection).toEqual(detectionCases);
    expect(all.segmentation).toEqual(segmentationCases);
    expect(all.inference).toEqual(inferenceCases);
  });

  it('selects the inference rows by group or by name', () => {
    expect(selectCases(['inference']).inference).toEqual(inferenceCases);
    expect(selectCases(['mobilenetV2']).inference.map((c) => `${c.model}/${c.batch}`)).toEqual(['mobilenet_v2/32']);
    expect(selectCases(['mobilenetV2']).ops).toEqual([]);
  });

  it('selects ops and models by name, every shape of each', () => {
    const picked = selectCases(['add', 'unet']);
    expect(picked.ops.map((c) => c.shape.join('x'))).toEqual(['1048576', '16x64x112x112']);
    expect(picked.train.map((c) => `${c.model}/${c.batch}`)).toEqual(['unet/1', 'unet/4']);
  });

  it("has issue 17's zoo rows: resnet50 and efficientnetB0, a training step and an eval pass each, 16 x 3 x 224 x 224, both selected by model name", () => {
    const rows = (names: string[]) => selectCases(names).train.map((c) => `${c.model} ${c.mode} ${c.batch}x${c.shape.join('x')}`);
    expect(rows(['resnet50', 'efficientnetB0'])).toEqual([
      'resnet50 train 16x3x224x224',
      'resnet50 eval 16x3x224x224',
      'efficientnetB0 train 16x3x224x224',
      'efficientnetB0 eval 16x3x224x224',
    ]);
    expect(selectCases(['resnet50']).inference).toEqual([]);
    expect(trainCases.filter((c) => c.mode === 'eval').map((c) => c.model)).toEqual(['resnet50', 'efficientnetB0']);
  });

  it('throws on an unknown name, listing the known ones', () => {
    expect(() => selectCases(['conv2d', 'conv4d'])).toThrow(/unknown case conv4d; known: matmul, add, .*resnet18Cifar, unet/);
  });
});

describe('bench FLOP counts', () => {
  it('counts a 3x3 conv as 2 * N * outC * H * W * C * 9, and training as three such passes', () => {
    const conv = opCases.find((c) => c.op === 'conv2d')!;
    expect(flopsOf(conv)).toBe(2 * 32 * 64 * 56 * 56 * 64 * 9);
    expect(flopsOf({ ...conv, op: 'conv2d_train' })).toBe(3 * 2 * 32 * 64 * 56 * 56 * 64 * 9);
  });

  it('has no FLOP count for memory-bound ops', () => {
    expect(flopsOf(opCases.find((c) => c.op === 'add')!)).toBeNull();
  });
});
