/**
 * The `reduction` option every loss shares, as in torch.nn.functional.
 * @module
 */
import { ArgumentError, ShapeError } from '../errors.js';
import { checkDTypeIn, checkSameDevice, checkTensor } from '../ops/validate.js';
import type { Tensor } from '../tensor/tensor.js';

/** How per-element losses are combined: averaged (default), summed, or kept. */
export type Reduction = 'mean' | 'sum' | 'none';

/** Applies `reduction` to per-element losses. */
export function reduce(op: string, losses: Tensor, reduction: Reduction | undefined): Tensor<'float32'> {
  switch (reduction ?? 'mean') {
    case 'mean':
      return losses.mean() as Tensor<'float32'>;
    case 'sum':
      return losses.sum() as Tensor<'float32'>;
    case 'none':
      return losses as Tensor<'float32'>;
  }
  throw new ArgumentError(`${op}: expected reduction 'mean', 'sum' or 'none', got '${String(reduction)}'`);
}

/** Checks a float32 input and a float32 target of the same shape on one device. */
export function checkPairedTarget(op: string, input: Tensor, target: Tensor): void {
  checkTensor(op, 'input', input);
  checkTensor(op, 'target', target);
  checkDTypeIn(op, 'input', input, ['float32']);
  checkDTypeIn(op, 'target', target, ['float32']);
  checkSameDevice(op, { input, target });
  if (target.shape.join(',') !== input.shape.join(',')) {
    throw new ShapeError(`${op}: expected target of the input's shape [${input.shape.join(', ')}], got [${target.shape.join(', ')}]`);
  }
}
