/**
 * RMSprop, as torch.optim.RMSprop (alpha, eps, weight decay, momentum, centered).
 * @module
 */
import type { Tensor } from '../tensor/tensor.js';
import { baseStep, nonNegative, Optimizer, type FusedUpdate, type ParamsArgument } from './optimizer.js';

/** Options of {@link RMSprop}, as torch.optim.RMSprop's (all optional in the constructor). */
export interface RMSpropOptions {
  /** Learning rate (default 0.01). */
  lr: number;
  /** Smoothing constant of the squared-gradient average (default 0.99). */
  alpha: number;
  /** Added to the denominator for stability (default 1e-8). */
  eps: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay: number;
  /** Momentum factor (default 0). */
  momentum: number;
  /** Normalise by the gradient's estimated variance rather than its second moment (default false). */
  centered: boolean;
}

/**
 * RMSprop, as torch.optim.RMSprop: divides the gradient by a running RMS of its recent
 * magnitudes. The constructor refuses what torch.optim.RMSprop refuses (ArgumentError): lr,
 * eps, momentum, weightDecay or alpha < 0.
 */
export class RMSprop extends Optimizer<RMSpropOptions> {
  /** @example new RMSprop(model.parameters(), { lr: 1e-3 }) */
  constructor(params: ParamsArgument<RMSpropOptions>, options: Partial<RMSpropOptions> = {}) {
    super(params, { lr: 0.01, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, ...options });
    // torch.optim.RMSprop's checks.
    this.checkOptions((o) => [
      ['eps', o.eps, nonNegative(o.eps), '>= 0'],
      ['momentum', o.momentum, nonNegative(o.momentum), '>= 0'],
      ['weightDecay', o.weightDecay, nonNegative(o.weightDecay), '>= 0'],
      ['alpha', o.alpha, nonNegative(o.alpha), '>= 0'],
    ]);
  }

  protected fusedUpdate(_state: Record<string, Tensor | number>, o: RMSpropOptions): FusedUpdate {
    return {
      step: { ...baseStep(2, o.lr, o.weightDecay), alpha: o.alpha, eps: o.eps, momentum: o.momentum, centered: o.centered },
      slots: ['squareAvg', o.momentum > 0 ? 'momentumBuffer' : null, o.centered ? 'gradAvg' : null],
    };
  }
}
