// Sequential in training runs a BatchNorm followed by a ReLU as one op
// (lib/nn/layers/fused_norm_relu.ts): one batchNorm kernel each way and no relu kernel, the
// values, gradients and running statistics of the layers one by one, and the layers one by
// one whenever the fusion would change what a user sees (hooks, subclasses, other activations).
import { describe, expect, it } from 'vitest';

import { crossEntropy, manualSeed, nn, profile, randint, randn, synchronize, type Tensor } from '../../../lib/index.js';
import { expectClose } from '../../helpers/devices.js';

const values = (t: Tensor) => Array.from(t.dataSync() as Float32Array);
/** The kernels `fn` queued (after the ones queued before it have run). */
const opsOf = async (fn: () => unknown) => {
  await synchronize();
  return (await profile(fn)).ops.map((o) => o.op);
};

/** Conv → BN → ReLU → pool, twice, as the course CNNs build them, from one seed. */
function cnn(activation: () => nn.Module = () => new nn.ReLU()): nn.Sequential {
  manualSeed(9);
  return new nn.Sequential(
    new nn.Conv2d(3, 8, 3, { padding: 1, bias: false }), new nn.BatchNorm2d(8), activation(), new nn.MaxPool2d(2),
    new nn.Conv2d(8, 16, 3, { padding: 1, bias: false }), new nn.BatchNorm2d(16), activation(), new nn.Flatten(),
    new nn.Linear(16 * 4 * 4, 10),
  );
}

/** One training step's loss, gradients and running statistics. */
function trainStep(model: nn.Sequential, x: Tensor, y: Tensor) {
  const loss = crossEntropy(model.call(x), y);
  loss.backward();
  const grads = [...model.parameters()].map((p) => values(p.grad!));
  const stats = [...model.namedBuffers()].map(([, b]) => b).filter((b) => b.dtype === 'float32').map(values);
  return { loss: loss.item(), grads, stats };
}

describe('Sequential in training', () => {
  const x = randn([4, 3, 8, 8]);
  const y = randint(0, 10, [4]);

  it('runs BatchNorm2d + ReLU as one op: no relu kernel either way, the values of the layers one by one', async () => {
    const ops = await opsOf(() => trainStep(cnn(), x, y));
    expect(ops).not.toContain('relu');
    expect(ops).not.toContain('reluBackward');
    expect(ops).toContain('batchNorm');
    // The reference: a forward hook on each ReLU keeps every pair out of the fusion.
    const layerByLayer = () => {
      const model = cnn();
      for (const [, m] of model.namedModules()) if (m instanceof nn.ReLU) m.registerForwardHook(() => undefined);
      return model;
    };
    expect(await opsOf(() => trainStep(layerByLayer(), x, y))).toContain('relu');
    const want = trainStep(layerByLayer(), x, y);
    const got = trainStep(cnn(), x, y);
    expect(got.loss).toBeCloseTo(want.loss, 5);
    got.grads.forEach((g, i) => expectClose(g, want.grads[i]!, 1e-4));
    got.stats.forEach((s, i) => expectClose(s, want.stats[i]!, 1e-6));
  });

  it.each([
    ['a hook on the BatchNorm', (m: nn.Sequential) => m.at(1).registerForwardHook(() => undefined)],
    ['a hook on the ReLU', (m: nn.Sequential) => m.at(2).registerForwardPreHook(() => undefined)],
  ])('runs the layers one by one with %s', async (_, hook) => {
    const model = cnn();
    hook(model);
    const ops = await opsOf(() => trainStep(model, x, y));
    expect(ops.filter((op) => op === 'relu').length).toBe(1); // the other pair still fused
  });

  it('leaves other activations and subclasses to the layers', async () => {
    expect(await opsOf(() => trainStep(cnn(() => new nn.ReLU6()), x, y))).toContain('relu6');
    class MyReLU extends nn.ReLU {}
    expect(await opsOf(() => trainStep(cnn(() => new MyReLU()), x, y))).toContain('relu');
  });

  it('counts the batches the fused BatchNorm saw, as the layer does', () => {
    const model = cnn();
    trainStep(model, x, y);
    trainStep(model, x, y);
    expect((model.at(1) as nn.BatchNorm2d).numBatchesTracked!.item()).toBe(2);
  });
});
