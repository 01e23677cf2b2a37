import { describe, expect, it } from 'vitest';

import { models, noGrad, randn } from '../../../lib/index.js';
import { segmentationInteropTest } from '../../helpers/segmentation_interop.js';

const { ASPP, ASPPPooling, DeepLabHead, deeplabv3Resnet50 } = models.segmentation;

describe('deeplabv3Resnet50 against torchvision', () => {
  segmentationInteropTest('deeplabv3_resnet50', () => deeplabv3Resnet50({ numClasses: 5, auxLoss: true }));
});

describe('ASPP', () => {
  it("has torchvision's branches (1x1, one dilated 3x3 per rate, image pooling) and projection", () => {
    const aspp = new ASPP(8, [2, 3], 4);
    const names = [...aspp.namedParameters()].map(([n, p]) => `${n} ${p.shape.join('x')}`);
    expect(names).toContain('convs.0.0.weight 4x8x1x1');
    expect(names).toContain('convs.2.0.weight 4x8x3x3');
    expect(names).toContain('convs.3.1.weight 4x8x1x1');
    expect(names).toContain('project.0.weight 4x16x1x1');
    expect(aspp.eval().call(randn([2, 8, 6, 5])).shape).toEqual([2, 4, 6, 5]);
  });

  it('spreads the image-level branch over the whole map', () => {
    const pooling = new ASPPPooling(3, 2).eval();
    const y = noGrad(() => pooling.call(randn([1, 3, 4, 5]))).dataSync();
    // One value per channel, broadcast over the 4x5 map.
    for (let c = 0; c < 2; c++) for (let i = 1; i < 20; i++) expect(y[c * 20 + i]).toBeCloseTo(y[c * 20]!, 6);
  });
});

describe('deeplabv3Resnet50', () => {
  it('returns out at the input size with the DeepLab head, 21 classes by default', () => {
    const model = deeplabv3Resnet50().eval();
    expect(model.classifier).toBeInstanceOf(DeepLabHead);
    const { out, aux } = noGrad(() => model.call(randn([1, 3, 33, 47])));
    expect(out.shape).toEqual([1, 21, 33, 47]);
    expect(aux).toBeUndefined();
    model.dispose();
  });
});
