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
import { sameDims } from '../tensor/layout.js';
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

/** One convolution of a {@link convDepthwiseBlock}: its weight, bias, options and activation. @internal */
export interface BlockConv {
  weight: Tensor;
  bias: Tensor | null;
  opts?: ConvOptions;
  activation: 'relu' | 'relu6' | null;
}

/**
 * `project(depthwise(first(input)))` for inference, as one native op: a 2-d convolution
 * `first` (groups 1), the depthwise convolution that alone reads its output (`groups` equal
 * to its channels, weight `[C, 1, kH, kW]`) and optionally the 1x1 convolution `project`
 * that alone reads that, each with its bias and then its activation: MobileNetV2's blocks
 * (expansion, depthwise, projection; or the stem, the first depthwise and its projection).
 * On the CPU each stage's rows are computed as the next one needs them, in cache, for a 3x3
 * depthwise kernel padded by 1 (cpu/conv_depthwise_block.cc). Refuses operands that need a
 * gradient. A result activated by its last convolution is marked so, as {@link convActivated}'s.
 * With a projection, `residual` (of the output's shape and dtype) is added to its activated
 * result, as MobileNetV2's `x + block(x)`, in the same pass.
 * @internal
 */
export function convDepthwiseBlock(input: Tensor, first: BlockConv, depthwise: BlockConv, project?: BlockConv, residual?: Tensor): Tensor<'float32'> {
  const op = 'convDepthwiseBlock';
  const convs = project ? [first, depthwise, project] : [first, depthwise];
  for (const c of convs) checkOperands(op, 2, input, c.weight, c.bias);
  if (residual !== undefined) checkSameDevice(op, { input, residual: checkTensor(op, 'residual', residual) });
  if (needsGrad(input, residual ?? null, ...convs.flatMap((c) => [c.weight, c.bias]))) {
    throw new ArgumentError(`${op}: convolutions fused into one op are for inference; run them under noGrad()`);
  }
  checkChannels(op, 2, input, first.weight, first.bias, first.opts?.groups ?? 1);
  if ((first.opts?.groups ?? 1) !== 1) throw new ArgumentError(`${op}: the first convolution takes no groups`);
  const channels = first.weight.shape[0]!;
  const dwOpts = depthwise.opts ?? {};
  if (dwOpts.groups !== channels || depthwise.weight.shape[0] !== channels || depthwise.weight.shape[1] !== 1) {
    throw new ShapeError(
      `${op}: expected a depthwise weight [${channels}, 1, kH, kW] with groups ${channels}, got [${depthwise.weight.shape.join(', ')}] with groups ${dwOpts.groups ?? 1}`,
    );
  }
  if (depthwise.bias && (depthwise.bias.ndim !== 1 || depthwise.bias.shape[0] !== channels)) {
    throw new ShapeError(`${op}: expected depthwise bias of shape [${channels}], got [${depthwise.bias.shape.join(', ')}]`);
  }
  if (convs.some((c) => (c.opts?.paddingMode ?? 'zeros') !== 'zeros')) throw new ArgumentError(`${op}: the fused convolutions pad with zeros only`);
  const firstParams = { ...convParams(op, 2, input.shape.slice(2), first.weight.shape.slice(2), first.opts ?? {}), activation: activationCode(first.activation) };
  const dwParams = { ...convParams(op, 2, firstParams.outSpatial, depthwise.weight.shape.slice(2), dwOpts), activation: activationCode(depthwise.activation) };
  let projectParams = { ...convParams(op, 2, dwParams.outSpatial, [1, 1], project?.opts ?? {}), activation: ConvActivation.None };
  let outChannels = channels;
  if (project) {
    const w = project.weight;
    if (w.shape[1] !== channels || w.shape[2] !== 1 || w.shape[3] !== 1) {
      throw new ShapeError(`${op}: expected a 1x1 projection weight [outC, ${channels}, 1, 1], got [${w.shape.join(', ')}]`);
    }
    outChannels = w.shape[0]!;
    if (project.bias && (project.bias.ndim !== 1 || project.bias.shape[0] !== outChannels)) {
      throw new ShapeError(`${op}: expected projection bias of shape [${outChannels}], got [${project.bias.shape.join(', ')}]`);
    }
    const p = projectParams;
    if ([...p.stride, ...p.dilation, p.groups].some((v) => v !== 1) || [...p.padBegin, ...p.padEnd].some((v) => v !== 0)) {
      throw new ArgumentError(`${op}: the projection must be 1x1 of stride 1, without padding, dilation or groups`);
    }
    projectParams = { ...p, activation: activationCode(project.activation) };
  }
  const outShape = [input.shape[0]!, outChannels, ...dwParams.outSpatial];
  if (residual && (!project || residual.dtype !== input.dtype || !sameDims(residual.shape, outShape))) {
    throw new ShapeError(`${op}: a residual needs a projection and the output's shape [${outShape.join(', ')}] and dtype ${input.dtype}, got [${residual.shape.join(', ')}] ${residual.dtype}`);
  }
  const out = empty(op, outShape, input.dtype, input.device, channelsLastStrides(outShape)) as Tensor<'float32'>;
  // cuDNN reads filters packed (as ./convolution.ts).
  const packed = convs.map((c) => (c.weight.isContiguous() ? c.weight : c.weight.contiguous()));
  const [w, dw, pw] = packed;
  try {
    native.convDepthwiseBlock(
      op, firstParams, dwParams, projectParams, out._native(op, 'out'), input._native(op, 'input'),
      w!._native(op, 'weight'), first.bias ? first.bias._native(op, 'bias') : null,
      dw!._native(op, 'depthwiseWeight'), depthwise.bias ? depthwise.bias._native(op, 'depthwiseBias') : null,
      pw ? pw._native(op, 'projectWeight') : null, project?.bias ? project.bias._native(op, 'projectBias') : null,
      residual ? residual._native(op, 'residual') : null, convMathOptions(),
    );
  } finally {
    packed.forEach((t, i) => t !== convs[i]!.weight && t.dispose());
  }
  const last = (project ?? depthwise).activation;
  return last ? markActivated(out, last) : out;
}
