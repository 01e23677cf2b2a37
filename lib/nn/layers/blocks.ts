/**
 * Generic building blocks composed of layers, used across architectures: squeeze-and-
 * excitation channel attention and the depthwise-separable convolution.
 * @module
 */
import { mul } from '../../ops/elementwise.js';
import { adaptiveAvgPool2d } from '../../ops/pool.js';
import { relu, sigmoid } from '../../ops/unary.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Module } from '../module.js';
import { Conv2d } from './conv.js';

/**
 * Squeeze-and-excitation (Hu et al. 2018): channel weights from global pooling through a
 * bottleneck of `max(1, floor(channels / reduction))` 1x1 convolutions (ReLU, then
 * sigmoid), multiplied into the input `[N, channels, H, W]`; parameters `fc1`, `fc2`, as
 * torchvision's `SqueezeExcitation` with `squeeze_channels = channels / reduction`.
 */
export class SEBlock extends Module {
  /** The squeezing 1x1 convolution, channels -> channels / reduction. */
  fc1: Conv2d;
  /** The exciting 1x1 convolution, back to channels. */
  fc2: Conv2d;

  constructor(readonly channels: number, readonly reduction = 16) {
    super();
    const squeezed = Math.max(1, Math.floor(channels / reduction));
    this.fc1 = new Conv2d(channels, squeezed, 1);
    this.fc2 = new Conv2d(squeezed, channels, 1);
  }

  forward(x: Tensor): Tensor {
    const scale = sigmoid(this.fc2.call(relu(this.fc1.call(adaptiveAvgPool2d(x, 1)))));
    return mul(x, scale);
  }
}

/** Options of {@link SeparableConv2d}. */
export interface SeparableConv2dOptions {
  /** Stride of the depthwise convolution (default 1). */
  stride?: number;
  /** Padding of the depthwise convolution (default 'same'). */
  padding?: number | 'same';
  /** Bias on the pointwise convolution (default true; the depthwise one has none). */
  bias?: boolean;
}

/**
 * Xception-style depthwise-separable convolution: a depthwise `kernelSize` x `kernelSize`
 * convolution (one filter per input channel, no bias), then a pointwise 1x1 to `outC`
 * channels; parameters `depthwise`, `pointwise`, as Keras' SeparableConv2D.
 */
export class SeparableConv2d extends Module {
  /** The per-channel spatial convolution, inC -> inC with groups inC. */
  depthwise: Conv2d;
  /** The 1x1 channel mixing, inC -> outC. */
  pointwise: Conv2d;

  constructor(inC: number, outC: number, kernelSize = 3, opts: SeparableConv2dOptions = {}) {
    super();
    this.depthwise = new Conv2d(inC, inC, kernelSize, { stride: opts.stride, padding: opts.padding ?? 'same', groups: inC, bias: false });
    this.pointwise = new Conv2d(inC, outC, 1, { bias: opts.bias ?? true });
  }

  forward(x: Tensor): Tensor {
    return this.pointwise.call(this.depthwise.call(x));
  }
}
