import { describe, expect, it } from 'vitest';

import { ArgumentError, manualSeed, models, noGrad, randn, ShapeError } from '../../../lib/index.js';
import { segmentationInteropTest } from '../../helpers/segmentation_interop.js';

const { LRASPPHead, lrasppMobilenetV3Large } = models.segmentation;

describe('lrasppMobilenetV3Large against torchvision', () => {
  segmentationInteropTest('lraspp_mobilenet_v3_large', () => lrasppMobilenetV3Large({ numClasses: 5 }));
  // 75x101: the stride-2 stages round up and the head's upsampling is not a doubling.
  segmentationInteropTest('lraspp_mobilenet_v3_large_odd', () => lrasppMobilenetV3Large({ numClasses: 5 }));
});

describe('LRASPPHead', () => {
  it("has torchvision's names: cbr (conv, BN, ReLU), scale (pool, conv, sigmoid), low/high classifiers", () => {
    const head = new LRASPPHead(4, 6, 3, 8);
    expect([...head.namedParameters()].map(([n, p]) => `${n} ${p.shape.join('x')}`)).toEqual([
      'cbr.0.weight 8x6x1x1', 'cbr.1.weight 8', 'cbr.1.bias 8', 'scale.1.weight 8x6x1x1',
      'low_classifier.weight 3x4x1x1', 'low_classifier.bias 3', 'high_classifier.weight 3x8x1x1', 'high_classifier.bias 3',
    ]);
    const out = noGrad(() => head.eval().call(new Map([['low', randn([2, 4, 9, 11])], ['high', randn([2, 6, 5, 6])]])));
    expect(out.shape).toEqual([2, 3, 9, 11]);
  });

  it('names both feature maps it needs when one is missing', () => {
    const head = new LRASPPHead(4, 6, 3, 8);
    expect(() => head.call(new Map([['high', randn([1, 6, 2, 2])]]))).toThrow(ShapeError);
    expect(() => head.call(new Map([['high', randn([1, 6, 2, 2])]]))).toThrow(/LRASPPHead: expected features 'low' and 'high', got 'high'/);
  });
});

describe('lrasppMobilenetV3Large', () => {
  it("takes torchvision's low (features.4, stride 8) and high (features.16, stride 16) maps; 21 classes by default; any size", () => {
    manualSeed(1);
    const model = lrasppMobilenetV3Large().eval();
    expect((model.backbone as models.detection.IntermediateLayerGetter).returnLayers).toEqual({ 4: 'low', 16: 'high' });
    expect(model.classifier.low_classifier.inChannels).toBe(40);
    expect(model.classifier.cbr.stateDict().get('0.weight')!.shape).toEqual([128, 960, 1, 1]);
    // torchvision 0.14: lraspp_mobilenet_v3_large(weights_backbone=None) has 3,221,538 parameters.
    expect(model.parameterCount()).toBe(3221538);
    const features = noGrad(() => model.backbone.call(randn([1, 3, 33, 47])));
    expect(features.get('low')!.shape).toEqual([1, 40, 5, 6]);
    expect(features.get('high')!.shape).toEqual([1, 960, 3, 3]);
    const result = noGrad(() => model.call(randn([1, 3, 33, 47])));
    expect(Object.keys(result)).toEqual(['out']);
    expect(result.out.shape).toEqual([1, 21, 33, 47]);
    model.dispose();
  });

  it('trains: gradients reach the backbone and the head', () => {
    manualSeed(2);
    const model = lrasppMobilenetV3Large({ numClasses: 3, interChannels: 16 }).train();
    const { out } = model.call(randn([2, 3, 16, 16]));
    out.square().mean().backward();
    for (const name of ['backbone.0.0.weight', 'classifier.scale.1.weight', 'classifier.low_classifier.bias', 'classifier.high_classifier.weight']) {
      const p = new Map(model.namedParameters()).get(name)!;
      expect(p.grad, name).not.toBeNull();
      expect(p.grad!.abs().sum().item(), name).toBeGreaterThan(0);
    }
    model.dispose();
  });

  it('rejects bad options and inputs, naming them', () => {
    expect(() => lrasppMobilenetV3Large({ numClasses: 0 })).toThrow(ArgumentError);
    expect(() => lrasppMobilenetV3Large({ interChannels: 2.5 })).toThrow(/lrasppMobilenetV3Large.*interChannels/);
    const model = lrasppMobilenetV3Large({ numClasses: 2 });
    expect(() => model.call(randn([3, 32, 32]))).toThrow(/LRASPP: expected input \[N, C, H, W\], got shape \[3, 32, 32\]/);
    model.dispose();
  });
});
