import { expect, it } from 'vitest';

import { manualSeed, models, nn, noGrad, profile, randn, synchronize } from '../../../lib/index.js';
import { expectClose } from '../../helpers/devices.js';
import { checkTrainingStep } from '../../helpers/training_step.js';

// Parameter counts printed by torchvision 0.14 for the same architectures.
it('ResNet parameter counts and state-dict names equal torchvision', () => {
  manualSeed(1);
  const r18 = models.resnet18();
  expect(r18.parameterCount()).toBe(11689512);
  const names = [...r18.stateDict().keys()];
  expect(names).toContain('layer2.0.downsample.0.weight');
  expect(names).toContain('layer4.1.bn2.running_var');
  expect(names).toContain('fc.bias');
  expect(names).toHaveLength(122); // torchvision's resnet18 state_dict has 122 entries
  r18.dispose();
  const r50 = models.resnet50();
  expect(r50.parameterCount()).toBe(25557032);
  r50.dispose();
  const r34 = models.resnet34({ numClasses: 10 });
  expect(r34.parameterCount()).toBe(21289802);
  r34.dispose();
});

it('a ResNet runs forward and backward on small images with any class count', () => {
  manualSeed(2);
  const net = models.resnet18({ numClasses: 7, inChannels: 1 });
  const x = randn([2, 1, 32, 32]);
  const out = net.call(x);
  expect(out.shape).toEqual([2, 7]);
  out.sum().backward();
  expect(net.conv1.weight.grad!.shape).toEqual([64, 1, 7, 7]);
  net.eval();
  expect(noGrad(() => net.call(x)).shape).toEqual([2, 7]);
  net.dispose();
});

it('children are registered in torchvision order, the order forward runs them (IntermediateLayerGetter relies on it)', () => {
  const net = models.resnet18({ numClasses: 3 });
  expect([...net.namedChildren()].map(([name]) => name)).toEqual(['conv1', 'bn1', 'relu', 'maxpool', 'layer1', 'layer2', 'layer3', 'layer4', 'avgpool', 'flatten', 'fc']);
  expect([...net.layer1.at(0).namedChildren()].map(([name]) => name)).toEqual(['conv1', 'bn1', 'relu', 'conv2', 'bn2']);
  expect(net.outChannels).toBe(512);
  net.dispose();
  const r50 = models.resnet50({ numClasses: 3 });
  expect([...r50.layer2.at(0).namedChildren()].map(([name]) => name)).toEqual(['conv1', 'bn1', 'conv2', 'bn2', 'conv3', 'bn3', 'relu', 'downsample']);
  expect(r50.outChannels).toBe(2048);
  r50.dispose();
});

// torchvision 0.14: resnet18(norm_layer=FrozenBatchNorm2d).state_dict() has 102 entries;
// resnet50's has 25,503,912 parameters.
it('normLayer replaces every BatchNorm2d, as torchvision\'s norm_layer (FrozenBatchNorm2d for detection)', () => {
  manualSeed(5);
  const frozen = (c: number) => new nn.FrozenBatchNorm2d(c);
  const r18 = models.resnet18({ normLayer: frozen });
  expect([...r18.modules()].some((m) => m instanceof nn.BatchNorm2d)).toBe(false);
  expect([...r18.modules()].filter((m) => m instanceof nn.FrozenBatchNorm2d)).toHaveLength(20);
  const names = [...r18.stateDict().keys()];
  expect(names).toHaveLength(102);
  expect(names).toContain('layer2.0.downsample.1.running_var');
  expect(names).not.toContain('bn1.num_batches_tracked');
  // A BatchNorm2d checkpoint loads strictly into the frozen model and gives its outputs.
  const plain = models.resnet18().eval();
  r18.loadStateDict(plain.stateDict());
  r18.eval();
  const x = randn([1, 3, 32, 32]);
  const diff = noGrad(() => r18.call(x).sub(plain.call(x)).abs().max().item());
  expect(diff).toBeLessThan(1e-4);
  r18.dispose();
  plain.dispose();
  const r50 = models.resnet50({ normLayer: frozen });
  expect(r50.parameterCount()).toBe(25503912);
  r50.dispose();
});

it('replaceStrideWithDilation keeps the resolution and dilates as torchvision (output stride 8 with [false, true, true])', () => {
  const net = models.resnet50({ replaceStrideWithDilation: [false, true, true] });
  // torchvision: layer3's first block keeps dilation 1 (its stride is replaced), the rest use 2; layer4's first 2, the rest 4.
  const conv2 = (layer: 'layer3' | 'layer4', block: number) => ([...net[layer].children()][block] as models.Bottleneck).conv2.options;
  expect([conv2('layer3', 0), conv2('layer3', 1), conv2('layer4', 0), conv2('layer4', 2)].map((o) => [o.stride, o.dilation, o.padding])).toEqual([
    [1, 1, 1], [1, 2, 2], [1, 2, 2], [1, 4, 4],
  ]);
  const x = randn([1, 3, 64, 64]);
  const trunk = noGrad(() => {
    let out = net.maxpool.call(net.relu.call(net.bn1.call(net.conv1.call(x))));
    for (const layer of [net.layer1, net.layer2, net.layer3, net.layer4]) out = layer.call(out);
    return out;
  });
  expect(trunk.shape).toEqual([1, 2048, 8, 8]);
  expect(net.parameterCount()).toBe(25_557_032); // dilation adds no parameters
  expect(() => models.resnet18({ replaceStrideWithDilation: [false, true, true] })).toThrow(/ResNet: replaceStrideWithDilation needs Bottleneck blocks/);
  expect(() => models.resnet50({ replaceStrideWithDilation: [true] as never })).toThrow(/ResNet: expected replaceStrideWithDilation to be 3 booleans/);
  net.dispose();
});

// torchvision 0.14: parameter count and state_dict length of each model with 1000 classes,
// and layer1.0.conv2's weight: ResNeXt groups it (32 groups of 4 channels), Wide ResNet doubles it.
const deeper = [
  ['resnet101', models.resnet101, 44_549_160, 626, [64, 64, 3, 3]],
  ['resnet152', models.resnet152, 60_192_808, 932, [64, 64, 3, 3]],
  ['resnext50x32x4d', models.resnext50x32x4d, 25_028_904, 320, [128, 4, 3, 3]],
  ['wideResnet50x2', models.wideResnet50x2, 68_883_240, 320, [128, 128, 3, 3]],
] as const;

for (const [name, make, parameters, entries, conv2] of deeper) {
  it(`${name}: torchvision's parameter count, state dict and widths; a training step on 2×3×32×32`, { timeout: 120_000 }, async () => {
    manualSeed(4);
    const net = make();
    expect(net.parameterCount()).toBe(parameters);
    const state = net.stateDict();
    expect(state.size).toBe(entries);
    expect(state.get('layer1.0.conv2.weight')!.shape).toEqual(conv2);
    await checkTrainingStep(net, [2, 3, 32, 32], 1000);
    net.dispose();
  });
}

it('resnext50x32x4d takes groups and widthPerGroup from its options over its own', () => {
  const net = models.resnext50x32x4d({ groups: 8, numClasses: 10 });
  // width = 64 * 4 / 64 * 8 = 32 channels in 8 groups of 4.
  expect(net.stateDict().get('layer1.0.conv2.weight')!.shape).toEqual([32, 4, 3, 3]);
  net.dispose();
});

it('refuses groups and widths that torchvision refuses', () => {
  expect(() => models.resnet18({ groups: 2 })).toThrow(/ResNet: BasicBlock supports only groups 1 and widthPerGroup 64, as in torchvision, got 2 and 64/);
  expect(() => models.resnet34({ widthPerGroup: 128 })).toThrow(/BasicBlock supports only/);
  expect(() => models.resnet50({ groups: 0 })).toThrow(/ResNet: expected groups to be an integer >= 1, got 0/);
  expect(() => models.resnet50({ widthPerGroup: 1.5 })).toThrow(/ResNet: expected widthPerGroup to be an integer >= 1, got 1.5/);
});

// In eval mode without autograd, each block's convolution + BatchNorm (+ ReLU) pairs run as
// one convolution (nn/layers/fused_conv.ts convNormActivation), leaving only the residual
// add and its ReLU as separate passes.
it('ResNet blocks in eval mode without autograd fold their BatchNorms: the values of the layers one by one', async () => {
  manualSeed(6);
  for (const make of [() => models.resnet18({ numClasses: 5 }), () => models.resnet50({ numClasses: 5 })]) {
    const net = make();
    noGrad(() => {
      for (const m of net.modules()) {
        if (!(m instanceof nn.BatchNorm2d)) continue;
        nn.init.uniform_(m.runningMean!, -0.5, 0.5);
        nn.init.uniform_(m.runningVar!, 0.5, 2);
        nn.init.uniform_(m.weight!, 0.5, 1.5);
        nn.init.uniform_(m.bias!, -0.5, 0.5);
      }
    });
    net.eval();
    const x = randn([2, 3, 40, 40]);
    await synchronize();
    const fused = await profile(() => noGrad(() => net.call(x)));
    const count = (op: string) => fused.ops.find((o) => o.op === op)?.count ?? 0;
    expect(count('batchNorm')).toBe(0);
    const blocks = [...net.modules()].filter((m) => m instanceof models.BasicBlock || m instanceof models.Bottleneck).length;
    expect(count('relu')).toBe(blocks); // the ReLU after each residual add, no other
    // An input that needs a gradient runs the layers one by one.
    const want = net.call(x.detach().requiresGrad_());
    expectClose(Array.from(await fused.result.data()), Array.from(await want.data()), 1e-4);
    net.dispose();
  }
});
