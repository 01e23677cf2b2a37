// One SGD step of a classification model on random images, the check every model test runs:
// the loss and every gradient are finite, every parameter gets a gradient, the step moves
// the weights.
import { expect } from 'vitest';

import { crossEntropy, manualSeed, optim, randn, tensor, type nn } from '../../lib/index.js';
import { yieldToEventLoop } from './detection_interop.js';

/**
 * Runs forward, cross-entropy, backward and one SGD step on `[N, C, H, W]` = `inputShape`
 * and checks them; resolves to the loss. Values are read with `await data()` and the event
 * loop gets a turn between stages: a deep model's step can block a loaded machine for long
 * enough to time out vitest's RPC.
 */
export async function checkTrainingStep(model: nn.Module, inputShape: readonly [number, number, number, number], numClasses: number): Promise<number> {
  manualSeed(3);
  await yieldToEventLoop();
  const x = randn([...inputShape]);
  const target = tensor(Int32Array.from({ length: inputShape[0] }, (_, i) => i % numClasses));
  const params = [...model.namedParameters()];
  const [firstName, first] = params[0]!;
  const before = first.clone();
  const sgd = new optim.SGD(model.parameters(), { lr: 0.01 });
  model.train();
  sgd.zeroGrad();
  const logits = model.call(x);
  expect(logits.shape).toEqual([inputShape[0], numClasses]);
  const loss = crossEntropy(logits, target);
  loss.backward();
  const value = (await loss.data())[0]!;
  expect(Number.isFinite(value)).toBe(true);
  // A sum of |grad| is finite only where every element is: one reduction, not a copy of 100 M numbers.
  const bad: string[] = [];
  for (const [name, p] of params) if (!p.grad || !Number.isFinite((await p.grad.abs().sum().data())[0]!)) bad.push(name);
  expect(bad).toEqual([]);
  sgd.step();
  expect((await first.sub(before).abs().max().data())[0]!, `${firstName} moved`).toBeGreaterThan(0);
  before.dispose();
  return value;
}
