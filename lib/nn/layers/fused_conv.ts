/**
 * A 2-d convolution, the eval-mode BatchNorm2d after it and a ReLU, ReLU6 or SiLU after that
 * (or no activation) computed as one convolution, as Sequential runs them in eval mode
 * without autograd (torchvision's Conv2dNormActivation, U-Net's double convolutions,
 * DeepLab's ASPP, VGG-BN's features): the BatchNorm folded into that call's weight and bias
 * (`BatchNormNd.foldInto`), the activation applied as each output is written (oneDNN
 * post-ops; on the CPU a SiLU is one in-place pass after the convolution, cpu/conv.cc).
 * Passes over the activations saved; EfficientNet-B0's eval pass at batch 16 ran 1.08-1.24×
 * faster. The results agree with the layers' to float32 rounding.
 *
 * Not fused, so run layer by layer: other dtypes, autocast, anything needing a gradient, a
 * BatchNorm in training mode or without running statistics, subclasses of these layers (their
 * forward may differ), and any of the layers with hooks or rewritten by
 * infer.fuseForInference (whose folded weights are cached).
 * @internal
 * @module
 */
import { autocastTarget } from '../../amp/autocast.js';
import { needsGrad } from '../../autograd/graph.js';
import { conv2d, convActivated } from '../../ops/conv.js';
import { relu } from '../../ops/unary.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { Module } from '../module.js';
import { ReLU, ReLU6, SiLU } from './basic.js';
import { Conv2d } from './conv.js';
import { BatchNorm2d } from './pooling_norm.js';

type FusedActivation = 'relu' | 'relu6' | 'silu';

/** @internal Whether `layer` is exactly of `type`: a subclass may compute something else in its forward. */
export const exactly = <T extends Module>(layer: Module | undefined, type: abstract new (...args: never[]) => T): layer is T =>
  layer !== undefined && Object.getPrototypeOf(layer) === type.prototype;

/** @internal The activation `layer` computes, when it is exactly one of those a fusion applies and has no hooks. */
export function activationOf(layer: Module | undefined): FusedActivation | null {
  if (layer === undefined || layer._observed()) return null;
  return exactly(layer, ReLU) ? 'relu' : exactly(layer, ReLU6) ? 'relu6' : exactly(layer, SiLU) ? 'silu' : null;
}

/**
 * @internal `conv`, then `norm` (then `activation`) on `x` as one convolution when they
 * qualify (see the module's notes), else null and the caller runs the layers itself.
 */
export function fusedConvNorm(conv: Module | undefined, norm: Module | undefined, x: Tensor, activation: FusedActivation | null): Tensor | null {
  if (!exactly(conv, Conv2d) || !exactly(norm, BatchNorm2d)) return null;
  if (norm.training || norm.runningMean === null || norm.runningVar === null) return null;
  if (x.dtype !== 'float32' || autocastTarget(x.device, x.dtype) !== null || conv._observed() || norm._observed()) return null;
  if (needsGrad(x, conv.weight, conv.bias, norm.weight, norm.bias)) return null;
  const [weight, bias] = norm.foldInto(conv.weight, conv.bias);
  try {
    return activation === null ? conv2d(x, weight, bias, conv.options) : convActivated(2, x, weight, bias, conv.options, activation);
  } finally {
    weight.dispose(); // the queued convolution holds its own references
    bias.dispose();
  }
}

/**
 * @internal When `layers[at]` is a Conv2d followed by an eval-mode BatchNorm2d (and an
 * activation) that can run as one convolution on `x`: its output and how many layers it
 * covered. Otherwise null, and the caller runs `layers[at]` itself.
 */
export function runFusedConv(layers: readonly Module[], at: number, x: Tensor): { output: Tensor; layers: number } | null {
  // Sequential asks at every layer: most are not convolutions, so check that before the rest.
  if (!exactly(layers[at], Conv2d)) return null;
  const activation = activationOf(layers[at + 2]);
  const output = fusedConvNorm(layers[at], layers[at + 1], x, activation);
  return output === null ? null : { output, layers: activation === null ? 2 : 3 };
}

/**
 * @internal `activation(norm(conv(x)))` (no activation when null), as one convolution where
 * {@link fusedConvNorm} allows, else layer by layer: the convolution blocks whose forward
 * calls the activation as a function (torchvision's ResNet blocks).
 */
export function convNormActivation(conv: Module<[Tensor], Tensor>, norm: Module<[Tensor], Tensor>, x: Tensor, activation: 'relu' | null): Tensor {
  const fused = fusedConvNorm(conv, norm, x, activation);
  if (fused !== null) return fused;
  const normalized = norm.call(conv.call(x));
  return activation === null ? normalized : relu(normalized);
}
