// Sequential in training runs a BatchNorm followed by a ReLU as one op
// (lib/nn/layers/fused_norm_relu.ts): one batchNorm kernel each way and no relu kernel, the
// values, gradients and running statistics of the layers one by one, and the layers one by
// one whenever the fusion would change what a user sees (hooks, subclasses, other activations).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { describe, expect, it } from 'vitest';

import { crossEntropy, data, manualSeed, memory, nn, optim, profile, randint, randn, ShapeError, synchronize, type Tensor } from '../../../lib/index.js';
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

describe('Sequential in training, fused BatchNorm + ReLU', () => {
  it('refuses an input of the wrong channel count with a ShapeError and changes no state', () => {
    const model = cnn();
    const norm = model.at(1) as nn.BatchNorm2d;
    const before = [norm.runningMean!, norm.runningVar!].map(values);
    // 4 channels into the second block's BatchNorm2d(16), past its 8 -> 16 convolution: feed the block directly.
    const block = new nn.Sequential(norm, new nn.ReLU());
    expect(() => block.call(randn([2, 4, 3, 3]))).toThrow(ShapeError);
    expect([norm.runningMean!, norm.runningVar!].map(values)).toEqual(before);
    expect(norm.numBatchesTracked!.item()).toBe(0);
  });

  it('a PyTorch-style loop with no dispose or scope leaves nothing behind per step', { timeout: 120_000 }, async () => {
    // Tensors this small put no pressure on V8, so forgotten ones wait for a collection: the
    // live counts after a forced one, at step 20 and at step 400, must be the same.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const settled = async () => {
      for (let round = 0; round < 3; ++round) {
        gc();
        await new Promise((resolve) => setTimeout(resolve, 10)); // the registry's cleanup runs as a task
      }
      const { tensors, bytes } = memory('cpu');
      return { tensors, bytes };
    };
    const model = cnn();
    const optimizer = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
    const loader = new data.DataLoader(new data.TensorDataset([randn([64, 3, 8, 8]), randint(0, 10, [64])]), { batchSize: 4, shuffle: true, seed: 0 });
    const counts: Array<{ tensors: number; bytes: number }> = [];
    let step = 0;
    while (step < 400) {
      for await (const [xb, yb] of loader) {
        optimizer.zeroGrad();
        crossEntropy(model.call(xb!), yb!).backward();
        optimizer.step();
        ++step;
        if (step === 20 || step === 400) counts.push(await settled());
        if (step === 400) break;
      }
    }
    expect(counts[1]).toEqual(counts[0]);
  });
});
