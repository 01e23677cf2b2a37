/**
 * RMSprop, as torch.optim.RMSprop (alpha, eps, weight decay, momentum, centered).
 * @module
 */
import type { Tensor } from '../tensor/tensor.js';
import { Optimizer, type ParamsArgument } from './optimizer.js';

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

  protected update(p: Tensor<'float32'>, grad: Tensor<'float32'>, state: Record<string, Tensor | number>, o: RMSpropOptions): Tensor {
    const g = o.weightDecay !== 0 ? grad.add(p.mul(o.weightDecay)) : grad;
    const sq0 = state.squareAvg;
    const squareAvg = typeof sq0 === 'object' ? sq0.mul(o.alpha).add(g.square().mul(1 - o.alpha)) : g.square().mul(1 - o.alpha);
    this.keepState(state, 'squareAvg', squareAvg);
    let avg: Tensor;
    if (o.centered) {
      const ga0 = state.gradAvg;
      const gradAvg = typeof ga0 === 'object' ? ga0.mul(o.alpha).add(g.mul(1 - o.alpha)) : g.mul(1 - o.alpha);
      this.keepState(state, 'gradAvg', gradAvg);
      avg = squareAvg.sub(gradAvg.square()).sqrt().add(o.eps);
    } else {
      avg = squareAvg.sqrt().add(o.eps);
    }
    if (o.momentum > 0) {
      const b0 = state.momentumBuffer;
      const buffer = typeof b0 === 'object' ? b0.mul(o.momentum).add(g.div(avg)) : g.div(avg);
      this.keepState(state, 'momentumBuffer', buffer);
      return p.sub(buffer.mul(o.lr));
    }
    return p.sub(g.div(avg).mul(o.lr));
  }
}
