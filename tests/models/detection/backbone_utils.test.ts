import { describe, expect, it } from 'vitest';

import { ArgumentError, io, manualSeed, memory, models, nn, noGrad, randn, type Tensor } from '../../../lib/index.js';
import { interopTest, scaledMaxDiff, splitExport } from '../../helpers/interop.js';

const { BackboneWithFPN, IntermediateLayerGetter, LastLevelP6P7, MobileNetFeatureExtractor, mobilenetBackbone, resnetFpnBackbone } = models.detection;
const command = '/usr/bin/python3 tests/fixtures/make_detection_interop.py';

// torchvision 0.14's resnet_fpn_backbone('resnet50', trainable_layers=3) and
// mobilenet_backbone('mobilenet_v2', fpn=True, trainable_layers=3), seeded random weights
// with random FrozenBatchNorm2d buffers (tests/fixtures/make_detection_interop.py).
const cases = [
  { file: 'resnet50_fpn', make: () => resnetFpnBackbone({ backboneName: 'resnet50', trainableLayers: 3 }) },
  { file: 'mobilenet_v2_fpn', make: () => mobilenetBackbone({ backboneName: 'mobilenet_v2', fpn: true, trainableLayers: 3 }) },
];

describe('backbones with FPN against torchvision', () => {
  for (const { file, make } of cases) {
    interopTest(`${file}.safetensors`, command, `${file}: torchvision's state dict loads strictly and gives its levels; the same parameters are frozen`, async (path) => {
      const { tensors, metadata } = await io.loadSafetensors(path);
      const { state, inputs, outputs, trainable } = splitExport(tensors, metadata);
      const backbone = make();
      expect(backbone.loadStateDict(state)).toEqual({ missing: [], unexpected: [] });
      const trainableHere = [...backbone.namedParameters()].filter(([, p]) => p.requiresGrad).map(([name]) => name);
      expect(trainableHere.sort()).toEqual([...trainable].sort());
      backbone.eval();
      const out = noGrad(() => backbone.call(inputs.get('images')!));
      expect([...out.keys()]).toEqual([...outputs.keys()]);
      for (const [name, expected] of outputs) expect(scaledMaxDiff(out.get(name)!, expected), name).toBeLessThan(1e-3);
      backbone.dispose();
    });
  }
});

describe('IntermediateLayerGetter', () => {
  it('returns the named children\'s outputs in execution order and keeps only the children up to the last one', () => {
    manualSeed(1);
    const resnet = models.resnet18({ normLayer: (c) => new nn.FrozenBatchNorm2d(c) });
    const body = new IntermediateLayerGetter(resnet, { layer2: 'feat1', layer4: 'feat2' });
    expect([...body.namedChildren()].map(([name]) => name)).toEqual(['conv1', 'bn1', 'relu', 'maxpool', 'layer1', 'layer2', 'layer3', 'layer4']);
    expect([...body.stateDict().keys()].some((k) => k.startsWith('fc.'))).toBe(false);
    expect(body.stateDict().get('layer1.0.conv1.weight')).toBe(resnet.layer1.stateDict().get('0.conv1.weight'));
    const x = randn([1, 3, 64, 64]);
    const out = noGrad(() => body.call(x));
    expect([...out].map(([name, t]) => [name, t.shape])).toEqual([['feat1', [1, 128, 8, 8]], ['feat2', [1, 512, 2, 2]]]);
    // layer4's output is the trunk's: the classifier head on it gives the model's logits.
    resnet.eval();
    const logits = noGrad(() => resnet.fc.call(resnet.flatten.call(resnet.avgpool.call(out.get('feat2')!))));
    expect(noGrad(() => resnet.call(x)).sub(logits).abs().max().item()).toBeLessThan(1e-5);
  });

  it('frees the outputs of the children it does not return', () => {
    manualSeed(6);
    const net = new nn.Sequential(new nn.Conv2d(3, 4, 3, { padding: 1 }), new nn.Conv2d(4, 4, 3, { padding: 1 }), new nn.Conv2d(4, 4, 3, { padding: 1 }), new nn.Conv2d(4, 4, 1));
    const body = new IntermediateLayerGetter(net, { 1: 'a', 3: 'b' });
    const x = randn([1, 3, 8, 8]);
    noGrad(() => body.call(x)).forEach((t) => t.dispose());
    const before = memory('cpu').tensors;
    const out = noGrad(() => body.call(x));
    expect(memory('cpu').tensors).toBe(before + 2);
    expect([...out.keys()]).toEqual(['a', 'b']);
    out.forEach((t) => t.dispose());
  });

  it('refuses return layers the model does not have, and children that do not return a tensor', () => {
    const resnet = models.resnet18();
    expect(() => new IntermediateLayerGetter(resnet, { layer5: '0', layer1: '1' })).toThrow(ArgumentError);
    expect(() => new IntermediateLayerGetter(resnet, { layer5: '0' })).toThrow(/IntermediateLayerGetter: returnLayers names 'layer5', which the model has no child of; its children are conv1, bn1, relu/);
    expect(() => new IntermediateLayerGetter(resnet, {})).toThrow(/expected returnLayers to name at least one child/);
    class Pair extends nn.Module<[x: Tensor], Tensor[]> {
      forward(x: Tensor): Tensor[] {
        return [x, x];
      }
    }
    class Net extends nn.Module {
      conv = new nn.Conv2d(3, 3, 1);
      pair = new Pair();
      forward(x: Tensor): Tensor {
        return this.pair.call(this.conv.call(x))[0]!;
      }
    }
    const getter = new IntermediateLayerGetter(new Net(), { pair: 'out' });
    expect(() => getter.call(randn([1, 3, 4, 4]))).toThrow(/IntermediateLayerGetter: expected child 'pair' to return a tensor, got \[Tensor, Tensor\]/);
  });
});

describe('resnetFpnBackbone', () => {
  it('builds torchvision\'s layout: FrozenBatchNorm2d, levels 0..3 and pool of 256 channels, the top stages trainable', () => {
    manualSeed(2);
    const backbone = resnetFpnBackbone({ backboneName: 'resnet18', trainableLayers: 2, returnedLayers: [2, 3, 4] });
    expect(backbone).toBeInstanceOf(BackboneWithFPN);
    expect(backbone.outChannels).toBe(256);
    expect([...backbone.modules()].some((m) => m instanceof nn.BatchNorm2d)).toBe(false);
    expect(backbone.body.returnLayers).toEqual({ layer2: '0', layer3: '1', layer4: '2' });
    expect(backbone.fpn.inChannelsList).toEqual([128, 256, 512]);
    const trainable = [...backbone.namedParameters()].filter(([, p]) => p.requiresGrad).map(([name]) => name);
    expect(trainable.every((n) => /^(body\.layer[34]|fpn)\./.test(n))).toBe(true);
    expect(trainable).toContain('body.layer3.0.conv1.weight');
    expect(trainable).toContain('fpn.inner_blocks.0.0.weight');
    const out = noGrad(() => backbone.call(randn([1, 3, 64, 64])));
    expect([...out].map(([name, t]) => [name, t.shape])).toEqual([['0', [1, 256, 8, 8]], ['1', [1, 256, 4, 4]], ['2', [1, 256, 2, 2]], ['pool', [1, 256, 1, 1]]]);
    backbone.dispose();
  });

  it('takes a built ResNet (loaded weights) and extra blocks, and trains every stage at trainableLayers 5 (bn1 too)', () => {
    manualSeed(3);
    const resnet = models.resnet18();
    const extra = new LastLevelP6P7(256, 256);
    const backbone = resnetFpnBackbone({ backbone: resnet, trainableLayers: 5, extraBlocks: extra });
    expect(new Map(backbone.body.namedChildren()).get('layer1')).toBe(resnet.layer1);
    expect([...backbone.namedParameters()].every(([, p]) => p.requiresGrad)).toBe(true);
    expect(backbone.fpn.extraBlocks).toBe(extra);
    expect([...noGrad(() => backbone.call(randn([1, 3, 64, 64]))).keys()]).toEqual(['0', '1', '2', '3', 'p6', 'p7']);
    const frozen = resnetFpnBackbone({ backbone: models.resnet18(), trainableLayers: 0 });
    expect([...frozen.body.namedParameters()].some(([, p]) => p.requiresGrad)).toBe(false);
    backbone.dispose();
    frozen.dispose();
  });

  it('refuses bad arguments with typed errors', () => {
    expect(() => resnetFpnBackbone({})).toThrow(/resnetFpnBackbone: give exactly one of backboneName and backbone/);
    expect(() => resnetFpnBackbone({ backboneName: 'resnet18', backbone: {} as never })).toThrow(ArgumentError);
    // @ts-expect-error: not a zoo ResNet
    expect(() => resnetFpnBackbone({ backboneName: 'resnet999' })).toThrow(/expected backboneName resnet18, resnet34, resnet50, got 'resnet999'/);
    const resnet = models.resnet18();
    // @ts-expect-error: not a ResNet
    expect(() => resnetFpnBackbone({ backbone: new nn.Sequential() })).toThrow(/expected backbone to be a ResNet, got Sequential/);
    expect(() => resnetFpnBackbone({ backbone: resnet, normLayer: (c) => new nn.BatchNorm2d(c) })).toThrow(/normLayer applies to a backbone built by name/);
    expect(() => resnetFpnBackbone({ backboneName: 'resnet18', trainableLayers: 6 })).toThrow(/expected trainableLayers to be an integer in \[0, 5\], got 6/);
    expect(() => resnetFpnBackbone({ backboneName: 'resnet18', returnedLayers: [0, 1] })).toThrow(/resnetFpnBackbone: expected returnedLayers to be increasing integers in \[1, 4\], got \[0 \(number\), 1 \(number\)\]/);
    expect(() => resnetFpnBackbone({ backboneName: 'resnet18', returnedLayers: [5] })).toThrow(ArgumentError);
    expect(() => resnetFpnBackbone({ backboneName: 'resnet18', returnedLayers: [3, 2] })).toThrow(ArgumentError);
    expect(() => resnetFpnBackbone({ backboneName: 'resnet18', returnedLayers: [] })).toThrow(ArgumentError);
  });
});

describe('mobilenetBackbone', () => {
  it('with fpn: stages from the strided blocks, the last two by default, FrozenBatchNorm2d', () => {
    manualSeed(4);
    const backbone = mobilenetBackbone({ backboneName: 'mobilenet_v2', fpn: true, returnedLayers: [3, 4, 5], trainableLayers: 0 });
    expect(backbone.body.returnLayers).toEqual({ 7: '0', 14: '1', 18: '2' });
    expect(backbone.fpn.inChannelsList).toEqual([64, 160, 1280]);
    expect([...backbone.body.namedParameters()].some(([, p]) => p.requiresGrad)).toBe(false);
    expect([...backbone.modules()].some((m) => m instanceof nn.BatchNorm2d)).toBe(false);
    const out = noGrad(() => backbone.call(randn([1, 3, 96, 96])));
    expect([...out].map(([name, t]) => [name, t.shape])).toEqual([['0', [1, 256, 6, 6]], ['1', [1, 256, 3, 3]], ['2', [1, 256, 3, 3]], ['pool', [1, 256, 2, 2]]]);
    backbone.dispose();
  });

  it('without fpn: the features then a 1x1 convolution to 256 channels, as torchvision', () => {
    manualSeed(5);
    const net = models.mobilenetV2();
    const backbone = mobilenetBackbone({ backbone: net, fpn: false, trainableLayers: 2 });
    expect(backbone).toBeInstanceOf(MobileNetFeatureExtractor);
    expect(backbone.outChannels).toBe(256);
    expect(backbone.at(0)).toBe(net.features);
    expect(noGrad(() => backbone.call(randn([1, 3, 64, 64]))).shape).toEqual([1, 256, 2, 2]);
    // trainableLayers 2: the stages from block 14 on (stage_indices [0, 2, 4, 7, 14, 18][6 - 2]).
    const trainable = [...net.features.namedParameters()].filter(([, p]) => p.requiresGrad).map(([name]) => Number(name.split('.')[0]));
    expect(Math.min(...trainable)).toBe(14);
    backbone.dispose();
  });

  it('refuses bad arguments with typed errors', () => {
    // @ts-expect-error: fpn is required, as in torchvision
    expect(() => mobilenetBackbone({ backboneName: 'mobilenet_v2' })).toThrow(/mobilenetBackbone: expected fpn to be true or false, got undefined/);
    // @ts-expect-error: not a zoo MobileNet
    expect(() => mobilenetBackbone({ backboneName: 'mobilenet_v3_large', fpn: true })).toThrow(/expected backboneName 'mobilenet_v2', got 'mobilenet_v3_large'/);
    expect(() => mobilenetBackbone({ fpn: true })).toThrow(/give exactly one of backboneName and backbone/);
    expect(() => mobilenetBackbone({ backboneName: 'mobilenet_v2', fpn: true, trainableLayers: 7 })).toThrow(/expected trainableLayers to be an integer in \[0, 6\], got 7/);
    expect(() => mobilenetBackbone({ backboneName: 'mobilenet_v2', fpn: true, returnedLayers: [5, 6] })).toThrow(/expected returnedLayers to be increasing integers in \[0, 5\]/);
    expect(() => mobilenetBackbone({ backboneName: 'mobilenet_v2', fpn: false, returnedLayers: [5, 6] })).toThrow(/returnedLayers and extraBlocks apply only with fpn: true/);
  });
});
