// Finite-difference gradient checks (DESIGN §5). neocog has no float64, so the check uses
// float32 central differences with a step and tolerances sized for it, a random upstream
// gradient (so every output element matters), and inputs the caller keeps away from kinks.
import { expect } from 'vitest';

import { manualSeed, noGrad, randn, tensor, type Tensor } from '../../lib/index.js';

export interface GradcheckOptions {
  eps?: number;
  atol?: number;
  rtol?: number;
}

/** Checks fn's analytic gradients with respect to every input against central differences. */
export function gradcheck(
  fn: (...inputs: Tensor[]) => Tensor,
  inputs: Array<Tensor<'float32'>>,
  { eps = 1e-2, atol = 2e-3, rtol = 2e-2 }: GradcheckOptions = {},
): void {
  const values = inputs.map((x) => Float64Array.from(x.dataSync()));
  const leaves = inputs.map((x) => x.detach().requiresGrad_());
  const out = fn(...leaves);
  manualSeed(1234);
  const weights = randn(out.shape, { device: out.device });
  out.mul(weights).sum().backward();
  const weightValues = Float64Array.from(weights.dataSync());

  const objective = (perturbed: Float64Array[]): number =>
    noGrad(() => {
      const xs = perturbed.map((v, i) => tensor(Float32Array.from(v), { device: inputs[i]!.device }).reshape(inputs[i]!.shape));
      const y = fn(...xs).dataSync();
      let total = 0;
      for (let k = 0; k < y.length; ++k) total += y[k]! * weightValues[k]!;
      return total;
    });

  leaves.forEach((leaf, i) => {
    expect(leaf.grad, `input ${i} received no gradient`).not.toBeNull();
    const analytic = leaf.grad!.dataSync();
    for (let j = 0; j < values[i]!.length; ++j) {
      const plus = values.map((v) => Float64Array.from(v));
      const minus = values.map((v) => Float64Array.from(v));
      plus[i]![j]! += eps;
      minus[i]![j]! -= eps;
      const numeric = (objective(plus) - objective(minus)) / (2 * eps);
      const tolerance = atol + rtol * Math.abs(numeric);
      if (Math.abs(analytic[j]! - numeric) > tolerance) {
        throw new Error(`gradient of input ${i} element ${j}: analytic ${analytic[j]} vs numeric ${numeric}`);
      }
    }
  });
}
