/**
 * Where a tensor's elements are (its memory and layout, which its views share), so that a
 * later call can tell whether a tensor handed to it sees exactly a result computed earlier
 * (lib/infer/fuse.ts, and the residual sums it computes inside a convolution).
 * @module
 */
import { sameDims } from './layout.js';
import type { Tensor } from './tensor.js';

/** Where a tensor's elements are: its memory and layout. @internal */
export interface Placement {
  readonly storage: object;
  readonly offset: number;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
}

/** `t`'s placement. @internal */
export function placementOf(t: Tensor): Placement {
  return { storage: t._storage('placement'), offset: t.offset, shape: t.shape, strides: t.strides };
}

/** Whether `t` sees exactly the elements at `p` (it is that tensor, or a view of it as it is). @internal */
export function isAt(t: Tensor, p: Placement): boolean {
  return t._storage('placement') === p.storage && t.offset === p.offset && sameDims(t.shape, p.shape) && sameDims(t.strides, p.strides);
}
