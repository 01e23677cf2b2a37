/**
 * Fully connected layer math, as `F.linear`: `x @ weight^T + bias`.
 * @module
 */
import { addInFloat32 } from '../amp/autocast.js';
import { ShapeError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { matmul } from './matmul.js';
import { checkTensor } from './validate.js';

/**
 * `input` `[..., in]` times `weight` `[out, in]` transposed, plus `bias` `[out]`.
 * @example linear(x, w, b) // [N, out]
 */
export function linear(input: Tensor, weight: Tensor, bias?: Tensor | null): Tensor<'float32'> {
  checkTensor('linear', 'input', input);
  checkTensor('linear', 'weight', weight);
  if (weight.ndim !== 2) throw new ShapeError(`linear: expected weight of rank 2 ([out, in]), got ${weight.ndim}`);
  if (input.ndim < 1 || input.shape[input.ndim - 1] !== weight.shape[1]) {
    throw new ShapeError(`linear: expected input with ${weight.shape[1]} features in its last dim, got shape [${input.shape.join(', ')}]`);
  }
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== weight.shape[0])) {
    throw new ShapeError(`linear: expected bias of shape [${weight.shape[0]}], got [${bias.shape.join(', ')}]`);
  }
  const product = matmul(input, weight.transpose(0, 1));
  return (bias ? addInFloat32(product, bias) : product) as Tensor<'float32'>;
}
