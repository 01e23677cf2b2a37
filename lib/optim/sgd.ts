/**
 * Stochastic gradient descent with momentum, dampening, Nesterov and weight decay, as
 * torch.optim.SGD.
 * @module
 */
import type { Tensor } from '../tensor/tensor.js';
import { baseStep, nonNegative, Optimizer, type FusedUpdate, type ParamsArgument } from './optimizer.js';

/** Options of {@link SGD}, as torch.optim.SGD's (every one but `lr` optional in the constructor). */
export interface SGDOptions {
  /** Learning rate (required). */
  lr: number;
  /** Momentum factor (default 0: plain SGD). */
  momentum: number;
  /** Dampening of the momentum (default 0). */
  dampening: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay: number;
  /** Nesterov momentum (default false; needs momentum > 0 and zero dampening). */
  nesterov: boolean;
}

/**
 * Stochastic gradient descent, optionally with momentum, Nesterov momentum and weight
 * decay, as torch.optim.SGD (the momentum buffer starts as the first gradient).
 * The constructor refuses what torch.optim.SGD refuses (ArgumentError): lr, momentum
 * or weightDecay < 0, and Nesterov without momentum > 0 and zero dampening.
 */
export class SGD extends Optimizer<SGDOptions> {
  /** @example new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 }) */
  constructor(params: ParamsArgument<SGDOptions>, options: Partial<SGDOptions> & { lr: number }) {
    super(params, { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, ...options });
    // torch.optim.SGD's checks, per group (a group may override momentum or nesterov).
    this.checkOptions((o) => [
      ['momentum', o.momentum, nonNegative(o.momentum), '>= 0'],
      ['dampening', o.dampening, typeof o.dampening === 'number' && Number.isFinite(o.dampening), 'to be a finite number'],
      ['weightDecay', o.weightDecay, nonNegative(o.weightDecay), '>= 0'],
      ['nesterov', o.nesterov, !o.nesterov || (o.momentum > 0 && o.dampening === 0), '(Nesterov momentum) to come with momentum > 0 and zero dampening'],
    ]);
  }

  protected fusedUpdate(state: Record<string, Tensor | number>, o: SGDOptions): FusedUpdate {
    const step = { ...baseStep(0, o.lr, o.weightDecay), momentum: o.momentum, dampening: o.dampening, nesterov: o.nesterov };
    if (o.momentum === 0) return { step, slots: [null, null, null] };
    // torch starts the momentum buffer as the first (undampened) gradient.
    return { step: { ...step, firstStep: state.momentumBuffer === undefined }, slots: ['momentumBuffer', null, null] };
  }
}
