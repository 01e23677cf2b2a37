import { describe, expect, it } from 'vitest';

import { models, noGrad, randn } from '../../../lib/index.js';
import { segmentationInteropTest } from '../../helpers/segmentation_interop.js';

const { FCNHead, fcnResnet50 } = models.segmentation;

describe('fcnResnet50 against torchvision', () => {
  segmentationInteropTest('fcn_resnet50', () => fcnResnet50({ numClasses: 5, auxLoss: true }));
});

describe('FCNHead', () => {
  it("is torchvision's: conv 3x3 to in/4, BN, ReLU, Dropout(0.1), conv 1x1", () => {
    const head = new FCNHead(64, 3);
    expect([...head.children()].map((m) => m.constructor.name)).toEqual(['Conv2d', 'BatchNorm2d', 'ReLU', 'Dropout', 'Conv2d']);
    expect([...head.namedParameters()].map(([n, p]) => `${n} ${p.shape.join('x')}`)).toEqual([
      '0.weight 16x64x3x3', '1.weight 16', '1.bias 16', '4.weight 3x16x1x1', '4.bias 3',
    ]);
    expect(head.eval().call(randn([2, 64, 5, 7])).shape).toEqual([2, 3, 5, 7]);
  });
});

describe('fcnResnet50', () => {
  it('returns out (and aux only with auxLoss) at the input size, 21 classes by default', () => {
    const plain = fcnResnet50().eval();
    const result = noGrad(() => plain.call(randn([1, 3, 40, 56])));
    expect(Object.keys(result)).toEqual(['out']);
    expect(result.out.shape).toEqual([1, 21, 40, 56]);
    expect(plain.aux_classifier).toBeNull();
    plain.dispose();
  });
});
