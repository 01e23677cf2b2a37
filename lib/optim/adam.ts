/**
 * Adam and AdamW, as torch.optim.Adam / AdamW (bias-corrected moments; Adam adds weight
 * decay to the gradient, AdamW decays the weights directly).
 * @module
 */
import type { Tensor } from '../tensor/tensor.js';
import { Optimizer, type ParamsArgument } from './optimizer.js';

export interface AdamOptions {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
}

abstract class AdamBase extends Optimizer<AdamOptions> {
  protected abstract readonly decoupled: boolean;

  protected update(p: Tensor<'float32'>, grad: Tensor<'float32'>, state: Record<string, Tensor | number>, o: AdamOptions): Tensor {
    const [beta1, beta2] = o.betas;
    const step = (typeof state.step === 'number' ? state.step : 0) + 1;
    state.step = step;
    const g = !this.decoupled && o.weightDecay !== 0 ? grad.add(p.mul(o.weightDecay)) : grad;
    const m0 = state.expAvg, v0 = state.expAvgSq;
    const m = typeof m0 === 'object' ? m0.mul(beta1).add(g.mul(1 - beta1)) : g.mul(1 - beta1);
    const v = typeof v0 === 'object' ? v0.mul(beta2).add(g.square().mul(1 - beta2)) : g.square().mul(1 - beta2);
    this.keepState(state, 'expAvg', m);
    this.keepState(state, 'expAvgSq', v);
    const stepSize = o.lr / (1 - beta1 ** step);
    const denominator = v.div(1 - beta2 ** step).sqrt().add(o.eps);
    const base = this.decoupled && o.weightDecay !== 0 ? p.mul(1 - o.lr * o.weightDecay) : p;
    return base.sub(m.div(denominator).mul(stepSize));
  }
}

/** Adam: `new Adam(model.parameters(), { lr: 1e-3 })`. */
export class Adam extends AdamBase {
  protected readonly decoupled = false;
  constructor(params: ParamsArgument<AdamOptions>, options: Partial<AdamOptions> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, ...options });
  }
}

/** AdamW (decoupled weight decay, default 0.01). */
export class AdamW extends AdamBase {
  protected readonly decoupled = true;
  constructor(params: ParamsArgument<AdamOptions>, options: Partial<AdamOptions> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01, ...options });
  }
}
