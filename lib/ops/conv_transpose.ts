/**
 * Transposed convolutions, as `F.conv_transpose1d/2d/3d`: the geometry here, the rest in
 * the one convolution of `convolution.ts` (a transposed convolution is the backward-input
 * pass of the convolution it inverts).
 *
 * Padding follows PyTorch: the implicit zero border around the (dilated) input is
 * `dilation * (k - 1) - padding` per side, so `padding = p` removes p rows/columns from
 * each side of the full output; the output size is
 * `(in - 1) * stride - 2 * padding + dilation * (k - 1) + outputPadding + 1`.
 *
 * outputPadding may reach max(stride, dilation) - 1, as in PyTorch. The primitive runs the
 * conv whose backward-data this is, so the output size must be one that conv maps back to
 * the input size: with outputPadding < stride the symmetric padding does (floor division
 * absorbs it); beyond, the end padding shrinks to `padding - outputPadding` (asymmetric,
 * which both backends take), and where that would be negative the last rows, which no
 * input reaches (the last tap lands `outputPadding - padding` rows before the end), are
 * appended as zeros instead (all of them when padding crops every row an input reaches).
 * @module
 */
import { addInFloat32, autocastTarget, inHalf } from '../amp/autocast.js';
import { record } from '../autograd/graph.js';
import { ArgumentError, ShapeError } from '../errors.js';
import type { NativeConvParams } from '../native_primitives.js';
import { zeros, zerosLike } from '../tensor/creation.js';
import { describe } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { convolution } from './convolution.js';
import { pad } from './shape.js';
import { checkDTypeIn, checkSameDevice, checkSameDType, checkTensor, FLOAT_DTYPES, intTuple, withBatchDim } from './validate.js';

/** Options of the transposed convolutions; numbers apply to every spatial dim. */
export interface ConvTransposeOptions {
  /** Stride of the (forward) convolution this transposes, i.e. the upsampling factor (default 1). */
  stride?: number | readonly number[];
  /** Zero padding removed from both sides of the output (default 0). */
  padding?: number | readonly number[];
  /** Extra size added to one side of the output, < max(stride, dilation) (default 0). */
  outputPadding?: number | readonly number[];
  /** Spacing between kernel taps (default 1). */
  dilation?: number | readonly number[];
  /** Blocked connections: in and out channels split into this many groups (default 1). */
  groups?: number;
}


/** `result + bias` over the channel dim (16-bit results add in float32); disposes `result`. */
function addBias(result: Tensor<'float32'>, bias: Tensor, spatial: number): Tensor<'float32'> {
  const shaped = bias.reshape([1, bias.shape[0]!, ...new Array<number>(spatial).fill(1)]);
  try {
    return addInFloat32(result, shaped) as Tensor<'float32'>;
  } finally {
    result.dispose();
    shaped.dispose();
  }
}

function convTransposeNd(spatial: 1 | 2 | 3, x: Tensor, weight: Tensor, bias: Tensor | null | undefined, opts: ConvTransposeOptions = {}): Tensor<'float32'> {
  const op = `convTranspose${spatial}d`;
  checkTensor(op, 'input', x);
  checkTensor(op, 'weight', weight);
  if (bias) checkTensor(op, 'bias', bias);
  checkSameDevice(op, bias ? { input: x, weight, bias } : { input: x, weight });
  checkDTypeIn(op, 'input', x, FLOAT_DTYPES);
  checkSameDType(op, bias ? { input: x, weight, bias } : { input: x, weight });
  const half = autocastTarget(x.device, x.dtype);
  if (half) {
    const product = inHalf(half, [x, weight], ([xh, wh]) => convTransposeNd(spatial, xh!, wh!, null, opts));
    return bias ? addBias(product, bias, spatial) : product;
  }
  if (weight.ndim !== spatial + 2) throw new ShapeError(`${op}: expected weight rank ${spatial + 2} ([in, out / groups, ...kernel]), got ${weight.ndim}`);
  if (x.ndim === spatial + 1) {
    return withBatchDim(x, (batched) => convTransposeNd(spatial, batched, weight, bias, opts));
  }
  if (x.ndim !== spatial + 2) throw new ShapeError(`${op}: expected input rank ${spatial + 2} ([N, C, ...]) or ${spatial + 1}, got ${x.ndim}`);
  const groups = opts.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) throw new ShapeError(`${op}: expected groups to be a positive integer, got ${describe(groups)}`);
  const [inChannels, groupOut] = weight.shape as [number, number];
  if (x.shape[1] !== inChannels) throw new ShapeError(`${op}: expected input with ${inChannels} channels (weight.shape[0]), got ${x.shape[1]}`);
  if (inChannels % groups !== 0) throw new ShapeError(`${op}: groups ${groups} must divide the ${inChannels} input channels`);
  const outChannels = groupOut * groups;
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== outChannels)) throw new ShapeError(`${op}: expected bias of shape [${outChannels}], got [${bias.shape.join(', ')}]`);
  const stride = intTuple(op, 'stride', opts.stride, spatial, 1, 1);
  const padding = intTuple(op, 'padding', opts.padding, spatial, 0, 0);
  const outputPadding = intTuple(op, 'outputPadding', opts.outputPadding, spatial, 0, 0);
  const dilation = intTuple(op, 'dilation', opts.dilation, spatial, 1, 1);
  const kernel = weight.shape.slice(2);
  const outSpatial = x.shape.slice(2).map((size, i) => {
    const limit = Math.max(stride[i]!, dilation[i]!);
    if (outputPadding[i]! >= limit) {
      throw new ArgumentError(`${op}: expected outputPadding[${i}] smaller than max(stride, dilation) = ${limit}, got ${outputPadding[i]}`);
    }
    const out = (size - 1) * stride[i]! - 2 * padding[i]! + dilation[i]! * (kernel[i]! - 1) + outputPadding[i]! + 1;
    if (out < 1) throw new ShapeError(`${op}: the output of spatial dim ${i} would have size ${out}`);
    return out;
  });
  // The conv geometry maps an output of size (outSpatial - zeroRows) back onto the input
  // when padEnd lies in [padding - outputPadding + zeroRows, that + stride - 1] (see @module).
  const zeroRows = outputPadding.map((o, i) => Math.max(0, o - padding[i]! - (stride[i]! - 1)));
  const padEnd = outputPadding.map((o, i) => (o < stride[i]! ? padding[i]! : Math.max(0, padding[i]! - o + zeroRows[i]!)));
  const params: NativeConvParams = { spatial, stride, padBegin: padding, padEnd, dilation, groups, activation: 0 };
  if (outSpatial.some((size, i) => size - zeroRows[i]! < 1)) {
    // Padding crops away every row an input reaches: the output is zeros (and the bias).
    const result = zeros([x.shape[0]!, outChannels, ...outSpatial], { dtype: x.dtype as 'float32', device: x.device });
    const untouched = record(op, result, [x, weight], () => [zerosLike(x), zerosLike(weight)]);
    return bias ? addBias(untouched, bias, spatial) : untouched;
  }
  const outShape = [x.shape[0]!, outChannels, ...outSpatial.map((size, i) => size - zeroRows[i]!)];
  let result = convolution(op, x, weight, null, params, outShape, true);
  if (zeroRows.some((rows) => rows > 0)) {
    const padded = pad(result, [...zeroRows].reverse().flatMap((rows) => [0, rows])) as Tensor<'float32'>;
    result.dispose();
    result = padded;
  }
  return bias ? addBias(result, bias, spatial) : result;
}

/**
 * 2-d transposed convolution of `[N, inC, H, W]` with weight `[inC, outC / groups, kH, kW]`.
 * @example convTranspose2d(x, w, b, { stride: 2, padding: 1 }) // 3x3: 64x64 -> 127x127
 */
export function convTranspose2d(input: Tensor, weight: Tensor, bias?: Tensor | null, opts?: ConvTransposeOptions): Tensor<'float32'> {
  return convTransposeNd(2, input, weight, bias, opts);
}

/** 1-d transposed convolution of `[N, inC, L]`. */
export function convTranspose1d(input: Tensor, weight: Tensor, bias?: Tensor | null, opts?: ConvTransposeOptions): Tensor<'float32'> {
  return convTransposeNd(1, input, weight, bias, opts);
}

/** 3-d transposed convolution of `[N, inC, D, H, W]`. */
export function convTranspose3d(input: Tensor, weight: Tensor, bias?: Tensor | null, opts?: ConvTransposeOptions): Tensor<'float32'> {
  return convTransposeNd(3, input, weight, bias, opts);
}
