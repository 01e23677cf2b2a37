/**
 * Linear, LazyLinear, Flatten, Identity, Dropout, Dropout2d, Upsample and the activation
 * layers, as torch.nn.
 * @module
 */
import { ShapeError } from '../../errors.js';
import { dropout, dropout2d } from '../../ops/dropout.js';
import { linear } from '../../ops/linear.js';
import { interpolate, type InterpolateMode } from '../../ops/resample.js';
import { logSoftmax, softmax } from '../../ops/softmax.js';
import { elu, gelu, hardswish, leakyRelu, relu, sigmoid, silu, tanh } from '../../ops/unary.js';
import { zeros } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Module, parameter } from '../module.js';
import { resetLinearLike } from './conv.js';

/** Fully connected layer `y = x W^T + b`, weight `[out, in]`. */
export class Linear extends Module {
  /** Weight `[outFeatures, inFeatures]` (parameter `weight`). */
  weight: Tensor<'float32'>;
  /** Bias `[outFeatures]` (parameter `bias`), null with `bias: false`. */
  bias: Tensor<'float32'> | null;

  constructor(readonly inFeatures: number, readonly outFeatures: number, readonly options: { bias?: boolean } = {}) {
    super();
    this.weight = parameter(zeros([outFeatures, inFeatures]));
    this.bias = options.bias === false ? null : parameter(zeros([outFeatures]));
    resetLinearLike(this.weight, this.bias);
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}

/** A Linear layer whose inFeatures is taken from the first input, as torch.nn.LazyLinear. */
export class LazyLinear extends Module {
  /** Weight `[outFeatures, inFeatures]`, null until the first forward. */
  weight: Tensor<'float32'> | null = null;
  /** Bias `[outFeatures]`, null until the first forward or with `bias: false`. */
  bias: Tensor<'float32'> | null = null;

  constructor(readonly outFeatures: number, readonly options: { bias?: boolean } = {}) {
    super();
  }

  forward(x: Tensor): Tensor {
    if (this.weight === null) {
      const inFeatures = x.shape[x.ndim - 1];
      if (inFeatures === undefined) throw new ShapeError('LazyLinear: the input needs a feature dimension');
      const weight = parameter(zeros([this.outFeatures, inFeatures], { device: x.device }));
      const bias = this.options.bias === false ? null : parameter(zeros([this.outFeatures], { device: x.device }));
      resetLinearLike(weight, bias);
      this.weight = weight;
      this.bias = bias;
    }
    return linear(x, this.weight, this.bias);
  }
}

/** Flattens dims `startDim..endDim` (default 1..-1), as torch.nn.Flatten. */
export class Flatten extends Module {
  constructor(readonly startDim = 1, readonly endDim = -1) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.flatten(this.startDim, this.endDim);
  }
}

/** Returns its input (a new handle on it). */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x.reshape(x.shape);
  }
}

/** Dropout active in training mode only. */
export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
  }
  forward(x: Tensor): Tensor {
    return dropout(x, { p: this.p, training: this.training });
  }
  override extraRepr(): string {
    return `p=${this.p}`;
  }
}

/** Channel dropout (whole feature maps) active in training mode only. */
export class Dropout2d extends Module {
  constructor(readonly p = 0.5) {
    super();
  }
  forward(x: Tensor): Tensor {
    return dropout2d(x, { p: this.p, training: this.training });
  }
  override extraRepr(): string {
    return `p=${this.p}`;
  }
}

/** Resizes spatial dims, as torch.nn.Upsample. */
export class Upsample extends Module {
  constructor(readonly options: { size?: number | number[]; scaleFactor?: number | number[]; mode?: InterpolateMode; alignCorners?: boolean }) {
    super();
  }
  forward(x: Tensor): Tensor {
    return interpolate(x, this.options);
  }
}

/** `max(x, 0)`, as torch.nn.ReLU (the functional op is {@link relu}). */
export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}
/** `x` where positive, `negativeSlope * x` elsewhere (default 0.01), as torch.nn.LeakyReLU. */
export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) {
    super();
  }
  forward(x: Tensor): Tensor {
    return leakyRelu(x, this.negativeSlope);
  }
}
/** `x` where positive, `alpha * (exp(x) - 1)` elsewhere (default alpha 1), as torch.nn.ELU. */
export class ELU extends Module {
  constructor(readonly alpha = 1) {
    super();
  }
  forward(x: Tensor): Tensor {
    return elu(x, this.alpha);
  }
}
/** Gaussian error linear unit, exact (erf) form, as torch.nn.GELU's default. */
export class GELU extends Module {
  forward(x: Tensor): Tensor {
    return gelu(x);
  }
}
/** `x * sigmoid(x)` (swish), as torch.nn.SiLU. */
export class SiLU extends Module {
  forward(x: Tensor): Tensor {
    return silu(x);
  }
}
/** `1 / (1 + exp(-x))`, as torch.nn.Sigmoid. */
export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return sigmoid(x);
  }
}
/** Hyperbolic tangent, as torch.nn.Tanh. */
export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return tanh(x);
  }
}
/** `x * relu6(x + 3) / 6`, as torch.nn.Hardswish (MobileNetV3). */
export class Hardswish extends Module {
  forward(x: Tensor): Tensor {
    return hardswish(x);
  }
}
/** Softmax along `dim` (required, as PyTorch recommends), as torch.nn.Softmax. */
export class Softmax extends Module {
  constructor(readonly dim: number) {
    super();
  }
  forward(x: Tensor): Tensor {
    return softmax(x, this.dim);
  }
}
/** Log of the softmax along `dim`, computed stably, as torch.nn.LogSoftmax. */
export class LogSoftmax extends Module {
  constructor(readonly dim: number) {
    super();
  }
  forward(x: Tensor): Tensor {
    return logSoftmax(x, this.dim);
  }
}
