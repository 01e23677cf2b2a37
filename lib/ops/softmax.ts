/**
 * softmax and logSoftmax over a dim, composed from differentiable primitives in the
 * numerically stable form (the max is subtracted first; it is detached, since the result
 * does not depend on it).
 * @module
 */
import type { Tensor } from '../tensor/tensor.js';
import { normalizeDim } from '../tensor/shape.js';
import { checkDTypeIn, checkTensor } from './validate.js';

/** `log(softmax(x, dim))`, computed without overflow, as `F.log_softmax`. */
export function logSoftmax(input: Tensor, dim: number): Tensor<'float32'> {
  checkTensor('logSoftmax', 'input', input);
  checkDTypeIn('logSoftmax', 'input', input, ['float32']);
  const d = normalizeDim('logSoftmax', dim, input.ndim);
  const shifted = input.sub(input.amax(d, { keepdim: true }).detach());
  return shifted.sub(shifted.exp().sum(d, { keepdim: true }).log()) as Tensor<'float32'>;
}

/** Softmax over `dim`, as `F.softmax`. */
export function softmax(input: Tensor, dim: number): Tensor<'float32'> {
  checkTensor('softmax', 'input', input);
  checkDTypeIn('softmax', 'input', input, ['float32']);
  const d = normalizeDim('softmax', dim, input.ndim);
  const e = input.sub(input.amax(d, { keepdim: true }).detach()).exp();
  return e.div(e.sum(d, { keepdim: true })) as Tensor<'float32'>;
}
