// One SGD step on a classifier, for the model tests: forward in training mode, cross
// entropy on the logits (plus any auxiliary logits, as torchvision's Inception recipes weigh
// them), backward, a check that every parameter got a finite gradient, the optimizer step,
// and a check that the weights moved.
import { expect } from 'vitest';

import { crossEntropy, optim, randint, Tensor, type nn } from '../../lib/index.js';

/** Logits, or torchvision-style outputs holding `logits` and auxiliary logits beside them. */
type ClassifierOutput = Tensor | { logits: Tensor };

/**
 * Runs one training step of `model` on `input` with random labels among `numClasses`;
 * returns the loss. `auxWeight` scales the auxiliary losses (torchvision's GoogLeNet and
 * Inception recipes use 0.3 and 0.4).
 */
export function trainStep(model: nn.Module<[Tensor], ClassifierOutput>, input: Tensor, numClasses: number, auxWeight = 0.3): number {
  model.train();
  const params = [...model.parameters()];
  // The classifier's last bias always gets a gradient: it must move.
  const probe = params[params.length - 1]!;
  const before = Array.from(probe.dataSync());
  const sgd = new optim.SGD(params, { lr: 0.01, momentum: 0.9 });
  sgd.zeroGrad();
  const out = model.call(input);
  const target = randint(0, numClasses, [input.shape[0]!]);
  const [logits, ...aux] = out instanceof Tensor ? [out] : [out.logits, ...Object.values(out).filter((t): t is Tensor => t instanceof Tensor && t !== out.logits)];
  let loss = crossEntropy(logits!, target);
  for (const t of aux) loss = loss.add(crossEntropy(t, target).mul(auxWeight));
  loss.backward();
  params.forEach((p, i) => {
    expect(p.grad, `parameter ${i} [${p.shape.join(', ')}] got no gradient`).not.toBeNull();
    // One reduction per parameter: a NaN or infinity anywhere makes the sum non-finite.
    expect(Number.isFinite(p.grad!.abs().sum().item()), `parameter ${i} has a non-finite gradient`).toBe(true);
  });
  sgd.step();
  expect(Array.from(probe.dataSync())).not.toEqual(before);
  const value = loss.item();
  expect(Number.isFinite(value)).toBe(true);
  return value;
}
