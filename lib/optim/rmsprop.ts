/**
 * RMSprop, as torch.optim.RMSprop (alpha, eps, weight decay, momentum, centered).
 * @module
 */
import type { Tensor } from '../tensor/tensor.js';
import { baseStep, Optimizer, type FusedUpdate, type ParamsArgument } from './optimizer.js';

export interface RMSpropOptions {
  lr: number;
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  centered: boolean;
}

export class RMSprop extends Optimizer<RMSpropOptions> {
  /** @example new RMSprop(model.parameters(), { lr: 1e-3 }) */
  constructor(params: ParamsArgument<RMSpropOptions>, options: Partial<RMSpropOptions> = {}) {
    super(params, { lr: 0.01, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, ...options });
  }

  protected fusedUpdate(_state: Record<string, Tensor | number>, o: RMSpropOptions): FusedUpdate {
    return {
      step: { ...baseStep(2, o.lr, o.weightDecay), alpha: o.alpha, eps: o.eps, momentum: o.momentum, centered: o.centered },
      slots: ['squareAvg', o.momentum > 0 ? 'momentumBuffer' : null, o.centered ? 'gradAvg' : null],
    };
  }
}
