/**
 * Generic building blocks composed of layers, used across architectures: convolution +
 * normalisation + activation (torchvision's Conv2dNormActivation), squeeze-and-excitation
 * channel attention and the depthwise-separable convolution.
 * @module
 */
import { mul } from '../../ops/elementwise.js';
import { adaptiveAvgPool2d } from '../../ops/pool.js';
import { relu, sigmoid } from '../../ops/unary.js';
import { checkInt } from '../../ops/validate.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Module } from '../module.js';
import { ReLU, Sigmoid } from './basic.js';
import { Sequential } from './containers.js';
import { Conv2d } from './conv.js';
import { BatchNorm2d } from './pooling_norm.js';

/** Options of {@link Conv2dNormActivation} (torchvision's defaults). */
export interface Conv2dNormActivationOptions {
  /** Stride of the convolution (default 1). */
  stride?: number;
  /** Padding of the convolution (default `(kernelSize - 1) / 2 * dilation`, keeping the size at stride 1). */
  padding?: number;
  /** Convolution groups; `inC` makes it depthwise (default 1). */
  groups?: number;
  /** Dilation of the convolution (default 1). */
  dilation?: number;
  /** Makes the normalisation layer for `outC` channels (default BatchNorm2d); null for none. */
  normLayer?: ((channels: number) => Module) | null;
  /** Makes the activation layer (default ReLU); null for none. */
  activationLayer?: (() => Module) | null;
  /** Bias on the convolution (default: only without a normalisation layer, which would cancel it). */
  bias?: boolean;
}

/**
 * Conv2d, then a normalisation layer, then an activation, as torchvision's
 * `ops.Conv2dNormActivation`: a Sequential whose state-dict names are `0.weight`,
 * `1.running_mean`, ... as torchvision's (MobileNet, EfficientNet, RegNet use it).
 *
 * @example
 * new nn.Conv2dNormActivation(32, 64, 3, { stride: 2, activationLayer: () => new nn.ReLU6() })
 */
export class Conv2dNormActivation extends Sequential {
  /** Channels it puts out (torchvision's `out_channels`). */
  readonly outChannels: number;

  constructor(inC: number, outC: number, kernelSize = 3, opts: Conv2dNormActivationOptions = {}) {
    const dilation = checkInt('Conv2dNormActivation', 'dilation', opts.dilation ?? 1, 1);
    checkInt('Conv2dNormActivation', 'kernelSize', kernelSize, 1);
    const makeNorm = opts.normLayer === undefined ? (c: number) => new BatchNorm2d(c) : opts.normLayer;
    const makeActivation = opts.activationLayer === undefined ? () => new ReLU() : opts.activationLayer;
    const conv = new Conv2d(inC, outC, kernelSize, {
      stride: opts.stride ?? 1,
      // torchvision's (kernel_size - 1) // 2 * dilation.
      padding: opts.padding ?? Math.floor((kernelSize - 1) / 2) * dilation,
      groups: opts.groups ?? 1,
      dilation,
      bias: opts.bias ?? makeNorm === null,
    });
    super(...[conv, makeNorm?.(outC), makeActivation?.()].filter((m): m is Module => m !== undefined && m !== null));
    this.outChannels = outC;
  }
}

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

/** Options of {@link SqueezeExcitation} (torchvision's defaults). */
export interface SqueezeExcitationOptions {
  /** Makes the activation between the two 1x1 convolutions (torchvision's `activation`; default ReLU). */
  activation?: () => Module;
  /** Makes the gate on the channel weights (torchvision's `scale_activation`; default Sigmoid, MobileNetV3 uses Hardsigmoid). */
  scaleActivation?: () => Module;
}

/**
 * Squeeze-and-excitation with an explicit bottleneck width, as torchvision's
 * `ops.SqueezeExcitation`: global average pool, 1x1 conv to `squeezeChannels` (`fc1`), the
 * activation, 1x1 conv back (`fc2`), the scale activation, multiplied into the input
 * `[N, inputChannels, H, W]`. {@link SEBlock} is the same with the width given as a
 * reduction ratio and the activations fixed; MobileNetV3 needs this form, for its widths
 * are rounded to multiples of 8 and its gate is a Hardsigmoid.
 *
 * @example
 * new nn.SqueezeExcitation(72, 24, { scaleActivation: () => new nn.Hardsigmoid() })
 */
export class SqueezeExcitation extends Module {
  /** The squeezing 1x1 convolution, inputChannels -> squeezeChannels. */
  fc1: Conv2d;
  /** The exciting 1x1 convolution, back to inputChannels. */
  fc2: Conv2d;
  activation: Module;
  scaleActivation: Module;

  constructor(inputChannels: number, squeezeChannels: number, opts: SqueezeExcitationOptions = {}) {
    super();
    this.fc1 = new Conv2d(inputChannels, squeezeChannels, 1);
    this.fc2 = new Conv2d(squeezeChannels, inputChannels, 1);
    this.activation = opts.activation?.() ?? new ReLU();
    this.scaleActivation = opts.scaleActivation?.() ?? new Sigmoid();
  }

  forward(x: Tensor): Tensor {
    const scale = this.scaleActivation.call(this.fc2.call(this.activation.call(this.fc1.call(adaptiveAvgPool2d(x, 1)))));
    return mul(scale, x);
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
