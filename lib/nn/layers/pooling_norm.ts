/**
 * Pooling and normalization layers, as torch.nn: MaxPool2d, AvgPool2d, AdaptiveAvgPool2d,
 * MaxUnpool2d, BatchNorm1d/2d (running statistics as buffers, PyTorch names),
 * GroupNorm, LayerNorm.
 * @module
 */
import { noGrad } from '../../autograd/grad_mode.js';
import { ArgumentError, ShapeError } from '../../errors.js';
import { copyInto } from '../../ops/copy.js';
import { batchNorm, groupNorm, layerNorm } from '../../ops/norm.js';
import { adaptiveAvgPool2d, avgPool2d, maxPool2d, type AvgPoolOptions, type MaxPoolOptions } from '../../ops/pool.js';
import { maxUnpool2d } from '../../ops/resample.js';
import { checkInt, intTuple } from '../../ops/validate.js';
import { full, ones, zeros } from '../../tensor/creation.js';
import { describe } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Module, parameter } from '../module.js';

/** Checks a 2-d pooling layer's sizes at construction, with the op's own rules. */
function checkPoolLayer(layer: string, kernelSize: number | readonly number[], options: { stride?: number | readonly number[]; padding?: number | readonly number[]; dilation?: number | readonly number[] }): void {
  const kernel = intTuple(layer, 'kernelSize', kernelSize, 2, 1, 1);
  intTuple(layer, 'stride', options.stride, 2, kernel, 1);
  intTuple(layer, 'padding', options.padding, 2, 0, 0);
  intTuple(layer, 'dilation', options.dilation, 2, 1, 1);
}

export class MaxPool2d extends Module {
  constructor(readonly kernelSize: number | readonly number[], readonly options: MaxPoolOptions = {}) {
    super();
    checkPoolLayer('MaxPool2d', kernelSize, options);
  }
  forward(x: Tensor): Tensor {
    return maxPool2d(x, this.kernelSize, this.options);
  }
  override extraRepr(): string {
    return `kernelSize=${JSON.stringify(this.kernelSize)}`;
  }
}

export class AvgPool2d extends Module {
  constructor(readonly kernelSize: number | readonly number[], readonly options: AvgPoolOptions = {}) {
    super();
    checkPoolLayer('AvgPool2d', kernelSize, options);
  }
  forward(x: Tensor): Tensor {
    return avgPool2d(x, this.kernelSize, this.options);
  }
}

export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: number | readonly (number | null)[]) {
    super();
    // null keeps the input's size, as None in torch.
    const list = typeof outputSize === 'number' ? [outputSize, outputSize] : Array.isArray(outputSize) ? outputSize : [];
    if (list.length !== 2 || list.some((v) => v !== null && !(Number.isInteger(v) && v >= 1))) {
      throw new ArgumentError(`AdaptiveAvgPool2d: expected outputSize to be a positive integer or a list of 2 (each a positive integer or null), got ${describe(outputSize)}`);
    }
  }
  forward(x: Tensor): Tensor {
    return adaptiveAvgPool2d(x, this.outputSize);
  }
}

export class MaxUnpool2d extends Module {
  constructor(readonly kernelSize: number | readonly number[], readonly options: { stride?: number; padding?: number } = {}) {
    super();
    checkPoolLayer('MaxUnpool2d', kernelSize, options);
  }
  forward(x: Tensor, indices: Tensor): Tensor {
    return maxUnpool2d(x, indices, this.kernelSize, this.options);
  }
}

/** Options of the batch-norm layers. */
export interface BatchNormLayerOptions {
  eps?: number;
  momentum?: number;
  /** Learn weight and bias (default true). */
  affine?: boolean;
  /** Keep running statistics for eval mode (default true). */
  trackRunningStats?: boolean;
}

class BatchNormNd extends Module {
  weight: Tensor<'float32'> | null;
  bias: Tensor<'float32'> | null;
  declare runningMean: Tensor | null;
  declare runningVar: Tensor | null;
  declare numBatchesTracked: Tensor | null;

  constructor(readonly numFeatures: number, readonly options: BatchNormLayerOptions = {}) {
    super();
    const affine = options.affine ?? true;
    this.weight = affine ? parameter(ones([numFeatures])) : null;
    this.bias = affine ? parameter(zeros([numFeatures])) : null;
    const track = options.trackRunningStats ?? true;
    // PyTorch's state-dict names: running_mean, running_var, num_batches_tracked.
    this.registerBuffer('running_mean', track ? zeros([numFeatures]) : null);
    this.registerBuffer('running_var', track ? ones([numFeatures]) : null);
    this.registerBuffer('num_batches_tracked', track ? full([], 0, { dtype: 'int32' }) : null);
  }

  forward(x: Tensor): Tensor {
    const buffers = this as unknown as Record<string, Tensor | null>;
    const useBatchStats = this.training || buffers.running_mean === null;
    const tracked = buffers.num_batches_tracked;
    if (this.training && tracked) noGrad(() => copyInto(tracked, tracked.add(1)));
    return batchNorm(x, buffers.running_mean ?? null, buffers.running_var ?? null, this.weight, this.bias, {
      training: useBatchStats,
      momentum: this.options.momentum ?? 0.1,
      eps: this.options.eps ?? 1e-5,
    });
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.options.eps ?? 1e-5}, momentum=${this.options.momentum ?? 0.1}`;
  }
}

/** Batch norm over `[N, C]` or `[N, C, L]`. */
export class BatchNorm1d extends BatchNormNd {}
/** Batch norm over `[N, C, H, W]`. */
export class BatchNorm2d extends BatchNormNd {}

export class GroupNorm extends Module {
  weight: Tensor<'float32'> | null;
  bias: Tensor<'float32'> | null;
  constructor(readonly numGroups: number, readonly numChannels: number, readonly options: { eps?: number; affine?: boolean } = {}) {
    super();
    checkInt('GroupNorm', 'numGroups', numGroups, 1);
    checkInt('GroupNorm', 'numChannels', numChannels, 1);
    if (numChannels % numGroups !== 0) throw new ShapeError(`GroupNorm: numChannels ${numChannels} must be divisible by numGroups ${numGroups}`);
    const affine = options.affine ?? true;
    this.weight = affine ? parameter(ones([numChannels])) : null;
    this.bias = affine ? parameter(zeros([numChannels])) : null;
  }
  forward(x: Tensor): Tensor {
    return groupNorm(x, this.numGroups, this.weight, this.bias, { eps: this.options.eps });
  }
}

export class LayerNorm extends Module {
  weight: Tensor<'float32'> | null;
  bias: Tensor<'float32'> | null;
  readonly normalizedShape: number[];
  constructor(normalizedShape: number | readonly number[], readonly options: { eps?: number; elementwiseAffine?: boolean } = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    this.normalizedShape.forEach((size, i) => checkInt('LayerNorm', `normalizedShape[${i}]`, size, 1));
    const affine = options.elementwiseAffine ?? true;
    this.weight = affine ? parameter(ones(this.normalizedShape)) : null;
    this.bias = affine ? parameter(zeros(this.normalizedShape)) : null;
  }
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, this.weight, this.bias, { eps: this.options.eps });
  }
}
