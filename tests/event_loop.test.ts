// Loops without ceremony (DESIGN §2, §3): the README's PyTorch-style loop and a forward-only
// loop, with no dispose() or scope(), keep memory flat; loops neocog drives let timers run.
import { expect, it } from 'vitest';

import { argmax, crossEntropy, data, memory, nn, optim, randint, randn, relu, type Tensor } from '../lib/index.js';
import { StepPacer } from '../lib/event_loop.js';

// The README's network ("Training, PyTorch style").
class Net extends nn.Module {
  conv = new nn.Conv2d(1, 32, 3, { padding: 1 });
  pool = new nn.MaxPool2d(2);
  fc = new nn.Linear(32 * 14 * 14, 10);
  forward(x: Tensor): Tensor {
    return this.fc.call(this.pool.call(relu(this.conv.call(x))).flatten(1));
  }
}

interface Sample {
  tensors: number;
  bytes: number;
}

/** Largest tensor count and byte count in the first and the second half of the samples. */
function halves(samples: Sample[]): { first: Sample; second: Sample } {
  const max = (part: Sample[]) => ({ tensors: Math.max(...part.map((s) => s.tensors)), bytes: Math.max(...part.map((s) => s.bytes)) });
  const middle = Math.floor(samples.length / 2);
  return { first: max(samples.slice(1, middle)), second: max(samples.slice(middle)) };
}

const steps = 1000;
const dataset = new data.TensorDataset([randn([400, 1, 28, 28]), randint(0, 10, [400])]);

it('the README training loop holds live tensors and bytes flat for 1,000 steps with no dispose or scope', { timeout: 300_000 }, async () => {
  const model = new Net();
  const optimizer = new optim.Adam(model.parameters(), { lr: 1e-3 });
  const loader = new data.DataLoader(dataset, { batchSize: 4, shuffle: true, seed: 0 });
  const samples: Sample[] = [];
  let step = 0;
  while (step < steps) {
    for await (const [x, y] of loader) {
      optimizer.zeroGrad();
      crossEntropy(model.call(x!), y!).backward();
      optimizer.step();
      if (++step % 50 === 0) samples.push(memory('cpu'));
      if (step === steps) break;
    }
  }
  const { first, second } = halves(samples);
  // Before: ~10 more live tensors per step (10,000 after 1,000 steps) and growing bytes.
  expect(second.tensors).toBeLessThanOrEqual(first.tensors + 64);
  expect(second.bytes).toBeLessThanOrEqual(first.bytes * 1.25 + 2 ** 20);
  expect(second.tensors).toBeLessThan(1000);
  console.log(`training loop: max live tensors ${first.tensors} -> ${second.tensors}, bytes ${first.bytes} -> ${second.bytes}`);
});

it('a forward-only loop in eval mode without noGrad holds memory flat for 1,000 steps', { timeout: 300_000 }, async () => {
  const model = new Net().eval();
  const loader = new data.DataLoader(dataset, { batchSize: 4 });
  const samples: Sample[] = [];
  let step = 0;
  while (step < steps) {
    for await (const [x] of loader) {
      argmax(model.call(x!), 1); // graph recorded (parameters require grad), never used
      if (++step % 50 === 0) samples.push(memory('cpu'));
      if (step === steps) break;
    }
  }
  const { first, second } = halves(samples);
  expect(second.tensors).toBeLessThanOrEqual(first.tensors + 64);
  expect(second.bytes).toBeLessThanOrEqual(first.bytes * 1.25 + 2 ** 20);
  console.log(`eval loop: max live tensors ${first.tensors} -> ${second.tensors}, bytes ${first.bytes} -> ${second.bytes}`);
});
