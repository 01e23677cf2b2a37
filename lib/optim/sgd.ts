/**
 * Stochastic gradient descent with momentum, dampening, Nesterov and weight decay, as
 * torch.optim.SGD.
 * @module
 */
import { ArgumentError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { Optimizer, type ParamsArgument } from './optimizer.js';

export interface SGDOptions {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
}

export class SGD extends Optimizer<SGDOptions> {
  /** @example new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 }) */
  constructor(params: ParamsArgument<SGDOptions>, options: Partial<SGDOptions> & { lr: number }) {
    super(params, { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, ...options });
    if (options.nesterov && (!(options.momentum && options.momentum > 0) || options.dampening)) {
      throw new ArgumentError('SGD: Nesterov momentum requires momentum > 0 and zero dampening');
    }
  }

  protected update(p: Tensor<'float32'>, grad: Tensor<'float32'>, state: Record<string, Tensor | number>, o: SGDOptions): Tensor {
    let d: Tensor = o.weightDecay !== 0 ? grad.add(p.mul(o.weightDecay)) : grad;
    if (o.momentum !== 0) {
      const previous = state.momentumBuffer;
      const buffer = typeof previous === 'object' ? previous.mul(o.momentum).add(d.mul(1 - o.dampening)) : d.clone();
      this.keepState(state, 'momentumBuffer', buffer);
      d = o.nesterov ? d.add(buffer.mul(o.momentum)) : buffer;
    }
    return p.sub(d.mul(o.lr));
  }
}
