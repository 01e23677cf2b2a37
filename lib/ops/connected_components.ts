/**
 * Connected-component labelling, as `scipy.ndimage.label`: the native `connectedComponents`
 * primitive, a two-pass union-find scan on the CPU. A mask on a CUDA device is copied to
 * the CPU for it (the scan is sequential) and the labels copied back, so they live where
 * the mask did. The number of components comes back to the host, so the plain form waits
 * for the stream; {@link connectedComponentsAsync} waits without blocking the event loop.
 * @module
 */
import { noGrad } from '../autograd/grad_mode.js';
import { ArgumentError, ShapeError } from '../errors.js';
import { native } from '../native.js';
import { empty } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
import { scope } from '../tensor/memory.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkDTypeIn, checkTensor } from './validate.js';

/**
 * Which neighbours join a component: 4 (pixels sharing an edge) or 8 (an edge or a corner)
 * for 2-D masks; 6 (voxels sharing a face), 18 (a face or an edge) or 26 (a face, an edge or
 * a corner) for 3-D ones: scipy's `generate_binary_structure(rank, 1 | 2 | 3)`.
 */
export type Connectivity = 4 | 8 | 6 | 18 | 26;

/** Options of {@link connectedComponents}. */
export interface ConnectedComponentsOptions {
  /**
   * Which neighbours join a component; it also says whether the mask is 2-D or 3-D. Default:
   * 4 for a rank-2 mask, 6 for rank 3 or 4 (scipy.ndimage's default, the faces only). A rank-3
   * mask with connectivity 4 or 8 is a batch of 2-D masks `[N, H, W]`.
   */
  connectivity?: Connectivity;
}

/** What {@link connectedComponents} returns. */
export interface ConnectedComponents {
  /**
   * int32, the mask's shape and device: 0 on the background, 1..n on the components, numbered
   * in raster (row-major) order of their first element, exactly as scipy.ndimage.label. In a
   * batch each mask is numbered from 1.
   */
  labels: Tensor<'int32'>;
  /** The number of components: the largest label (over the batch, for a batch of masks). */
  count: number;
  /** The number of components of each mask of a batch (one entry for an unbatched mask). */
  counts: number[];
}

/** The dtypes a mask may have (nonzero = foreground). */
export const MASK_DTYPES: readonly DType[] = ['bool', 'uint8', 'int32'];

const PLANAR: readonly number[] = [4, 8];
const VOLUMETRIC: readonly number[] = [6, 18, 26];

/**
 * How a mask's dims split into an optional batch dim and the 2 or 3 spatial dims its
 * connectivity joins; the native primitive sees every mask as `[batch, depth, height, width]`.
 * @internal
 */
export interface ComponentGeometry {
  connectivity: Connectivity;
  /** The mask has a leading batch dim. */
  batched: boolean;
  /** The spatial dims (2 or 3). */
  spatial: readonly number[];
  /** `[batch, depth, height, width]` (batch 1 and depth 1 where absent). */
  native: [number, number, number, number];
}

/**
 * Checks `mask` (a tensor of {@link MASK_DTYPES}, rank 2-4) and `connectivity`, and returns
 * how the mask's dims are read (see {@link ConnectedComponentsOptions.connectivity}).
 * @internal
 */
export function componentGeometry(op: string, mask: Tensor, connectivity: unknown): ComponentGeometry {
  checkTensor(op, 'mask', mask);
  checkDTypeIn(op, 'mask', mask, MASK_DTYPES);
  const rank = mask.ndim;
  if (rank < 2 || rank > 4) {
    throw new ShapeError(`${op}: expected mask [H, W], [D, H, W], [N, H, W] or [N, D, H, W], got [${mask.shape.join(', ')}]`);
  }
  const c = connectivity ?? (rank === 2 ? 4 : 6);
  if (!PLANAR.includes(c as number) && !VOLUMETRIC.includes(c as number)) {
    throw new ArgumentError(`${op}: expected connectivity 4 or 8 (2-D) or 6, 18 or 26 (3-D), got ${String(connectivity)}`);
  }
  const spatialRank = PLANAR.includes(c as number) ? 2 : 3;
  if (rank !== spatialRank && rank !== spatialRank + 1) {
    const expected = spatialRank === 2 ? '[H, W] or [N, H, W]' : '[D, H, W] or [N, D, H, W]';
    throw new ShapeError(`${op}: expected mask ${expected} for connectivity ${String(c)}, got [${mask.shape.join(', ')}]`);
  }
  const batched = rank > spatialRank;
  const spatial = mask.shape.slice(batched ? 1 : 0);
  const volume = spatial.reduce((a, b) => a * b, 1);
  // Labels and the union-find's provisional labels are int32.
  if (volume >= 2 ** 31 - 1) {
    throw new ShapeError(`${op}: expected fewer than 2^31 - 1 elements per mask, got [${spatial.join(', ')}]`);
  }
  const [d, h, w] = spatialRank === 2 ? [1, spatial[0]!, spatial[1]!] : [spatial[0]!, spatial[1]!, spatial[2]!];
  return { connectivity: c as Connectivity, batched, spatial, native: [batched ? mask.shape[0]! : 1, d, h, w] };
}

/** The labels (on the CPU) and per-mask counts (int32 `[batch]`, on the CPU) as queued. */
interface Queued {
  labels: Tensor<'int32'>;
  counts: Tensor<'int32'>;
}

function queue(op: string, mask: Tensor, geometry: ComponentGeometry): Queued {
  return noGrad(() => {
    const host = mask.cpu().contiguous().reshape(geometry.native);
    const labels = empty(op, geometry.native, 'int32', 'cpu');
    const counts = empty(op, [geometry.native[0]], 'int32', 'cpu');
    native.connectedComponents(op, labels._native(op, 'labels'), counts._native(op, 'counts'), host._native(op, 'mask'), geometry.connectivity);
    return { labels, counts };
  });
}

// Both forms run inside a scope, which frees the temporaries (the CPU copy, the counts) and
// keeps the labels.
function finish(mask: Tensor, queued: Queued, counts: Int32Array): ConnectedComponents {
  const list = Array.from(counts);
  const labels = noGrad(() => queued.labels.reshape(mask.shape).to(mask.device));
  return { labels, count: list.reduce((a, b) => Math.max(a, b), 0), counts: list };
}

/**
 * Labels the connected components of `mask` (nonzero = foreground), as
 * `scipy.ndimage.label(mask, generate_binary_structure(rank, ...))`.
 *
 * `mask` is bool, uint8 or int32: `[H, W]` or `[D, H, W]`, or a batch of them `[N, H, W]` /
 * `[N, D, H, W]` labelled mask by mask; `connectivity` says which (see
 * {@link ConnectedComponentsOptions}). Runs on the CPU: a CUDA mask is copied there and its
 * labels copied back. Not differentiable. Waits for the stream to read the count: see
 * {@link connectedComponentsAsync}.
 * @example
 * const { labels, count } = connectedComponents(tensor([[1, 0, 1], [1, 0, 0]], { dtype: 'uint8' }));
 * // count 2, labels [[1, 0, 2], [1, 0, 0]]
 */
export function connectedComponents(mask: Tensor, opts: ConnectedComponentsOptions = {}): ConnectedComponents {
  const geometry = componentGeometry('connectedComponents', mask, opts.connectivity);
  return scope(() => {
    const queued = queue('connectedComponents', mask, geometry);
    return finish(mask, queued, queued.counts.dataSync());
  });
}

/** {@link connectedComponents} without blocking the event loop. @example const { labels, count } = await connectedComponentsAsync(mask, { connectivity: 8 }); */
export function connectedComponentsAsync(mask: Tensor, opts: ConnectedComponentsOptions = {}): Promise<ConnectedComponents> {
  const geometry = componentGeometry('connectedComponentsAsync', mask, opts.connectivity);
  return scope(async () => {
    const queued = queue('connectedComponentsAsync', mask, geometry);
    return finish(mask, queued, await queued.counts.data());
  });
}
