/**
 * Convolution layers, as torch.nn.Conv1d/2d/3d and ConvTranspose2d, with PyTorch's default
 * initialisation (kaiming uniform with a = sqrt(5): U(-1/sqrt(fanIn), 1/sqrt(fanIn)) for
 * weight and bias).
 * @module
 */
import { ArgumentError, ShapeError } from '../../errors.js';
import { conv1d, conv2d, conv3d, type ConvOptions } from '../../ops/conv.js';
import { convTranspose2d, convTranspose3d, type ConvTransposeOptions } from '../../ops/conv_transpose.js';
import { checkInt, intTuple } from '../../ops/validate.js';
import { empty } from '../../tensor/creation.js';
import { describe } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { fans, kaimingUniform_, uniform_ } from '../init.js';
import { Module, parameter } from '../module.js';

/** Options of the convolution layers. */
export interface ConvLayerOptions extends ConvOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
}

/**
 * torch.nn's constructor checks for every convolution layer: positive integer channels,
 * groups dividing both, and kernel size, stride, padding and dilation of the right
 * length and range (the same rules the op applies at the first forward). Returns the
 * kernel size, one entry per spatial dim.
 */
function checkConvLayer(
  layer: string,
  spatial: number,
  inChannels: number,
  outChannels: number,
  kernelSize: number | readonly number[],
  options: ConvLayerOptions | (ConvTransposeOptions & { bias?: boolean }),
): number[] {
  checkInt(layer, 'inChannels', inChannels, 1);
  checkInt(layer, 'outChannels', outChannels, 1);
  const groups = options.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1 || inChannels % groups !== 0 || outChannels % groups !== 0) {
    throw new ShapeError(`${layer}: expected groups to be a positive integer dividing inChannels ${inChannels} and outChannels ${outChannels}, got ${describe(options.groups)}`);
  }
  const kernel = intTuple(layer, 'kernelSize', kernelSize, spatial, 1, 1);
  intTuple(layer, 'stride', options.stride, spatial, 1, 1);
  intTuple(layer, 'dilation', options.dilation, spatial, 1, 1);
  if (options.padding !== 'same' && options.padding !== 'valid') {
    if (typeof options.padding === 'string') throw new ArgumentError(`${layer}: expected padding to be a number, a list, 'same' or 'valid', got '${options.padding}'`);
    intTuple(layer, 'padding', options.padding, spatial, 0, 0);
  }
  if ('outputPadding' in options) intTuple(layer, 'outputPadding', options.outputPadding, spatial, 0, 0);
  const mode = 'paddingMode' in options ? options.paddingMode : undefined;
  if (mode !== undefined && !['zeros', 'reflect', 'replicate', 'circular'].includes(mode)) {
    throw new ArgumentError(`${layer}: expected paddingMode 'zeros', 'reflect', 'replicate' or 'circular', got ${describe(mode)}`);
  }
  return kernel;
}

/** PyTorch's reset_parameters for conv and linear layers. */
export function resetLinearLike(weight: Tensor, bias: Tensor | null, fanIn = fans(weight).fanIn): void {
  kaimingUniform_(weight, { a: Math.sqrt(5) });
  if (bias) {
    const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
    uniform_(bias, -bound, bound);
  }
}

abstract class ConvNd extends Module {
  /** Weight `[outChannels, inChannels / groups, ...kernelSize]` (parameter `weight`). */
  readonly weight: Tensor<'float32'>;
  /** Bias `[outChannels]` (parameter `bias`), null with `bias: false`. */
  readonly bias: Tensor<'float32'> | null;
  /** Kernel size per spatial dim. */
  readonly kernelSize: number[];

  constructor(
    readonly spatial: 1 | 2 | 3,
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: number | readonly number[],
    readonly options: ConvLayerOptions = {},
  ) {
    super();
    const groups = options.groups ?? 1;
    this.kernelSize = checkConvLayer(`Conv${spatial}d`, spatial, inChannels, outChannels, kernelSize, options);
    // Uninitialised: resetLinearLike writes every value (a zero fill first was a pass over them for nothing).
    this.weight = parameter(empty(`Conv${spatial}d`, [outChannels, inChannels / groups, ...this.kernelSize], 'float32', 'cpu'));
    this.bias = options.bias === false ? null : parameter(empty(`Conv${spatial}d`, [outChannels], 'float32', 'cpu'));
    resetLinearLike(this.weight, this.bias);
  }

  override extraRepr(): string {
    const o = this.options;
    const extras = [
      o.stride !== undefined ? `stride=${JSON.stringify(o.stride)}` : '',
      o.padding !== undefined ? `padding=${JSON.stringify(o.padding)}` : '',
      o.dilation !== undefined ? `dilation=${JSON.stringify(o.dilation)}` : '',
      o.groups !== undefined ? `groups=${o.groups}` : '',
      o.bias === false ? 'bias=false' : '',
      o.paddingMode && o.paddingMode !== 'zeros' ? `paddingMode=${o.paddingMode}` : '',
    ].filter(Boolean);
    return [`${this.inChannels}, ${this.outChannels}, kernelSize=[${this.kernelSize.join(', ')}]`, ...extras].join(', ');
  }
}

/** 2-d convolution layer: `new Conv2d(inChannels, outChannels, kernelSize, { stride, padding, ... })`. */
export class Conv2d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number | readonly number[], options?: ConvLayerOptions) {
    super(2, inChannels, outChannels, kernelSize, options);
  }
  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, this.options);
  }
}

/** 1-d convolution layer. */
export class Conv1d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number | readonly number[], options?: ConvLayerOptions) {
    super(1, inChannels, outChannels, kernelSize, options);
  }
  forward(x: Tensor): Tensor {
    return conv1d(x, this.weight, this.bias, this.options);
  }
}

/** 3-d convolution layer (volumes). */
export class Conv3d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number | readonly number[], options?: ConvLayerOptions) {
    super(3, inChannels, outChannels, kernelSize, options);
  }
  forward(x: Tensor): Tensor {
    return conv3d(x, this.weight, this.bias, this.options);
  }
}

/** Transposed convolution over 2 or 3 spatial dims; weight `[in, out / groups, ...kernel]`. */
abstract class ConvTransposeNd extends Module {
  /** Weight `[inChannels, outChannels / groups, ...kernelSize]` (parameter `weight`). */
  readonly weight: Tensor<'float32'>;
  /** Bias `[outChannels]` (parameter `bias`), null with `bias: false`. */
  readonly bias: Tensor<'float32'> | null;
  /** Kernel size, one entry per spatial dim. */
  readonly kernelSize: number[];

  constructor(
    spatial: 2 | 3,
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: number | readonly number[],
    readonly options: ConvTransposeOptions & { bias?: boolean } = {},
  ) {
    super();
    const groups = options.groups ?? 1;
    this.kernelSize = checkConvLayer(`ConvTranspose${spatial}d`, spatial, inChannels, outChannels, kernelSize, options);
    this.weight = parameter(empty(`ConvTranspose${spatial}d`, [inChannels, outChannels / groups, ...this.kernelSize], 'float32', 'cpu'));
    this.bias = options.bias === false ? null : parameter(empty(`ConvTranspose${spatial}d`, [outChannels], 'float32', 'cpu'));
    resetLinearLike(this.weight, this.bias);
  }

  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernelSize=[${this.kernelSize.join(', ')}]`;
  }
}

/** 2-d transposed convolution layer; weight `[in, out / groups, kH, kW]`. */
export class ConvTranspose2d extends ConvTransposeNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number | readonly number[], options?: ConvTransposeOptions & { bias?: boolean }) {
    super(2, inChannels, outChannels, kernelSize, options);
  }
  forward(x: Tensor): Tensor {
    return convTranspose2d(x, this.weight, this.bias, this.options);
  }
}

/** 3-d transposed convolution layer (volumes); weight `[in, out / groups, kD, kH, kW]`. */
export class ConvTranspose3d extends ConvTransposeNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number | readonly number[], options?: ConvTransposeOptions & { bias?: boolean }) {
    super(3, inChannels, outChannels, kernelSize, options);
  }
  forward(x: Tensor): Tensor {
    return convTranspose3d(x, this.weight, this.bias, this.options);
  }
}
