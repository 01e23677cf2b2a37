/**
 * The `reduction` option every loss shares, as in torch.nn.functional.
 * @module
 */
import { ArgumentError } from '../errors.js';
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
