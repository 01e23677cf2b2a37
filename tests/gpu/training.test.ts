// Whole-model checks that only mean something on a GPU (issue 5): a training step on CUDA
// matches the CPU, a float16 autocast step tracks the float32 one, the fused optimizers
// agree across devices, and memory does not grow over 100 steps. Without a usable GPU the suite is visibly skipped with the reason.
import { describe, expect, it } from 'vitest';

import { autocast, crossEntropy, cuda, GradScaler, manualSeed, memory, models, optim, randint, randn, scope, synchronize, type Tensor } from '../../lib/index.js';
import { expectClose } from '../helpers/devices.js';

const gpu = cuda.isAvailable();
const suite = gpu ? describe : describe.skip;
const title = gpu ? 'GPU training' : `GPU training [skipped: ${cuda.unavailableReason()}]`;

type Net = ReturnType<typeof models.resnet18>;

/** One SGD step of `net` on (x, y); returns the loss. */
function step(net: Net, sgd: optim.SGD, x: Tensor, y: Tensor): number {
  return scope(() => {
    sgd.zeroGrad();
    const loss = crossEntropy(net.call(x), y);
    loss.backward();
    sgd.step();
    return loss.item();
  });
}

suite(title, () => {
  it('a resnet18 training step on cuda:0 matches the CPU (loss and updated weights)', () => {
    manualSeed(0);
    const cpuNet = models.resnet18({ numClasses: 10 });
    const gpuNet = models.resnet18({ numClasses: 10 });
    gpuNet.loadStateDict(cpuNet.stateDict());
    gpuNet.to('cuda:0');
    const x = randn([8, 3, 32, 32]);
    const y = randint(0, 10, [8]);
    const cpuLoss = step(cpuNet, new optim.SGD(cpuNet.parameters(), { lr: 0.1, momentum: 0.9 }), x, y);
    const gpuLoss = step(gpuNet, new optim.SGD(gpuNet.parameters(), { lr: 0.1, momentum: 0.9 }), x.to('cuda:0'), y.to('cuda:0'));
    expect(Math.abs(gpuLoss - cpuLoss)).toBeLessThan(1e-3 * Math.max(1, Math.abs(cpuLoss)));
    const gpuState = gpuNet.stateDict();
    for (const [name, value] of cpuNet.stateDict()) {
      expectClose(gpuState.get(name)!.to('cpu').dataSync(), value.dataSync(), 2e-3);
    }
  });

  it('a resnet18 step under float16 autocast with a GradScaler tracks the float32 step', () => {
    manualSeed(2);
    const reference = models.resnet18({ numClasses: 10 }).to('cuda:0');
    const mixed = models.resnet18({ numClasses: 10 }).to('cuda:0');
    mixed.loadStateDict(reference.stateDict());
    const x = randn([8, 3, 32, 32], { device: 'cuda:0' });
    const y = randint(0, 10, [8], { device: 'cuda:0' });
    const exactLoss = step(reference, new optim.SGD(reference.parameters(), { lr: 0.1 }), x, y);
    const sgd = new optim.SGD(mixed.parameters(), { lr: 0.1 });
    const scaler = new GradScaler();
    const mixedLoss = scope(() => {
      sgd.zeroGrad();
      const loss = autocast(() => crossEntropy(mixed.call(x), y));
      scaler.scale(loss).backward();
      expect(scaler.step(sgd)).toBe(true); // 2^16 * loss does not overflow float16 gradients here
      scaler.update();
      return loss.item();
    });
    expect(Math.abs(mixedLoss - exactLoss)).toBeLessThan(2e-2 * Math.max(1, Math.abs(exactLoss)));
    const exactState = reference.stateDict();
    for (const [name, value] of mixed.stateDict()) {
      expectClose(value.to('cpu').dataSync(), exactState.get(name)!.to('cpu').dataSync(), 5e-2);
    }
  });

  it('the fused optimizers give the same parameters on cuda:0 as on the CPU', () => {
    for (const make of [
      (p: Tensor<'float32'>[]) => new optim.SGD(p, { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-4 }),
      (p: Tensor<'float32'>[]) => new optim.AdamW(p, { lr: 1e-2 }),
      (p: Tensor<'float32'>[]) => new optim.RMSprop(p, { lr: 1e-2, momentum: 0.5, centered: true }),
    ]) {
      manualSeed(1);
      const start = randn([3000]);
      const grads = [randn([3000]), randn([3000]), randn([3000])];
      const run = (device: 'cpu' | 'cuda:0') => {
        const p = start.to(device).requiresGrad_() as Tensor<'float32'>;
        const opt = make([p]);
        for (const g of grads) {
          p.grad = g.to(device) as Tensor<'float32'>;
          opt.step();
        }
        return p.to('cpu').dataSync();
      };
      expectClose(run('cuda:0'), run('cpu'), 1e-5);
    }
  });

  it('memory does not grow over 100 training steps', async () => {
    manualSeed(2);
    const net = models.simpleCnn({ inChannels: 3 }).to('cuda:0');
    const sgd = new optim.SGD(net.parameters(), { lr: 0.01, momentum: 0.9 });
    const x = randn([32, 3, 32, 32]).to('cuda:0');
    const y = randint(0, 10, [32]).to('cuda:0');
    let settled = 0;
    for (let i = 0; i < 100; ++i) {
      step(net as unknown as Net, sgd, x, y);
      if (i === 9) {
        await synchronize('cuda:0');
        settled = memory('cuda:0').bytes;
      }
    }
    await synchronize('cuda:0');
    expect(memory('cuda:0').bytes).toBe(settled);
  });
});
