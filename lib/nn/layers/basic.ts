/**
 * Linear, LazyLinear, Flatten, Permute, Identity, Dropout, Dropout2d, StochasticDepth,
 * Upsample and the activation layers (ReLU, ReLU6, Hardswish, Hardsigmoid, ...), as torch.nn
 * and torchvision.ops.
 * @module
 */
import { ArgumentError, ShapeError } from '../../errors.js';
import { checkStochasticDepthMode, dropout, dropout2d, stochasticDepth } from '../../ops/dropout.js';
import { linear } from '../../ops/linear.js';
import { interpolate, type InterpolateMode } from '../../ops/resample.js';
import { logSoftmax, softmax } from '../../ops/softmax.js';
import { checkInRange, checkInt } from '../../ops/validate.js';
import { elu, gelu, hardswish, leakyRelu, relu, relu6, sigmoid, silu, tanh } from '../../ops/unary.js';
import { empty, zeros } from '../../tensor/creation.js';
import { describe } from '../../tensor/shape.js';
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
    checkInt('Linear', 'inFeatures', inFeatures, 1);
    checkInt('Linear', 'outFeatures', outFeatures, 1);
    // Uninitialised: resetLinearLike writes every value.
    this.weight = parameter(empty('Linear', [outFeatures, inFeatures], 'float32', 'cpu'));
    this.bias = options.bias === false ? null : parameter(empty('Linear', [outFeatures], 'float32', 'cpu'));
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
    checkInt('LazyLinear', 'outFeatures', outFeatures, 1);
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
    // Only integers here; their range depends on the input's rank, checked by flatten.
    checkInt('Flatten', 'startDim', startDim, -Infinity);
    checkInt('Flatten', 'endDim', endDim, -Infinity);
  }
  forward(x: Tensor): Tensor {
    return x.flatten(this.startDim, this.endDim);
  }
}

/**
 * Reorders the dims of its input (a view, no copy), as torchvision.ops.Permute: ConvNeXt
 * moves channels last around its LayerNorm and Linear layers with it.
 *
 * @example
 * new nn.Permute([0, 2, 3, 1]).call(x) // [N, C, H, W] -> [N, H, W, C]
 */
export class Permute extends Module {
  readonly dims: readonly number[];
  constructor(dims: readonly number[]) {
    super();
    dims.forEach((d, i) => checkInt('Permute', `dims[${i}]`, d, -Infinity));
    this.dims = [...dims];
  }
  forward(x: Tensor): Tensor {
    return x.permute(this.dims);
  }
  override extraRepr(): string {
    return `dims=[${this.dims.join(', ')}]`;
  }
}

/** Returns its input (a new handle on it). */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x.reshape(x.shape);
  }
}

/** Dropout active in training mode only; `p` in [0, 1] (ArgumentError otherwise, at construction). */
export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    checkInRange('Dropout', 'p', p, 0, 1);
  }
  forward(x: Tensor): Tensor {
    return dropout(x, { p: this.p, training: this.training });
  }
  override extraRepr(): string {
    return `p=${this.p}`;
  }
}

/** Channel dropout (whole feature maps) active in training mode only; `p` in [0, 1]. */
export class Dropout2d extends Module {
  constructor(readonly p = 0.5) {
    super();
    checkInRange('Dropout2d', 'p', p, 0, 1);
  }
  forward(x: Tensor): Tensor {
    return dropout2d(x, { p: this.p, training: this.training });
  }
  override extraRepr(): string {
    return `p=${this.p}`;
  }
}

/**
 * Stochastic depth in training mode only, as torchvision.ops.StochasticDepth: drops a
 * residual branch per sample (`'row'`) or for the whole batch (`'batch'`) with probability
 * `p` in [0, 1] and scales what survives by 1 / (1 - p); see {@link stochasticDepth}. It has
 * no parameters, so checkpoints do not name it.
 *
 * @example
 * const drop = new nn.StochasticDepth(0.1, 'row');
 * const out = add(drop.call(branch), x); // identity in eval()
 */
export class StochasticDepth extends Module {
  constructor(readonly p: number, readonly mode: 'row' | 'batch' = 'row') {
    super();
    checkInRange('StochasticDepth', 'p', p, 0, 1);
    checkStochasticDepthMode('StochasticDepth', mode);
  }
  forward(x: Tensor): Tensor {
    return stochasticDepth(x, { p: this.p, mode: this.mode, training: this.training });
  }
  override extraRepr(): string {
    return `p=${this.p}, mode=${this.mode}`;
  }
}

/**
 * Resizes spatial dims, as torch.nn.Upsample. The mode and the choice of exactly one of
 * `size` and `scaleFactor` (positive) are checked at construction; sizes against the input at forward.
 */
export class Upsample extends Module {
  constructor(readonly options: { size?: number | number[]; scaleFactor?: number | number[]; mode?: InterpolateMode; alignCorners?: boolean }) {
    super();
    const { size, scaleFactor, mode } = options;
    if ((size === undefined) === (scaleFactor === undefined)) throw new ArgumentError('Upsample: give exactly one of size and scaleFactor');
    const values = [size ?? scaleFactor].flat();
    if (values.some((v) => typeof v !== 'number' || !(v > 0 && Number.isFinite(v)) || (size !== undefined && !Number.isInteger(v)))) {
      throw new ArgumentError(`Upsample: expected ${size !== undefined ? 'size to hold positive integers' : 'scaleFactor to hold positive finite numbers'}, got ${describe(size ?? scaleFactor)}`);
    }
    if (mode !== undefined && !['nearest', 'linear', 'bilinear', 'bicubic', 'trilinear'].includes(mode)) {
      throw new ArgumentError(`Upsample: expected mode nearest, linear, bilinear, bicubic or trilinear, got ${describe(mode)}`);
    }
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

/**
 * `min(max(x, 0), 6)`, as torch.nn.ReLU6 (MobileNet's activation): hardtanh(0, 6), whose
 * gradient is 0 at both bounds, and NaN stays NaN.
 */
export class ReLU6 extends Module {
  forward(x: Tensor): Tensor {
    // One kernel (relu6), not clamp(x, 0, 6): clamp passes the gradient at its bounds (as
    // torch.clamp does), hardtanh does not.
    return relu6(x);
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
/**
 * `relu6(x + 3) / 6`, as torch.nn.Hardsigmoid (MobileNetV3's squeeze-and-excitation gate):
 * 0 up to -3, 1 from 3, linear between; its gradient is 1/6 strictly inside (-3, 3) and 0
 * elsewhere, as torch's. NaN propagates.
 */
export class Hardsigmoid extends Module {
  forward(x: Tensor): Tensor {
    // torch computes min(max(x + 3, 0), 6) / 6 in float32, and these ops do the same steps,
    // so values match bit for bit. relu6's gradient is 0 at x = -3 and from x = 3 on, which
    // is torch's hardsigmoid_backward.
    return relu6(x.add(3)).div(6);
  }
}
/** Softmax along `dim` (required, as PyTorch recommends), as torch.nn.Softmax. */
export class Softmax extends Module {
  constructor(readonly dim: number) {
    super();
    checkInt('Softmax', 'dim', dim, -Infinity);
  }
  forward(x: Tensor): Tensor {
    return softmax(x, this.dim);
  }
}
/** Log of the softmax along `dim`, computed stably, as torch.nn.LogSoftmax. */
export class LogSoftmax extends Module {
  constructor(readonly dim: number) {
    super();
    checkInt('LogSoftmax', 'dim', dim, -Infinity);
  }
  forward(x: Tensor): Tensor {
    return logSoftmax(x, this.dim);
  }
}
