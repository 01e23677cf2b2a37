/**
 * Pooling and normalization layers, as torch.nn: MaxPool2d, AvgPool2d, AdaptiveAvgPool2d,
 * MaxUnpool2d, BatchNorm1d/2d (running statistics as buffers, PyTorch names),
 * FrozenBatchNorm2d (torchvision's, for detection backbones), GroupNorm, LayerNorm and
 * LayerNorm2d (torchvision's, ConvNeXt's).
 * @module
 */
import { ArgumentError, ShapeError } from '../../errors.js';
import { addInPlace } from '../../ops/elementwise.js';
import { batchNorm, batchNormRelu, groupNorm, layerNorm } from '../../ops/norm.js';
import { adaptiveAvgPool2d, avgPool2d, maxPool2d, maxPool3d, type AvgPoolOptions, type MaxPoolOptions } from '../../ops/pool.js';
import { maxUnpool2d } from '../../ops/resample.js';
import { checkInt, intTuple } from '../../ops/validate.js';
import { full, ones, zeros } from '../../tensor/creation.js';
import { scope } from '../../tensor/memory.js';
import { describe } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';
import { Module, parameter } from '../module.js';

/** Checks a 2-d pooling layer's sizes at construction, with the op's own rules. */
function checkPoolLayer(
  layer: string,
  kernelSize: number | readonly number[],
  options: { stride?: number | readonly number[]; padding?: number | readonly number[]; dilation?: number | readonly number[] },
  spatial = 2,
): void {
  const kernel = intTuple(layer, 'kernelSize', kernelSize, spatial, 1, 1);
  intTuple(layer, 'stride', options.stride, spatial, kernel, 1);
  intTuple(layer, 'padding', options.padding, spatial, 0, 0);
  intTuple(layer, 'dilation', options.dilation, spatial, 1, 1);
}

/**
 * 2-d max pooling over `[N, C, H, W]`, as torch.nn.MaxPool2d; options (stride defaults to
 * the kernel size, padding 0, dilation 1, ceilMode false) as {@link maxPool2d}.
 */
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

/** 3-d max pooling over `[N, C, D, H, W]`, as torch.nn.MaxPool3d; options as {@link maxPool3d}. */
export class MaxPool3d extends Module {
  constructor(readonly kernelSize: number | readonly number[], readonly options: MaxPoolOptions = {}) {
    super();
    checkPoolLayer('MaxPool3d', kernelSize, options, 3);
  }
  forward(x: Tensor): Tensor {
    return maxPool3d(x, this.kernelSize, this.options);
  }
  override extraRepr(): string {
    return `kernelSize=${JSON.stringify(this.kernelSize)}`;
  }
}

/**
 * 2-d average pooling over `[N, C, H, W]`, as torch.nn.AvgPool2d; options (stride defaults
 * to the kernel size, padding 0, ceilMode false, countIncludePad true) as {@link avgPool2d}.
 */
export class AvgPool2d extends Module {
  constructor(readonly kernelSize: number | readonly number[], readonly options: AvgPoolOptions = {}) {
    super();
    checkPoolLayer('AvgPool2d', kernelSize, options);
  }
  forward(x: Tensor): Tensor {
    return avgPool2d(x, this.kernelSize, this.options);
  }
}

/**
 * Average pooling to a fixed output size `[outH, outW]` (one number for both; null keeps
 * the input's size), as torch.nn.AdaptiveAvgPool2d — `new AdaptiveAvgPool2d(1)` is global pooling.
 */
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

/**
 * The partial inverse of MaxPool2d, as torch.nn.MaxUnpool2d: `call(x, indices)` scatters
 * each value to the position its index (from a max pool's indices) names, zeros elsewhere.
 * Stride defaults to the kernel size, padding to 0.
 */
export class MaxUnpool2d extends Module<[x: Tensor, indices: Tensor]> {
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
  /** Added to the variance for stability (default 1e-5). */
  eps?: number;
  /** Weight of the new batch in the running statistics (default 0.1, as PyTorch). */
  momentum?: number;
  /** Learn weight and bias (default true). */
  affine?: boolean;
  /** Keep running statistics for eval mode (default true). */
  trackRunningStats?: boolean;
}

/** @internal The batch-norm layers' shared parameters, buffers and forward (BatchNorm1d/2d/3d, SyncBatchNorm). */
export class BatchNormNd extends Module {
  /** Scale `[numFeatures]` (parameter `weight`, initially 1), null with `affine: false`. */
  weight: Tensor<'float32'> | null;
  /** Shift `[numFeatures]` (parameter `bias`, initially 0), null with `affine: false`. */
  bias: Tensor<'float32'> | null;

  constructor(readonly numFeatures: number, readonly options: BatchNormLayerOptions = {}) {
    super();
    const affine = options.affine ?? true;
    this.weight = affine ? parameter(ones([numFeatures])) : null;
    this.bias = affine ? parameter(zeros([numFeatures])) : null;
    const track = options.trackRunningStats ?? true;
    // PyTorch's state-dict names, so torchvision checkpoints load; the camelCase accessors
    // below read and replace these same buffers.
    this.registerBuffer('running_mean', track ? zeros([numFeatures]) : null);
    this.registerBuffer('running_var', track ? ones([numFeatures]) : null);
    this.registerBuffer('num_batches_tracked', track ? full([], 0, { dtype: 'int32' }) : null);
  }

  /** The running mean `[numFeatures]` (buffer `running_mean`), null without trackRunningStats. */
  get runningMean(): Tensor | null {
    return this.getBuffer('running_mean');
  }
  set runningMean(value: Tensor | null) {
    this.registerBuffer('running_mean', value);
  }

  /** The running (unbiased) variance `[numFeatures]` (buffer `running_var`), null without trackRunningStats. */
  get runningVar(): Tensor | null {
    return this.getBuffer('running_var');
  }
  set runningVar(value: Tensor | null) {
    this.registerBuffer('running_var', value);
  }

  /** Training batches seen, an int32 scalar (buffer `num_batches_tracked`), null without trackRunningStats. */
  get numBatchesTracked(): Tensor | null {
    return this.getBuffer('num_batches_tracked');
  }
  set numBatchesTracked(value: Tensor | null) {
    this.registerBuffer('num_batches_tracked', value);
  }

  forward(x: Tensor): Tensor {
    return this.normalize(x, batchNorm);
  }

  /**
   * @internal `relu(this.forward(x))` as one op, whose kernels apply the ReLU as they write
   * and take its gradient in the normalization's backward: nn.Sequential's training-mode
   * fusion (./fused_norm_relu.ts).
   */
  forwardRelu(x: Tensor): Tensor {
    return this.normalize(x, batchNormRelu);
  }

  private normalize(x: Tensor, fn: typeof batchNorm | typeof batchNormRelu): Tensor {
    const runningMean = this.runningMean;
    const useBatchStats = this.training || runningMean === null;
    const out = fn(x, runningMean, this.runningVar, this.weight, this.bias, {
      training: useBatchStats,
      momentum: this.options.momentum ?? 0.1,
      eps: this.options.eps ?? 1e-5,
    });
    // Counted once the batch passed the op's checks: a refused input changes no state.
    const tracked = this.numBatchesTracked;
    if (this.training && tracked) addInPlace(tracked, 1);
    return out;
  }

  /**
   * @internal The weight and bias of one convolution computing `this(conv(x))` in eval mode,
   * for the convolution `(weight, bias)` before it: `W·γ/√(σ²+ε)` per output channel and
   * `(b − μ)·γ/√(σ²+ε) + β`, from the running statistics (which it must keep), contiguous
   * float32 tensors the caller owns.
   */
  foldInto(weight: Tensor, bias: Tensor | null): [Tensor<'float32'>, Tensor<'float32'>] {
    const runningMean = this.runningMean;
    const runningVar = this.runningVar;
    if (runningMean === null || runningVar === null) throw new ArgumentError('BatchNorm: a layer without running statistics cannot be folded into a convolution');
    return scope(() => {
      const scale = runningVar.add(this.options.eps ?? 1e-5).sqrt().reciprocal();
      const gamma = this.weight ? scale.mul(this.weight) : scale;
      const perChannel = weight.shape.map((n, d) => (d === 0 ? n : 1));
      const folded = weight.mul(gamma.reshape(perChannel)).contiguous() as Tensor<'float32'>;
      const shifted = (bias ? bias.sub(runningMean) : runningMean.neg()).mul(gamma);
      return [folded, (this.bias ? shifted.add(this.bias) : shifted).contiguous() as Tensor<'float32'>];
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
/** Batch norm over `[N, C, D, H, W]` (volumes). */
export class BatchNorm3d extends BatchNormNd {}

/**
 * Batch norm with fixed statistics and affine, as torchvision.ops.FrozenBatchNorm2d: weight,
 * bias, running_mean and running_var are buffers (initially 1, 0, 0, 1), not parameters, so
 * no optimizer changes them and training mode uses them as eval does. Detection backbones
 * use it because their batches (a few large images) are too small for batch statistics.
 * A torchvision BatchNorm2d checkpoint loads into it: its `num_batches_tracked` is dropped,
 * as torchvision does. Input `[N, numFeatures, H, W]`; eps (default 1e-5, torchvision
 * 0.14's) must be positive.
 *
 * @example
 * const bn = new nn.FrozenBatchNorm2d(64);
 * bn.loadStateDict(batchNorm2d.stateDict()); // frozen copy of a trained BatchNorm2d
 * const y = bn.call(x); // x * weight / sqrt(running_var + eps) + (bias - running_mean * ...)
 */
export class FrozenBatchNorm2d extends Module {
  // registerBuffer defines these two fields (torchvision's names need no camelCase alias).
  /** The fixed scale `[numFeatures]` (buffer `weight`). */
  declare readonly weight: Tensor;
  /** The fixed shift `[numFeatures]` (buffer `bias`). */
  declare readonly bias: Tensor;

  constructor(readonly numFeatures: number, readonly eps = 1e-5) {
    super();
    checkInt('FrozenBatchNorm2d', 'numFeatures', numFeatures, 1);
    if (!(eps > 0)) throw new ArgumentError(`FrozenBatchNorm2d: expected eps > 0, got ${describe(eps)}`);
    // torchvision's buffer names and order, so its state dicts load.
    this.registerBuffer('weight', ones([numFeatures]));
    this.registerBuffer('bias', zeros([numFeatures]));
    this.registerBuffer('running_mean', zeros([numFeatures]));
    this.registerBuffer('running_var', ones([numFeatures]));
  }

  /** The fixed mean `[numFeatures]` (buffer `running_mean`). */
  get runningMean(): Tensor {
    return this.frozen('running_mean');
  }

  /** The fixed variance `[numFeatures]` (buffer `running_var`). */
  get runningVar(): Tensor {
    return this.frozen('running_var');
  }

  forward(x: Tensor): Tensor {
    if (!(x instanceof Tensor) || x.ndim !== 4) {
      throw new ShapeError(`FrozenBatchNorm2d: expected input [N, ${this.numFeatures}, H, W], got ${x instanceof Tensor ? `shape [${x.shape.join(', ')}]` : describe(x)}`);
    }
    // Eval-mode batch norm is the same affine map as torchvision's x * scale + shift, in one
    // native pass (composed from elementwise ops where x needs a gradient).
    return batchNorm(x, this.runningMean, this.runningVar, this.frozen('weight'), this.frozen('bias'), { training: false, eps: this.eps });
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}`;
  }

  /** BatchNorm2d checkpoints carry a counter this layer has no use for (torchvision drops it too). */
  protected override adaptStateDict(dict: Map<string, Tensor>, prefix: string): void {
    dict.delete(`${prefix}num_batches_tracked`);
  }

  private frozen(name: string): Tensor {
    const buffer = this.getBuffer(name);
    if (!buffer) throw new ArgumentError(`FrozenBatchNorm2d: buffer '${name}' was set to null`);
    return buffer;
  }
}

/**
 * Group normalization over `[N, C, ...]`, as torch.nn.GroupNorm: channels split into
 * `numGroups` groups normalised per sample, then a per-channel affine (weight 1, bias 0
 * initially). Options: eps (default 1e-5), affine (default true).
 */
export class GroupNorm extends Module {
  /** Scale `[numChannels]` (parameter `weight`, initially 1), null with `affine: false`. */
  weight: Tensor<'float32'> | null;
  /** Shift `[numChannels]` (parameter `bias`, initially 0), null with `affine: false`. */
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

/**
 * Layer normalization over the trailing `normalizedShape` dims, as torch.nn.LayerNorm, with
 * an elementwise affine of that shape (weight 1, bias 0 initially). Options: eps (default
 * 1e-5), elementwiseAffine (default true).
 */
export class LayerNorm extends Module {
  /** Scale of shape `normalizedShape` (parameter `weight`, initially 1), null with `elementwiseAffine: false`. */
  weight: Tensor<'float32'> | null;
  /** Shift of shape `normalizedShape` (parameter `bias`, initially 0), null with `elementwiseAffine: false`. */
  bias: Tensor<'float32'> | null;
  /** The trailing dims normalised over. */
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

/**
 * Layer normalization of each pixel's channels in `[N, C, H, W]`, as torchvision's
 * `convnext.LayerNorm2d`: a LayerNorm over C applied channels-last (permute to NHWC,
 * normalise the last dim, permute back), weight and bias `[C]`. ConvNeXt uses it with eps
 * 1e-6 in its stem, downsampling layers and head. Composed of differentiable ops.
 *
 * @example
 * const norm = new nn.LayerNorm2d(96, { eps: 1e-6 });
 * norm.call(randn([2, 96, 56, 56])) // each [n, :, h, w] has mean 0 and variance 1, then the affine
 */
export class LayerNorm2d extends LayerNorm {
  constructor(readonly numChannels: number, options: { eps?: number; elementwiseAffine?: boolean } = {}) {
    super(numChannels, options);
  }
  override forward(x: Tensor): Tensor {
    if (!(x instanceof Tensor) || x.ndim !== 4) {
      throw new ShapeError(`LayerNorm2d: expected input [N, ${this.numChannels}, H, W], got ${x instanceof Tensor ? `shape [${x.shape.join(', ')}]` : describe(x)}`);
    }
    return super.forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2);
  }
}
