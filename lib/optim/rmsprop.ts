/**
 * RMSprop, as torch.optim.RMSprop (alpha, eps, weight decay, momentum, centered).
 * @module
 */
import type { Tensor } from '../tensor/tensor.js';
import { baseStep, nonNegative, Optimizer, type FusedUpdate, type ParamsArgument } from './optimizer.js';

export interface RMSpropOptions {
  lr: number;
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  centered: boolean;
}

/**
 * RMSprop. The constructor refuses what torch.optim.RMSprop refuses (ArgumentError): lr,
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
