/**
 * Convolutions, as torch.nn.functional.conv1d / conv2d / conv3d (cross-correlation, like
 * PyTorch). CPU: oneDNN; CUDA: cuDNN. Outputs are stored channels-last (NHWC strides on
 * an NCHW shape), the layout both libraries run fastest; `data()` still reads NCHW order.
 * @module
 */
import { autocastTarget, inHalf } from '../amp/autocast.js';
import { needsGrad } from '../autograd/graph.js';
import { ArgumentError, ShapeError } from '../errors.js';
import type { NativeConvParams } from '../native_primitives.js';
import { convMathOptions } from '../backends.js';
import { native } from '../native.js';
import { empty } from '../tensor/creation.js';
import { channelsLastStrides, describe } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { convolution } from './convolution.js';
import { pad } from './shape.js';
import { markActivated } from './unary.js';
import { checkDTypeIn, checkSameDevice, checkSameDType, checkTensor, FLOAT_DTYPES, intTuple, withBatchDim } from './validate.js';

/** Options of the convolutions; numbers apply to every spatial dim. */
export interface ConvOptions {
  /** Step of the kernel (default 1). */
  stride?: number | readonly number[];
  /**
   * Zero padding on both sides (default 0), `'valid'` (none) or `'same'` (output size =
   * ceil(input / stride)). For `'same'` with stride 1 this is PyTorch's rule; PyTorch
   * refuses stride > 1, so neocog follows TensorFlow there: the total padding
   * `max((out - 1) * stride + dilation * (k - 1) + 1 - in, 0)` is split with the extra
   * element at the end (bottom/right).
   */
  padding?: number | readonly number[] | 'same' | 'valid';
  /** Spacing between kernel taps (default 1). */
  dilation?: number | readonly number[];
  /** Channel groups (default 1); `groups = inChannels` is a depthwise convolution. */
  groups?: number;
  /** How the border is padded (default 'zeros'); other modes pad explicitly, as PyTorch's Conv2d. */
  paddingMode?: 'zeros' | 'reflect' | 'replicate' | 'circular';
}

const NAMES = { 1: 'conv1d', 2: 'conv2d', 3: 'conv3d' } as const;

/** The activations a forward convolution can apply in its own pass (native ConvActivation). */
const enum ConvActivation {
  None = 0,
  Relu = 1,
  Relu6 = 2,
  Silu = 3,
}


/** Resolves options into native params, checking every size. @internal */
export function convParams(
  op: string,
  spatial: 1 | 2 | 3,
  inputSpatial: readonly number[],
  kernel: readonly number[],
  opts: ConvOptions,
): NativeConvParams & { outSpatial: number[] } {
  const stride = intTuple(op, 'stride', opts.stride, spatial, 1, 1);
  const dilation = intTuple(op, 'dilation', opts.dilation, spatial, 1, 1);
  const groups = opts.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) throw new ShapeError(`${op}: expected groups to be a positive integer, got ${describe(groups)}`);
  let padBegin: number[];
  let padEnd: number[];
  if (opts.padding === 'same') {
    padBegin = [];
    padEnd = [];
    for (let i = 0; i < spatial; ++i) {
      const out = Math.ceil(inputSpatial[i]! / stride[i]!);
      const total = Math.max((out - 1) * stride[i]! + dilation[i]! * (kernel[i]! - 1) + 1 - inputSpatial[i]!, 0);
      padBegin.push(Math.floor(total / 2));
      padEnd.push(total - Math.floor(total / 2));
    }
  } else if (opts.padding === 'valid') {
    padBegin = new Array<number>(spatial).fill(0);
    padEnd = padBegin;
  } else {
    if (typeof opts.padding === 'string') {
      throw new ArgumentError(`${op}: expected padding to be a number, a list, 'same' or 'valid', got '${opts.padding}'`);
    }
    padBegin = intTuple(op, 'padding', opts.padding, spatial, 0, 0);
    padEnd = padBegin;
  }
  const outSpatial = inputSpatial.map((size, i) => {
    const span = dilation[i]! * (kernel[i]! - 1) + 1;
    const padded = size + padBegin[i]! + padEnd[i]!;
    if (span > padded) {
      throw new ShapeError(
        `${op}: kernel size ${kernel[i]}${dilation[i]! > 1 ? ` (spanning ${span} with dilation ${dilation[i]})` : ''} ` +
          `is larger than the padded input size ${padded} in spatial dim ${i}`,
      );
    }
    return Math.floor((padded - span) / stride[i]!) + 1;
  });
  return { spatial, stride, padBegin, padEnd, dilation, groups, activation: 0, outSpatial };
}

/**
 * One convolution, in named steps: check the operands; under autocast, run in the half
 * type; give an unbatched input a batch of one; check channels, groups and bias; apply a
 * padding mode other than zeros as an explicit pad; then the shared convolution (and its
 * backward) in ./convolution.ts.
 */
function convNd(
  spatial: 1 | 2 | 3,
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null | undefined,
  opts: ConvOptions = {},
  activation: ConvActivation = ConvActivation.None,
): Tensor<'float32'> {
  const op = NAMES[spatial];
  checkOperands(op, spatial, x, weight, bias);
  const half = autocastTarget(x.device, x.dtype);
  if (half) return inHalf(half, [x, weight, bias], ([xh, wh, bh]) => convNd(spatial, xh!, wh!, bh, opts, activation));
  // Unbatched input, as PyTorch accepts: add and remove a batch of one.
  if (x.ndim === spatial + 1) return withBatchDim(x, (batched) => convNd(spatial, batched, weight, bias, opts, activation));
  checkChannels(op, spatial, x, weight, bias, opts.groups ?? 1);
  const mode = opts.paddingMode ?? 'zeros';
  if (!['zeros', 'reflect', 'replicate', 'circular'].includes(mode)) {
    throw new ArgumentError(`${op}: expected paddingMode 'zeros', 'reflect', 'replicate' or 'circular', got ${describe(mode)}`);
  }
  if (mode !== 'zeros') return convPaddedWith(mode as ExplicitPadding, spatial, x, weight, bias, opts, activation);
  const params = { ...convParams(op, spatial, x.shape.slice(2), weight.shape.slice(2), opts), activation };
  return convolution(op, x, weight, bias ?? null, params, [x.shape[0]!, weight.shape[0]!, ...params.outSpatial], false);
}

/** Tensors on one device, of one float dtype, and a weight of rank spatial + 2. */
function checkOperands(op: string, spatial: number, x: Tensor, weight: Tensor, bias: Tensor | null | undefined): void {
  checkTensor(op, 'input', x);
  checkTensor(op, 'weight', weight);
  if (bias !== undefined && bias !== null) checkTensor(op, 'bias', bias);
  checkSameDevice(op, bias ? { input: x, weight, bias } : { input: x, weight });
  checkDTypeIn(op, 'input', x, FLOAT_DTYPES);
  checkSameDType(op, bias ? { input: x, weight, bias } : { input: x, weight });
  if (weight.ndim !== spatial + 2) {
    throw new ShapeError(`${op}: expected weight rank ${spatial + 2} ([out, in / groups, ${spatial === 1 ? 'k' : spatial === 2 ? 'kH, kW' : 'kD, kH, kW'}]), got ${weight.ndim}`);
  }
}

/** A batched input whose channels the weight and groups fit, and a bias of one value per output channel. */
function checkChannels(op: string, spatial: number, x: Tensor, weight: Tensor, bias: Tensor | null | undefined, groups: number): void {
  if (x.ndim !== spatial + 2) {
    throw new ShapeError(`${op}: expected input rank ${spatial + 2} ([N, C, ...]) or ${spatial + 1} (unbatched), got ${x.ndim}`);
  }
  const [outChannels, groupChannels] = weight.shape as [number, number];
  if (Number.isInteger(groups) && groups >= 1) {
    if (outChannels % groups !== 0) {
      throw new ShapeError(`${op}: groups ${groups} must divide the weight's ${outChannels} output channels`);
    }
    if (x.shape[1] !== groupChannels * groups) {
      throw new ShapeError(
        `${op}: expected input with ${groupChannels * groups} channels (weight.shape[1] ${groupChannels} x groups ${groups}), got ${x.shape[1]}`,
      );
    }
  }
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== outChannels)) {
    throw new ShapeError(`${op}: expected bias of shape [${outChannels}], got [${bias.shape.join(', ')}]`);
  }
}

/** The padding modes applied by an explicit pad before the convolution. */
type ExplicitPadding = Exclude<NonNullable<ConvOptions['paddingMode']>, 'zeros'>;

/** The convolution with its padding applied first, explicitly, in `mode`; then none. */
function convPaddedWith(
  mode: ExplicitPadding,
  spatial: 1 | 2 | 3,
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null | undefined,
  opts: ConvOptions,
  activation: ConvActivation,
): Tensor<'float32'> {
  const geometry = convParams(NAMES[spatial], spatial, x.shape.slice(2), weight.shape.slice(2), { ...opts, paddingMode: 'zeros' });
  const pairs = [...Array(spatial).keys()].reverse().flatMap((i) => [geometry.padBegin[i]!, geometry.padEnd[i]!]);
  const padded = pad(x, pairs, mode);
  try {
    return convNd(spatial, padded, weight, bias, { ...opts, padding: 0, paddingMode: 'zeros' }, activation);
  } finally {
    padded.dispose();
  }
}

/**
 * 2-d convolution of `input` `[N, C, H, W]` (or `[C, H, W]`) with `weight`
 * `[outC, C / groups, kH, kW]` and optional `bias` `[outC]`, as `F.conv2d`.
 *
 * @example
 * const y = conv2d(x, w, b, { stride: 2, padding: 1 }); // [N, outC, ceil(H/2), ceil(W/2)] for k=3
 */
export function conv2d(input: Tensor, weight: Tensor, bias?: Tensor | null, opts?: ConvOptions): Tensor<'float32'> {
  return convNd(2, input, weight, bias, opts);
}

/** 1-d convolution of `[N, C, L]` with `[outC, C / groups, k]`, as `F.conv1d`. */
export function conv1d(input: Tensor, weight: Tensor, bias?: Tensor | null, opts?: ConvOptions): Tensor<'float32'> {
  return convNd(1, input, weight, bias, opts);
}

/** 3-d convolution of `[N, C, D, H, W]` with `[outC, C / groups, kD, kH, kW]` (volumes), as `F.conv3d`. */
export function conv3d(input: Tensor, weight: Tensor, bias?: Tensor | null, opts?: ConvOptions): Tensor<'float32'> {
  return convNd(3, input, weight, bias, opts);
}

/**
 * `relu(convNd(input, weight, bias))` (or relu6, or silu) in one pass over the output
 * (oneDNN's post-op on the CPU), for inference (lib/infer, eval-mode
 * nn.Sequential): refuses operands that need a gradient. A relu/relu6 result is marked as
 * activated, so `relu`/`relu6` of it cost no kernel (ops/unary.ts).
 * @internal
 */
export function convActivated(
  spatial: 1 | 2 | 3,
  input: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  opts: ConvOptions | undefined,
  activation: 'relu' | 'relu6' | 'silu',
): Tensor<'float32'> {
  if (needsGrad(input, weight, bias)) {
    throw new ArgumentError(`${NAMES[spatial]}: a convolution fused with its ${activation} is for inference; run it under noGrad()`);
  }
  if (activation === 'silu') return convNd(spatial, input, weight, bias, opts, ConvActivation.Silu);
  // relu/relu6 of the result is the result (unlike silu's, which callers mark themselves when they know it is read once).
  return markActivated(convNd(spatial, input, weight, bias, opts, activation === 'relu' ? ConvActivation.Relu : ConvActivation.Relu6), activation);
}

/** The native code of an activation a convolution applies as it writes its output. */
const activationCode = (activation: 'relu' | 'relu6' | null): ConvActivation =>
  activation === 'relu' ? ConvActivation.Relu : activation === 'relu6' ? ConvActivation.Relu6 : ConvActivation.None;

/**
 * `depthwise(pointwise(input))` for inference, as one native op: the 1x1 convolution
 * `weight` `[C, inC, 1, 1]` (with `bias`, then `activation`) and the depthwise convolution
 * that alone reads its output, `depthwiseWeight` `[C, 1, kH, kW]` with `depthwiseOpts`
 * (`groups: C`; with `depthwiseBias`, then `depthwiseActivation`): MobileNetV2's expansion
 * and depthwise layers. On the CPU the 1x1's rows are computed as the depthwise convolution
 * needs them, in cache, for a 3x3 kernel padded by 1 (cpu/conv_pointwise_depthwise.cc).
 * Refuses operands that need a gradient. A result activated by the depthwise layer is marked
 * so, as {@link convActivated}'s.
 * @internal
 */
export function convPointwiseDepthwise(
  input: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  activation: 'relu' | 'relu6' | null,
  depthwiseWeight: Tensor,
  depthwiseBias: Tensor | null,
  depthwiseOpts: ConvOptions,
  depthwiseActivation: 'relu' | 'relu6' | null,
): Tensor<'float32'> {
  const op = 'convPointwiseDepthwise';
  checkOperands(op, 2, input, weight, bias);
  checkOperands(op, 2, input, depthwiseWeight, depthwiseBias);
  if (needsGrad(input, weight, bias, depthwiseWeight, depthwiseBias)) {
    throw new ArgumentError(`${op}: a pointwise and depthwise convolution fused into one op is for inference; run it under noGrad()`);
  }
  checkChannels(op, 2, input, weight, bias, 1);
  const channels = weight.shape[0]!;
  if (weight.shape[2] !== 1 || weight.shape[3] !== 1) throw new ShapeError(`${op}: expected a 1x1 pointwise weight, got [${weight.shape.join(', ')}]`);
  if (depthwiseOpts.groups !== channels || depthwiseWeight.shape[0] !== channels || depthwiseWeight.shape[1] !== 1) {
    throw new ShapeError(
      `${op}: expected a depthwise weight [${channels}, 1, kH, kW] with groups ${channels}, got [${depthwiseWeight.shape.join(', ')}] with groups ${depthwiseOpts.groups ?? 1}`,
    );
  }
  if (depthwiseBias && (depthwiseBias.ndim !== 1 || depthwiseBias.shape[0] !== channels)) {
    throw new ShapeError(`${op}: expected depthwise bias of shape [${channels}], got [${depthwiseBias.shape.join(', ')}]`);
  }
  if ((depthwiseOpts.paddingMode ?? 'zeros') !== 'zeros') throw new ArgumentError(`${op}: the fused depthwise convolution pads with zeros only`);
  const spatial = input.shape.slice(2);
  const pointwise = { ...convParams(op, 2, spatial, [1, 1], {}), activation: activationCode(activation) };
  const depthwise = { ...convParams(op, 2, spatial, depthwiseWeight.shape.slice(2), depthwiseOpts), activation: activationCode(depthwiseActivation) };
  const outShape = [input.shape[0]!, channels, ...depthwise.outSpatial];
  const out = empty(op, outShape, input.dtype, input.device, channelsLastStrides(outShape)) as Tensor<'float32'>;
  // cuDNN reads filters packed (as ./convolution.ts).
  const w = weight.isContiguous() ? weight : weight.contiguous();
  const dw = depthwiseWeight.isContiguous() ? depthwiseWeight : depthwiseWeight.contiguous();
  try {
    native.convPointwiseDepthwise(
      op, pointwise, depthwise, out._native(op, 'out'), input._native(op, 'input'), w._native(op, 'weight'), bias ? bias._native(op, 'bias') : null,
      dw._native(op, 'depthwiseWeight'), depthwiseBias ? depthwiseBias._native(op, 'depthwiseBias') : null, convMathOptions(),
    );
  } finally {
    if (w !== weight) w.dispose();
    if (dw !== depthwiseWeight) dw.dispose();
  }
  return depthwiseActivation ? markActivated(out, depthwiseActivation) : out;
}
