import { describe, expect, it } from 'vitest';

import { ArgumentError, crossEntropy, DisposedError, manualSeed, nn, noGrad, profile, randn, relu, synchronize, tensor, type Tensor, where } from '../../lib/index.js';
import { fuseForInference } from '../../lib/infer/index.js';
import { resnet18 } from '../../lib/models/index.js';
import { maxRelDiff, trainedNet } from '../helpers/folding_net.js';

describe('fuseForInference', () => {
  it('folds each BatchNorm a convolution alone feeds, fuses the ReLUs after them, leaves shared outputs, and restores', async () => {
    const net = trainedNet();
    const x = randn([2, 3, 12, 12]);
    const reference = noGrad(() => net.call(x));
    const fused = fuseForInference(net, x);
    expect(fused.folded).toEqual([
      ['conv1', 'bn1'],
      ['conv2', 'bn2'],
    ]);
    expect(fused.activations).toEqual([
      ['conv1', 'relu'],
      ['conv2', 'relu'],
    ]); // conv3's output is read twice
    await synchronize(); // the profile counts only the fused forward's kernels
    const { result, ops } = await profile(() => noGrad(() => net.call(x)));
    expect(maxRelDiff(result, reference)).toBeLessThan(1e-5);
    expect(ops.find((o) => o.op === 'batchNorm')?.count).toBe(1); // bn3 only
    expect(ops.find((o) => o.op === 'relu')).toBeUndefined(); // both applied inside the convolutions
    // With autograd the layers take their own forward: gradients reach the BatchNorm.
    const y = net.call(x);
    expect(maxRelDiff(y, reference)).toBeLessThan(1e-5);
    crossEntropy(y, tensor([1, 3], { dtype: 'int32' })).backward();
    expect(net.bn1.weight!.grad).not.toBeNull();
    // Training mode too: batch statistics, running statistics updated.
    net.train();
    const before = net.bn1.runningMean!.tolist();
    net.call(x);
    expect(net.bn1.runningMean!.tolist()).not.toEqual(before);
    net.eval();
    fused.restore();
    expect(Object.hasOwn(net.conv1, 'forward')).toBe(false);
    expect(Object.hasOwn(net.bn1, 'forward')).toBe(false);
  });

  it('fuses a ReLU after a convolution without BatchNorm', () => {
    manualSeed(1);
    const net = new nn.Sequential(new nn.Conv2d(3, 4, 3), new nn.ReLU(), new nn.Conv2d(4, 2, 1));
    const x = randn([1, 3, 9, 9]);
    const reference = noGrad(() => net.call(x));
    const fused = fuseForInference(net, x);
    expect(fused.folded).toEqual([]);
    expect(fused.activations).toEqual([['0', 'relu']]);
    expect(maxRelDiff(noGrad(() => net.call(x)), reference)).toBeLessThan(1e-6);
    fused.restore();
  });

  it("fuses MobileNetV2's conv + BatchNorm + ReLU6 blocks", async () => {
    manualSeed(4);
    const bn = new nn.BatchNorm2d(8);
    const net = new nn.Sequential(new nn.Conv2d(3, 8, 3, { padding: 1 }), bn, new nn.ReLU6(), new nn.Conv2d(8, 4, 1)).eval();
    bn.runningMean = randn([8]);
    bn.runningVar = randn([8]).abs().add(0.2);
    const x = randn([2, 3, 10, 10]).mul(4); // activations past 6 too
    const reference = noGrad(() => net.call(x));
    const fused = fuseForInference(net, x);
    expect(fused.folded).toEqual([['0', '1']]);
    expect(fused.activations).toEqual([['0', 'relu6']]);
    await synchronize();
    const { result, ops } = await profile(() => noGrad(() => net.call(x)));
    expect(maxRelDiff(result, reference)).toBeLessThan(1e-5);
    expect(ops.map((o) => o.op).sort()).toEqual(['conv2d']);
    fused.restore();
  });

  it("fuses EfficientNet's conv + BatchNorm + SiLU blocks; silu of the fused output is a view, a second silu of that view computes", async () => {
    manualSeed(6);
    const block = new nn.Conv2dNormActivation(3, 8, 3, { activationLayer: () => new nn.SiLU() });
    const bn = block.at(1) as nn.BatchNorm2d;
    bn.runningMean = randn([8]);
    bn.runningVar = randn([8]).abs().add(0.2);
    const net = new nn.Sequential(block, new nn.SiLU()).eval(); // silu(silu(...)) must stay two SiLUs
    const x = randn([2, 3, 10, 10]).mul(4);
    const hook = block.at(0).registerForwardHook(() => undefined); // the reference: layer by layer
    const reference = noGrad(() => net.call(x));
    hook();
    const fused = fuseForInference(net, x);
    expect(fused.folded).toEqual([['0.0', '0.1']]);
    expect(fused.activations).toEqual([['0.0', 'silu']]);
    await synchronize();
    const { result, ops } = await profile(() => noGrad(() => net.call(x)));
    expect(maxRelDiff(result, reference)).toBeLessThan(1e-5);
    expect(ops.filter((o) => ['conv2d', 'batchNorm', 'silu'].includes(o.op)).map((o) => [o.op, o.count]).sort()).toEqual([
      ['conv2d', 1],
      ['silu', 1], // the outer SiLU only
    ]);
    fused.restore();
  });

  it('leaves a convolution whose output anything else reads, a comparison included', () => {
    manualSeed(2);
    class Masked extends nn.Module {
      conv = new nn.Conv2d(3, 4, 3);
      forward(x: Tensor): Tensor {
        const y = this.conv.call(x);
        return where(y.lt(-0.5), -1, relu(y)); // the comparison needs y's negative values
      }
    }
    const net = new Masked();
    const x = randn([1, 3, 9, 9]);
    const reference = noGrad(() => net.call(x));
    const fused = fuseForInference(net, x);
    expect(fused.activations).toEqual([]);
    expect(maxRelDiff(noGrad(() => net.call(x)), reference)).toBe(0);
    fused.restore();
  });

  it("on torchvision's resnet18: every BatchNorm folds, the ReLUs not after a residual add fuse, outputs agree to 1e-4", () => {
    manualSeed(0);
    const model = resnet18({ numClasses: 10 }).eval();
    for (const m of model.modules()) {
      if (m instanceof nn.BatchNorm2d) {
        m.runningMean = randn([m.numFeatures]).mul(0.1);
        m.runningVar = randn([m.numFeatures]).abs().add(0.5);
      }
    }
    const x = randn([2, 3, 64, 64]);
    const reference = noGrad(() => model.call(x));
    const fused = fuseForInference(model, x);
    expect(fused.folded.length).toBe(20); // stem + 16 block convs + 3 downsample convs
    expect(fused.activations).toEqual(
      ['conv1', ...['layer1', 'layer2', 'layer3', 'layer4'].flatMap((l) => [`${l}.0.conv1`, `${l}.1.conv1`])].map((name) => [name, 'relu']),
    );
    expect(maxRelDiff(noGrad(() => model.call(x)), reference)).toBeLessThan(1e-4);
    fused.restore();
    expect(maxRelDiff(noGrad(() => model.call(x)), reference)).toBe(0);
  });

  it('refuses an example that is not a live tensor, with typed errors, before changing the model', () => {
    const net = trainedNet().train();
    expect(() => fuseForInference(net, 3 as unknown as Tensor)).toThrow(ArgumentError);
    const gone = randn([1, 3, 12, 12]);
    gone.dispose();
    expect(() => fuseForInference(net, gone)).toThrow(DisposedError);
    expect(net.training).toBe(true);
    expect(Object.hasOwn(net.conv1, 'forward')).toBe(false);
  });
});
