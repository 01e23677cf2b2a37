// Sequential in eval mode without autograd runs Conv2d + BatchNorm2d (+ ReLU/ReLU6/SiLU) as one
// convolution (lib/nn/layers/fused_conv.ts): the same values as the layers one by one, one
// conv2d kernel and no batchNorm or activation kernel, and the layers one by one whenever the
// fusion would change what a user sees (training, autograd, hooks, other activations).
import { describe, expect, it } from 'vitest';

import { manualSeed, nn, noGrad, profile, randn, synchronize, type Tensor } from '../../../lib/index.js';
import { expectClose } from '../../helpers/devices.js';

/** BatchNorm statistics and affine parameters away from their defaults. */
function perturb(norm: nn.BatchNorm2d): void {
  for (const [t, low, high] of [[norm.runningMean!, -1, 1], [norm.runningVar!, 0.5, 2], [norm.weight!, 0.5, 1.5], [norm.bias!, -0.5, 0.5]] as const) {
    nn.init.uniform_(t, low, high);
  }
}

function block(activationLayer: (() => nn.Module) | null, groups = 1): nn.Conv2dNormActivation {
  const b = new nn.Conv2dNormActivation(8, 8, 3, { groups, activationLayer });
  perturb(b.at(1) as nn.BatchNorm2d);
  return b.eval();
}

const values = (t: Tensor) => Array.from(t.dataSync() as Float32Array);
/** The kernels `fn` queued (after the ones queued before it have run). */
const opsOf = async (fn: () => unknown) => {
  await synchronize();
  return (await profile(fn)).ops.map((o) => o.op);
};
const kernels = (ops: string[]) => ops.filter((op) => ['conv2d', 'batchNorm', 'relu', 'relu6', 'silu', 'hardswish'].includes(op));

/** The layers one by one: a hook on the convolution keeps it (and what follows it) out of the fusion. */
function layerByLayer(seq: nn.Sequential, x: Tensor): Tensor {
  const remove = seq.at(0).registerForwardHook(() => undefined);
  try {
    return noGrad(() => seq.call(x));
  } finally {
    remove();
  }
}

describe('Sequential in eval mode without autograd', () => {
  it.each([
    ['ReLU', () => new nn.ReLU(), 1],
    ['ReLU6', () => new nn.ReLU6(), 1],
    ['SiLU', () => new nn.SiLU(), 1],
    ['SiLU, depthwise', () => new nn.SiLU(), 8],
    ['no activation', null, 1],
  ] as const)('Conv2dNormActivation with %s: one convolution, the values of the layers one by one', async (_, act, groups) => {
    manualSeed(3);
    const b = block(act, groups);
    const x = randn([2, 8, 9, 7]).mul(3);
    const want = layerByLayer(b, x);
    expect(kernels(await opsOf(() => layerByLayer(b, x)))).toContain('batchNorm');
    let got: Tensor | null = null;
    expect(kernels(await opsOf(() => (got = noGrad(() => b.call(x)))))).toEqual(['conv2d']);
    expectClose(values(got!), values(want), 1e-5);
  });

  it("fuses each conv-norm-activation run of a plain Sequential (U-Net's double convolution), not what follows", async () => {
    manualSeed(5);
    const layers = [new nn.Conv2d(3, 6, 3, { padding: 1, bias: false }), new nn.BatchNorm2d(6), new nn.ReLU(), new nn.Conv2d(6, 4, 3, { padding: 1 }), new nn.BatchNorm2d(4), new nn.MaxPool2d(2)];
    perturb(layers[1] as nn.BatchNorm2d);
    perturb(layers[4] as nn.BatchNorm2d);
    const seq = new nn.Sequential(...layers).eval();
    const x = randn([2, 3, 8, 8]);
    const want = layerByLayer(seq, x);
    let got: Tensor | null = null;
    const ops = await opsOf(() => (got = noGrad(() => seq.call(x))));
    expect(kernels(ops)).toEqual(['conv2d']); // both convolutions are one row of the profile
    expect(ops.find((op) => op.startsWith('maxPool'))).toBeDefined();
    await synchronize();
    expect((await profile(() => noGrad(() => seq.call(x)))).ops.find((o) => o.op === 'conv2d')!.count).toBe(2);
    expectClose(values(got!), values(want), 1e-5);
  });

  it('a SiLU after a fused SiLU block computes its own SiLU', () => {
    manualSeed(7);
    const seq = new nn.Sequential(new nn.Conv2d(3, 4, 3, { padding: 1 }), new nn.BatchNorm2d(4), new nn.SiLU(), new nn.SiLU()).eval();
    perturb(seq.at(1) as nn.BatchNorm2d);
    const x = randn([1, 3, 6, 6]).mul(3);
    expectClose(values(noGrad(() => seq.call(x))), values(layerByLayer(seq, x)), 1e-5);
  });

  it('leaves a subclass of Conv2d with a forward of its own to that forward', () => {
    manualSeed(8);
    class Doubled extends nn.Conv2d {
      override forward(x: Tensor): Tensor {
        return super.forward(x).mul(2);
      }
    }
    const seq = new nn.Sequential(new Doubled(3, 4, 3, { padding: 1 }), new nn.BatchNorm2d(4), new nn.ReLU()).eval();
    perturb(seq.at(1) as nn.BatchNorm2d);
    const x = randn([1, 3, 6, 6]);
    expectClose(values(noGrad(() => seq.call(x))), values(layerByLayer(seq, x)), 1e-6);
  });

  it('runs the layers one by one in training, with autograd, under hooks on a layer, or for an activation it cannot fuse', async () => {
    manualSeed(4);
    const x = randn([2, 8, 6, 6]);
    // A separate relu (or in training, batchNorm) kernel shows that the convolution ran alone.
    const relu = block(() => new nn.ReLU());
    expect(await opsOf(() => noGrad(() => relu.call(x)))).not.toContain('relu');
    expect(await opsOf(() => relu.call(x))).toContain('relu'); // parameters that need gradients
    const hooked = block(() => new nn.ReLU());
    (hooked.at(1) as nn.BatchNorm2d).registerForwardHook(() => undefined);
    expect(await opsOf(() => noGrad(() => hooked.call(x)))).toContain('relu');
    const training = block(() => new nn.ReLU()).train();
    expect(await opsOf(() => noGrad(() => training.call(x)))).toContain('batchNorm'); // with its ReLU (fused_norm_relu.ts)
    const normTraining = block(() => new nn.ReLU());
    normTraining.at(1).train();
    expect(await opsOf(() => noGrad(() => normTraining.call(x)))).toContain('relu');
    const hardswish = block(() => new nn.Hardswish());
    expect(kernels(await opsOf(() => noGrad(() => hardswish.call(x))))).toEqual(expect.arrayContaining(['conv2d', 'hardswish']));
  });
});
