import { describe, expect, it } from 'vitest';

import { ArgumentError, models, nn, noGrad, randn, ShapeError } from '../../../lib/index.js';

const { SSDLiteFeatureExtractorMobileNet, mobilenetExtractor, ssdliteBatchNorm } = models.detection;

/** MobileNetV3-Large as SSDlite builds it (reduced tail, SSDlite's BatchNorm), in eval mode. */
const mobilenet = (opts: { reducedTail?: boolean; widthMult?: number } = {}) => models.mobilenetV3Large({ reducedTail: true, normLayer: ssdliteBatchNorm, ...opts }).eval();

describe('SSDLiteFeatureExtractorMobileNet', { timeout: 180_000 }, () => {
  it('splits MobileNetV3 at C4\'s expansion layer under torchvision\'s names and computes what the backbone computes', () => {
    const net = mobilenet();
    const x = randn([1, 3, 96, 96]);
    const whole = noGrad(() => net.features.call(x));
    const backbone = new SSDLiteFeatureExtractorMobileNet(net.features, 13);
    backbone.eval();
    const names = [...backbone.stateDict().keys()];
    for (const name of ['features.0.0.0.weight', 'features.0.12.block.3.1.bias', 'features.0.13.0.weight', 'features.0.13.1.running_mean', 'features.1.0.1.0.weight', 'features.1.0.2.fc2.bias', 'features.1.0.3.0.weight', 'features.1.1.block.0.0.weight', 'features.1.3.1.weight', 'extra.0.0.0.weight', 'extra.0.1.0.weight', 'extra.3.2.1.running_var']) {
      expect(names, name).toContain(name);
    }
    expect(names.some((n) => n.startsWith('features.1.0.0.'))).toBe(false);
    expect(names.some((n) => n.startsWith('features.2'))).toBe(false);
    const maps = noGrad(() => backbone.call(x));
    expect([...maps.keys()]).toEqual(['0', '1', '2', '3', '4', '5']);
    // 96 / 16 = 6 cells, then 3, then the extra blocks halve (rounding up): 2, 1, 1, 1.
    expect([...maps.values()].map((t) => t.shape)).toEqual([[1, 672, 6, 6], [1, 480, 3, 3], [1, 512, 2, 2], [1, 256, 1, 1], [1, 256, 1, 1], [1, 128, 1, 1]]);
    expect(backbone.outChannels).toEqual([672, 480, 512, 256, 256, 128]);
    const a = maps.get('1')!.dataSync();
    const b = whole.dataSync();
    a.forEach((v, i) => expect(Math.abs(v - b[i]!), `${i}`).toBeLessThan(1e-4 * Math.max(1, Math.abs(b[i]!))));
    // The extra blocks: 1x1 to half the width, a 3x3 depthwise at stride 2, 1x1 to the width, each with BatchNorm and ReLU6.
    const [reduce, depthwise, expand] = [...backbone.extra.at(0).children()] as nn.Sequential[];
    expect((reduce!.at(0) as nn.Conv2d).weight.shape).toEqual([256, 480, 1, 1]);
    expect((depthwise!.at(0) as nn.Conv2d).weight.shape).toEqual([256, 1, 3, 3]);
    expect((depthwise!.at(0) as nn.Conv2d).options.stride).toBe(2);
    expect((expand!.at(0) as nn.Conv2d).weight.shape).toEqual([512, 256, 1, 1]);
    expect(expand!.at(2)).toBeInstanceOf(nn.ReLU6);
    backbone.dispose();
  });

  it('widthMult and minDepth set the extra blocks\' widths, max(minDepth, floor(d * widthMult))', () => {
    const backbone = new SSDLiteFeatureExtractorMobileNet(mobilenet().features, 13, { widthMult: 0.25, minDepth: 48 });
    expect(backbone.outChannels).toEqual([672, 480, 128, 64, 64, 48]);
    backbone.dispose();
  });

  it('rejects a backbone that is not MobileNetV3\'s features, a C4 with a residual or no expansion, bad options and a bad input', () => {
    const features = mobilenet().features;
    expect(() => new SSDLiteFeatureExtractorMobileNet(new nn.Conv2d(3, 8, 3) as never, 13)).toThrow(/SSDLiteFeatureExtractorMobileNet: expected backbone to be MobileNetV3's features/);
    expect(() => new SSDLiteFeatureExtractorMobileNet(features, 12)).toThrow(/expected backbone\[12\] to have no residual connection/);
    expect(() => new SSDLiteFeatureExtractorMobileNet(features, 16)).toThrow(/expected c4Pos to index an InvertedResidualV3 before the backbone's last layer \(17 layers\), got 16/);
    expect(() => new SSDLiteFeatureExtractorMobileNet(features, 0)).toThrow(ArgumentError);
    // MobileNetV3-Small's block 1 (16 -> 16 at stride 2, so no residual) has no expansion layer.
    const small = models.mobilenetV3Small().features;
    expect(() => new SSDLiteFeatureExtractorMobileNet(small, 1)).toThrow(/expected backbone\[1\] to start with a 1x1 expansion layer/);
    expect(() => new SSDLiteFeatureExtractorMobileNet(features, 13, { widthMult: 0 })).toThrow(/expected widthMult to be a positive number/);
    expect(() => new SSDLiteFeatureExtractorMobileNet(features, 13, { minDepth: 0 })).toThrow(/minDepth/);
    const backbone = new SSDLiteFeatureExtractorMobileNet(features, 13);
    expect(() => backbone.call(randn([1, 1, 64, 64]))).toThrow(ShapeError);
    expect(() => backbone.call(randn([3, 64, 64]))).toThrow(/SSDLiteFeatureExtractorMobileNet.forward: expected x of shape \[N, 3, H, W\], got \[3, 64, 64\]/);
    backbone.dispose();
  });
});

describe('mobilenetExtractor', { timeout: 180_000 }, () => {
  it('freezes MobileNetV3\'s stages below the top trainableLayers (stages at 0, 2, 4, 7, 13, 16), as torchvision\'s _mobilenet_extractor', () => {
    const trainableFeatures = (k: number) => {
      const backbone = mobilenetExtractor(mobilenet(), k);
      const names = [...backbone.namedParameters()].filter(([n, p]) => n.startsWith('features.') && p.requiresGrad).map(([n]) => n);
      expect([...backbone.namedParameters()].filter(([n]) => n.startsWith('extra.')).every(([, p]) => p.requiresGrad)).toBe(true);
      backbone.dispose();
      return names;
    };
    const all = trainableFeatures(6);
    expect(all.some((n) => n.startsWith('features.0.0.'))).toBe(true);
    expect(trainableFeatures(0)).toEqual([]);
    // 2: from block 13 (C4) on, which now spans features.0.13 and features.1.
    const two = trainableFeatures(2);
    expect(two.some((n) => n.startsWith('features.0.12.'))).toBe(false);
    expect(two.filter((n) => n.startsWith('features.0.')).every((n) => n.startsWith('features.0.13.'))).toBe(true);
    expect(two.filter((n) => n.startsWith('features.1.'))).toEqual(all.filter((n) => n.startsWith('features.1.')));
  });

  it('rejects a backbone that is not a MobileNetV3 and trainableLayers out of [0, 6]', () => {
    expect(() => mobilenetExtractor(models.mobilenetV2() as never, 6)).toThrow(/mobilenetExtractor: expected backbone to be a MobileNetV3/);
    expect(() => mobilenetExtractor(mobilenet(), 7)).toThrow(/mobilenetExtractor: expected trainableLayers in \[0, 6\], got 7/);
    expect(() => mobilenetExtractor(mobilenet(), 1.5)).toThrow(ArgumentError);
  });
});
