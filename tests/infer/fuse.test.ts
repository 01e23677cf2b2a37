import { describe, expect, it } from 'vitest';

import { ArgumentError, crossEntropy, DisposedError, manualSeed, nn, noGrad, profile, randn, relu, synchronize, tensor, type Tensor, where } from '../../lib/index.js';
import { fuseForInference } from '../../lib/infer/index.js';
import { mobilenetV2, resnet18 } from '../../lib/models/index.js';
import { maxRelDiff, trainedNet } from '../helpers/folding_net.js';

/** Gives every BatchNorm2d of `model` running statistics away from the identity. */
function drawStatistics(model: nn.Module): void {
  for (const m of model.modules()) {
    if (m instanceof nn.BatchNorm2d) {
      m.runningMean = randn([m.numFeatures]).mul(0.1);
      m.runningVar = randn([m.numFeatures]).abs().add(0.5);
    }
  }
}

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

  /** Conv2d + BatchNorm2d (statistics drawn) + activation, as torchvision's Conv2dNormActivation. */
  const convBn = (inC: number, outC: number, k: number, opts: nn.ConvLayerOptions, act: nn.Module | null) => {
    const bn = new nn.BatchNorm2d(outC);
    bn.runningMean = randn([outC]).mul(0.1);
    bn.runningVar = randn([outC]).abs().add(0.5);
    return new nn.Sequential(...[new nn.Conv2d(inC, outC, k, { bias: false, padding: (k - 1) / 2, ...opts }), bn, ...(act ? [act] : [])]);
  };

  it("computes MobileNetV2's expansion, depthwise and projection convolutions as one op", async () => {
    manualSeed(5);
    const net = new nn.Sequential(convBn(8, 48, 1, {}, new nn.ReLU6()), convBn(48, 48, 3, { stride: 2, groups: 48 }, new nn.ReLU6()), convBn(48, 16, 1, {}, null)).eval();
    const x = randn([2, 8, 48, 48]).mul(3); // 48x48: the fused kernel on the CPU (from 20x20)
    const reference = noGrad(() => net.call(x));
    const fused = fuseForInference(net, x);
    expect(fused.folded.length).toBe(3);
    expect(fused.depthwiseBlocks).toEqual([['0.0', '1.0', '2.0']]);
    await synchronize();
    const { result, ops } = await profile(() => noGrad(() => net.call(x)));
    expect(ops.map((o) => `${o.op} x${o.count}`)).toEqual(['convDepthwiseBlock x1']);
    expect(maxRelDiff(result, reference)).toBeLessThan(1e-5);
    fused.restore();
    expect(maxRelDiff(noGrad(() => net.call(x)), reference)).toBe(0);
  });

  it('ends a block at the depthwise convolution when its result is read elsewhere; a projection does not start another block', async () => {
    manualSeed(8);
    class DepthwiseShared extends nn.Module {
      first = convBn(4, 16, 3, { stride: 2 }, new nn.ReLU6());
      dw = convBn(16, 16, 3, { groups: 16 }, new nn.ReLU6());
      project = convBn(16, 16, 1, {}, null);
      forward(input: Tensor): Tensor {
        const h = this.dw.call(this.first.call(input));
        return this.project.call(h).add(h);
      }
    }
    const x = randn([2, 4, 44, 44]);
    const shared = new DepthwiseShared().eval();
    const reference = noGrad(() => shared.call(x));
    const pair = fuseForInference(shared, x);
    expect(pair.depthwiseBlocks).toEqual([['first.0', 'dw.0', null]]);
    expect(pair.residuals).toEqual([]);
    expect(maxRelDiff(noGrad(() => shared.call(x)), reference)).toBeLessThan(1e-5);
    pair.restore();
    const chain = new nn.Sequential(
      convBn(4, 16, 1, {}, new nn.ReLU6()), convBn(16, 16, 3, { groups: 16 }, new nn.ReLU6()),
      convBn(16, 16, 1, {}, new nn.ReLU6()), convBn(16, 16, 3, { groups: 16 }, new nn.ReLU6()),
    ).eval();
    const chained = noGrad(() => chain.call(x));
    const fused = fuseForInference(chain, x);
    expect(fused.depthwiseBlocks).toEqual([['0.0', '1.0', '2.0']]);
    await synchronize();
    const { result, ops } = await profile(() => noGrad(() => chain.call(x)));
    expect(ops.map((o) => `${o.op} x${o.count}`).sort()).toEqual(['conv2d x1', 'convDepthwiseBlock x1']);
    expect(maxRelDiff(result, chained)).toBeLessThan(1e-5);
  });

  it("adds a block's input to its projection where one add alone reads both, in either order; the add's call costs no kernel", async () => {
    manualSeed(9);
    /** MobileNetV2's inverted residual: `x + conv(x)`, or `conv(x) + x` when `swapped`. */
    class Inverted extends nn.Module {
      conv = new nn.Sequential(convBn(16, 64, 1, {}, new nn.ReLU6()), convBn(64, 64, 3, { groups: 64 }, new nn.ReLU6()), convBn(64, 16, 1, {}, null));
      constructor(readonly swapped: boolean) {
        super();
      }
      forward(x: Tensor): Tensor {
        return this.swapped ? this.conv.call(x).add(x) : x.add(this.conv.call(x));
      }
    }
    /** The projection added to something else than the block's input (a copy of it, then the sum read twice). */
    class NotResidual extends Inverted {
      override forward(x: Tensor): Tensor {
        const y = this.conv.call(x);
        return y.add(x.mul(1)).add(y);
      }
    }
    // The stem's output is channels-last, as the fused kernel adds a residual.
    const net = new nn.Sequential(convBn(4, 16, 3, {}, new nn.ReLU6()), new Inverted(false), new Inverted(true), new NotResidual(false)).eval();
    const x = randn([2, 4, 24, 24]).mul(2);
    const reference = noGrad(() => net.call(x));
    const fused = fuseForInference(net, x);
    expect(fused.depthwiseBlocks.map(([first]) => first)).toEqual(['1.conv.0.0', '2.conv.0.0', '3.conv.0.0']);
    expect(fused.residuals).toEqual(['1.conv.0.0', '2.conv.0.0']);
    await synchronize();
    const { result, ops } = await profile(() => noGrad(() => net.call(x)));
    expect(ops.map((o) => `${o.op} x${o.count}`).sort()).toEqual(['add x2', 'conv2d x1', 'convDepthwiseBlock x3', 'full x1', 'mul x1']); // NotResidual's adds and mul by 1
    expect(maxRelDiff(result, reference)).toBeLessThan(1e-5);
    expect(maxRelDiff(noGrad(() => net.call(x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2))), reference)).toBeLessThan(1e-5);
    fused.restore();
    expect(maxRelDiff(noGrad(() => net.call(x)), reference)).toBe(0);
  });

  it('leaves a pointwise and depthwise pair apart when the pointwise result is read elsewhere or activated otherwise', () => {
    manualSeed(6);
    const x = randn([1, 4, 20, 20]);
    const mixed = new nn.Sequential(convBn(4, 16, 1, {}, new nn.ReLU()), convBn(16, 16, 3, { groups: 16 }, new nn.ReLU6())).eval();
    expect(fuseForInference(mixed, x).depthwiseBlocks).toEqual([]); // one mark could not cover relu then relu6
    class TwoReaders extends nn.Module {
      pw = convBn(4, 16, 1, {}, new nn.ReLU6());
      dw = convBn(16, 16, 3, { groups: 16 }, new nn.ReLU6());
      forward(input: Tensor): Tensor {
        const h = this.pw.call(input);
        return this.dw.call(h).add(h);
      }
    }
    const shared = new TwoReaders().eval();
    const reference = noGrad(() => shared.call(x));
    const fused = fuseForInference(shared, x);
    expect(fused.depthwiseBlocks).toEqual([]);
    expect(fused.folded.length).toBe(2);
    expect(maxRelDiff(noGrad(() => shared.call(x)), reference)).toBeLessThan(1e-5);
  });

  it("on torchvision's mobilenet_v2: every block runs as one op (the stem with the first), outputs agree to 1e-4", async () => {
    manualSeed(7);
    const model = mobilenetV2({ numClasses: 10 }).eval();
    drawStatistics(model);
    const x = randn([2, 3, 96, 96]); // maps of 48x48 down to 3x3: the fused kernel and the convolutions apart
    const reference = noGrad(() => model.call(x));
    const fused = fuseForInference(model, x);
    expect(fused.depthwiseBlocks.length).toBe(17);
    expect(fused.depthwiseBlocks[0]).toEqual(['features.0.0', 'features.1.conv.0.0', 'features.1.conv.1']);
    expect(fused.depthwiseBlocks[1]).toEqual(['features.2.conv.0.0', 'features.2.conv.1.0', 'features.2.conv.2']);
    await synchronize();
    const { result, ops } = await profile(() => noGrad(() => model.call(x)));
    expect(ops.find((o) => o.op === 'convDepthwiseBlock')?.count).toBe(17);
    expect(ops.find((o) => o.op === 'conv2d')?.count).toBe(1); // the last 1x1, 320 -> 1280
    expect(fused.residuals.length).toBe(10);
    expect(ops.find((o) => o.op === 'add')?.count).toBe(1); // the classifier's bias: the 10 residuals are added inside their blocks
    expect(maxRelDiff(result, reference)).toBeLessThan(1e-4);
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
    drawStatistics(model);
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
