/**
 * Adam and AdamW, as torch.optim.Adam / AdamW (bias-corrected moments; Adam adds weight
 * decay to the gradient, AdamW decays the weights directly).
 * @module
 */
import type { Tensor } from '../tensor/tensor.js';
import { baseStep, nonNegative, Optimizer, type FusedUpdate, type ParamsArgument } from './optimizer.js';

/** Options of {@link Adam} and {@link AdamW}, as torch's (all optional in the constructors). */
export interface AdamOptions {
  /** Learning rate (default 1e-3). */
  lr: number;
  /** Decay rates of the first and second moment estimates (default [0.9, 0.999]). */
  betas: [number, number];
  /** Added to the denominator for stability (default 1e-8). */
  eps: number;
  /** Weight decay: L2 added to the gradient for Adam (default 0), decoupled for AdamW (default 0.01). */
  weightDecay: number;
}

abstract class AdamBase extends Optimizer<AdamOptions> {
  protected abstract readonly decoupled: boolean;

  /** torch.optim.Adam's constructor checks. */
  protected checkAdamOptions(): void {
    const beta = (v: unknown) => nonNegative(v) && (v as number) < 1;
    this.checkOptions((o) => {
      const betas: readonly unknown[] = Array.isArray(o.betas) ? o.betas : [];
      return [
        ['eps', o.eps, nonNegative(o.eps), '>= 0'],
        ['betas', o.betas, betas.length === 2, 'to be a pair [beta1, beta2]'],
        ['betas[0]', betas[0], beta(betas[0]), 'in [0, 1)'],
        ['betas[1]', betas[1], beta(betas[1]), 'in [0, 1)'],
        ['weightDecay', o.weightDecay, nonNegative(o.weightDecay), '>= 0'],
      ];
    });
  }

  protected fusedUpdate(state: Record<string, Tensor | number>, o: AdamOptions): FusedUpdate {
    const [beta1, beta2] = o.betas;
    const step = (typeof state.step === 'number' ? state.step : 0) + 1;
    state.step = step;
    return {
      step: {
        ...baseStep(1, o.lr, o.weightDecay),
        decoupledWeightDecay: this.decoupled,
        beta1,
        beta2,
        eps: o.eps,
        biasCorrection1: 1 - beta1 ** step,
        biasCorrection2Sqrt: Math.sqrt(1 - beta2 ** step),
      },
      slots: ['expAvg', 'expAvgSq', null],
    };
  }

}

/**
 * Adam: `new Adam(model.parameters(), { lr: 1e-3 })`. The constructor refuses what
 * torch.optim.Adam refuses (ArgumentError): lr or eps < 0, betas outside [0, 1),
 * weightDecay < 0.
 */
export class Adam extends AdamBase {
  protected readonly decoupled = false;
  constructor(params: ParamsArgument<AdamOptions>, options: Partial<AdamOptions> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, ...options });
    this.checkAdamOptions();
  }
}

/** AdamW (decoupled weight decay, default 0.01). */
export class AdamW extends AdamBase {
  protected readonly decoupled = true;
  constructor(params: ParamsArgument<AdamOptions>, options: Partial<AdamOptions> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01, ...options });
    this.checkAdamOptions();
  }
}
