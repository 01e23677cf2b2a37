/**
 * Unary elementwise ops and activations, each differentiable (derivatives in
 * native/src/kernels/unary.h, as PyTorch's autograd defines them).
 * @module
 */
import { inFloat32 } from '../amp/autocast.js';
import { needsGrad, record, saveForBackward } from '../autograd/graph.js';
import { ArgumentError } from '../errors.js';
import { native } from '../native.js';
import { emptyLike } from '../tensor/creation.js';
import { isHalf, type DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkDTypeIn, checkTensor } from './validate.js';

/** Binding codes (native/include/neocog/backend.h UnaryOp). */
const UNARY_CODES = {
  neg: 0, abs: 1, exp: 2, log: 3, sqrt: 4, relu: 5, sigmoid: 6, tanh: 7,
  leakyRelu: 8, elu: 9, gelu: 10, silu: 11, hardswish: 12, square: 13, reciprocal: 14,
  floor: 15, ceil: 16, round: 17, relu6: 18,
} as const;
type UnaryName = keyof typeof UNARY_CODES;

/** Ops also defined on int32 (not differentiable there); the rounding ops leave integers as they are. */
const INTEGER_OPS: ReadonlySet<UnaryName> = new Set(['neg', 'abs', 'square', 'relu', 'floor', 'ceil', 'round']);

/** The ops whose derivative the backward kernel computes from their output. */
const FROM_OUTPUT: ReadonlySet<UnaryName> = new Set(['tanh', 'sigmoid', 'exp']);

function unary<D extends DType>(op: UnaryName, x: Tensor<D>, alpha = 0): Tensor<D> {
  checkTensor(op, 'input', x);
  checkDTypeIn(op, 'input', x, INTEGER_OPS.has(op) ? ['float32', 'int32', 'bfloat16', 'float16'] : ['float32', 'bfloat16', 'float16']);
  // 16-bit inputs run 16-bit kernels (computing in float32) where no gradient is wanted; the
  // derivative kernels are float32's, so with autograd they go through float32 copies.
  if (isHalf(x.dtype) && needsGrad(x)) return inFloat32([x], ([wide]) => unary(op, wide!, alpha)) as Tensor<D>;
  const out = emptyLike(op, x, x.shape, x.dtype);
  native.unary(op, UNARY_CODES[op], out._native(op, 'out'), x._native(op), alpha);
  if (!needsGrad(x)) return out;
  // tanh', sigmoid' and exp' are written in the output, as PyTorch's autograd saves it for
  // them (native/src/kernels/unary.h derivativeFromOutput): no transcendental in backward.
  const input = saveForBackward(FROM_OUTPUT.has(op) ? out : x);
  return record(
    op,
    out,
    [x],
    (g) => {
      const gradIn = emptyLike(`${op}Backward`, input, input.shape, 'float32');
      native.unaryBackward(`${op}Backward`, UNARY_CODES[op], gradIn._native(op, 'out'), g._native(op, 'grad'), input._native(op), alpha);
      return [gradIn];
    },
    [input],
  );
}

/** `-x`. */
export function neg<D extends DType>(x: Tensor<D>): Tensor<D> {
  return unary('neg', x);
}
/** `|x|`; the gradient at 0 is 0. */
export function abs<D extends DType>(x: Tensor<D>): Tensor<D> {
  return unary('abs', x);
}
/** `e^x`. */
export function exp<D extends DType>(x: Tensor<D>): Tensor<D> {
  return unary('exp', x);
}
/** Natural logarithm. */
export function log<D extends DType>(x: Tensor<D>): Tensor<D> {
  return unary('log', x);
}
/** Square root. */
export function sqrt<D extends DType>(x: Tensor<D>): Tensor<D> {
  return unary('sqrt', x);
}
/** `x * x`. */
export function square<D extends DType>(x: Tensor<D>): Tensor<D> {
  return unary('square', x);
}
/** `1 / x`. */
export function reciprocal<D extends DType>(x: Tensor<D>): Tensor<D> {
  return unary('reciprocal', x);
}
/** `max(x, 0)`; the gradient at 0 is 0, NaN propagates. */
export function relu<D extends DType>(x: Tensor<D>): Tensor<D> {
  // A fused convolution + ReLU's (or ReLU6's) output (ops/conv.ts convActivated) is its own
  // ReLU: a view of it costs no kernel. Only without autograd: ReLU's gradient at 0 is 0,
  // a view's is 1.
  const applied = activated.get(x);
  if ((applied === 'relu' || applied === 'relu6') && !needsGrad(x)) return x._view('relu', x.shape, x.strides);
  return unary('relu', x);
}

/** `min(max(x, 0), 6)`, as torch.nn.functional.relu6 (MobileNetV2); the gradient is 0 at both bounds, as hardtanh's. */
export function relu6<D extends DType>(x: Tensor<D>): Tensor<D> {
  if (activated.get(x) === 'relu6' && !needsGrad(x)) return x._view('relu6', x.shape, x.strides);
  return unary('relu6', x);
}

/**
 * Tensors a kernel already applied an activation to (NaN kept as NaN): relu of a relu or
 * relu6 result, relu6 of a relu6 result and silu of a silu result are themselves (what the
 * one activation call after a fused convolution reads).
 */
const activated = new WeakMap<Tensor, 'relu' | 'relu6' | 'silu'>();

/**
 * Records that `activation` was applied to `t` as it was written, so that `relu(t)` (and
 * for relu6, `relu6(t)`; for silu, `silu(t)`) is a view. Only for results of kernels that guarantee it (a fused
 * activation), never for data that could change in place.
 * @internal
 */
export function markActivated<T extends Tensor>(t: T, activation: 'relu' | 'relu6' | 'silu'): T {
  activated.set(t, activation);
  return t;
}
/** Logistic sigmoid `1 / (1 + e^-x)`. */
export function sigmoid<D extends DType>(x: Tensor<D>): Tensor<D> {
  return unary('sigmoid', x);
}
/** Hyperbolic tangent. */
export function tanh<D extends DType>(x: Tensor<D>): Tensor<D> {
  return unary('tanh', x);
}
/** `x` for x > 0, else `negativeSlope * x` (default 0.01). */
export function leakyRelu<D extends DType>(x: Tensor<D>, negativeSlope = 0.01): Tensor<D> {
  if (!Number.isFinite(negativeSlope)) throw new ArgumentError(`leakyRelu: expected negativeSlope to be finite, got ${negativeSlope}`);
  return unary('leakyRelu', x, negativeSlope);
}
/** `x` for x > 0, else `alpha * (e^x - 1)` (default alpha 1). */
export function elu<D extends DType>(x: Tensor<D>, alpha = 1): Tensor<D> {
  if (!Number.isFinite(alpha)) throw new ArgumentError(`elu: expected alpha to be finite, got ${alpha}`);
  return unary('elu', x, alpha);
}
/** Gaussian error linear unit, exact (erf) form as torch's default. */
export function gelu<D extends DType>(x: Tensor<D>): Tensor<D> {
  return unary('gelu', x);
}
/** `x * sigmoid(x)` (swish). */
export function silu<D extends DType>(x: Tensor<D>): Tensor<D> {
  // The output of a convolution fused with its SiLU (infer.fuseForInference) is that SiLU.
  if (activated.get(x) === 'silu' && !needsGrad(x)) return x._view('silu', x.shape, x.strides);
  return unary('silu', x);
}
/** `x * relu6(x + 3) / 6`, as MobileNetV3. */
export function hardswish<D extends DType>(x: Tensor<D>): Tensor<D> {
  return unary('hardswish', x);
}

/**
 * The largest integer not above `x`, as `torch.floor`; int32 tensors come back unchanged.
 * Its gradient is 0 everywhere (PyTorch's convention for the step functions).
 * @example floor(tensor([1.5, -1.5])).tolist() // [1, -2]
 */
export function floor<D extends DType>(x: Tensor<D>): Tensor<D> {
  return unary('floor', x);
}
/**
 * The smallest integer not below `x`, as `torch.ceil`; gradient 0.
 * @example ceil(tensor([1.5, -1.5])).tolist() // [2, -1]
 */
export function ceil<D extends DType>(x: Tensor<D>): Tensor<D> {
  return unary('ceil', x);
}
/**
 * The nearest integer, halves to even, as `torch.round`; gradient 0.
 * @example round(tensor([0.5, 1.5, 2.5, -0.5])).tolist() // [0, 2, 2, -0]
 */
export function round<D extends DType>(x: Tensor<D>): Tensor<D> {
  return unary('round', x);
}
