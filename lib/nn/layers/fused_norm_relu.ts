/**
 * A training-mode BatchNorm followed by a ReLU, as nn.Sequential runs them (U-Net's double
 * convolutions, torchvision's Conv2dNormActivation, the course CNNs): one op whose kernel
 * applies the ReLU as it writes the normalized values and whose backward takes the ReLU's
 * gradient in the normalization's own passes (ops/norm.ts batchNormRelu), instead of a
 * ReLU kernel each way: three passes over the activations fewer per step and layer, and
 * one op fewer to dispatch. The same values and gradients as the two layers, to float32
 * rounding.
 *
 * Not fused, so run layer by layer: eval mode (./fused_conv.ts folds the BatchNorm into the
 * convolution there), subclasses of these layers (SyncBatchNorm's forward differs), and
 * either layer with hooks.
 * @internal
 * @module
 */
import type { Tensor } from '../../tensor/tensor.js';
import type { Module } from '../module.js';
import { activationOf, exactly } from './fused_conv.js';
import { BatchNorm1d, BatchNorm2d, BatchNorm3d } from './pooling_norm.js';

/**
 * @internal When `layers[at]` is a training-mode BatchNorm1d/2d/3d followed by a ReLU: their
 * output on `x` and the 2 layers it covered. Otherwise null, and the caller runs `layers[at]`.
 */
export function runFusedNormRelu(layers: readonly Module[], at: number, x: Tensor): { output: Tensor; layers: number } | null {
  const norm = layers[at];
  if (!(exactly(norm, BatchNorm2d) || exactly(norm, BatchNorm1d) || exactly(norm, BatchNorm3d))) return null;
  if (!norm.training || norm._observed() || activationOf(layers[at + 1]) !== 'relu') return null;
  return { output: norm.forwardRelu(x), layers: 2 };
}
