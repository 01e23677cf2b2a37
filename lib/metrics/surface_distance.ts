/**
 * Surface distances between segmentations: the (percentile) Hausdorff distance, HD95 by
 * default, and the average surface distance, as MONAI's `compute_hausdorff_distance` /
 * `compute_average_surface_distance`, in 2-D and 3-D with voxel spacing. A mask's surface
 * is the mask minus its erosion by the face-connected cross (SciPy's `binary_erosion`,
 * outside the image counting as background), and each surface voxel's distance is the
 * exact Euclidean distance to the nearest surface voxel of the other mask.
 *
 * The distance transform runs on the host, hand-written (Felzenszwalb & Huttenlocher's
 * separable lower-envelope algorithm, O(voxels) per pass): neither our native kernels nor
 * any library in our stack provides an exact Euclidean distance transform, and surface
 * metrics are evaluation-time code that reads its masks back once anyway.
 * @module
 */
import { ArgumentError } from '../errors.js';
import { tensor } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { segmentationMasks, type SegmentationMaskOptions } from './segmentation.js';

/** Options of the surface distances. */
export interface SurfaceDistanceOptions extends SegmentationMaskOptions {
  /** Voxel size along each spatial dim, in the order of the dims (e.g. `[depth, height, width]` mm), or one number for all (default 1). */
  spacing?: number | readonly number[];
}

/** Options of {@link hausdorffDistance}. */
export interface HausdorffDistanceOptions extends SurfaceDistanceOptions {
  /** Percentile of the directed distances, in [0, 100] (default 95: HD95; 100 is the classic Hausdorff distance). */
  percentile?: number;
}

/** Options of {@link averageSurfaceDistance}. */
export interface AverageSurfaceDistanceOptions extends SurfaceDistanceOptions {
  /** Average the distances of both surfaces (true) or only those of the prediction's surface to the target's (false, the default, as MONAI). */
  symmetric?: boolean;
}

/**
 * Exact Euclidean distance transform: for each voxel of a row-major grid of `shape` with
 * voxel size `spacing`, the distance to the nearest voxel where `features` is nonzero
 * (Infinity when there is none), as SciPy's `distance_transform_edt(features == 0,
 * sampling=spacing)`. One 1-D pass per dim over squared distances (Felzenszwalb &
 * Huttenlocher, "Distance Transforms of Sampled Functions", 2012).
 * @internal
 */
export function euclideanDistanceTransform(features: ArrayLike<number>, shape: readonly number[], spacing: readonly number[]): Float64Array {
  const total = shape.reduce((a, b) => a * b, 1);
  const squared = new Float64Array(total);
  for (let i = 0; i < total; ++i) squared[i] = features[i] ? 0 : Number.POSITIVE_INFINITY;
  const longest = Math.max(1, ...shape);
  const line = new Float64Array(longest);
  const out = new Float64Array(longest);
  const vertices = new Int32Array(longest);
  const bounds = new Float64Array(longest + 1);
  let stride = total;
  for (let d = 0; d < shape.length; ++d) {
    const n = shape[d]!;
    stride /= n;
    const outer = total / (n * stride);
    for (let o = 0; o < outer; ++o) {
      for (let inner = 0; inner < stride; ++inner) {
        const start = o * n * stride + inner;
        for (let q = 0; q < n; ++q) line[q] = squared[start + q * stride]!;
        lowerEnvelope(line, n, spacing[d]!, out, vertices, bounds);
        for (let q = 0; q < n; ++q) squared[start + q * stride] = out[q]!;
      }
    }
  }
  for (let i = 0; i < total; ++i) squared[i] = Math.sqrt(squared[i]!);
  return squared;
}

/**
 * One 1-D pass: `out[p] = min_q (s (p - q))^2 + f[q]` over the first `n` entries, from the
 * lower envelope of the parabolas rooted at the finite `f[q]` (all Infinity when none is).
 */
function lowerEnvelope(f: Float64Array, n: number, s: number, out: Float64Array, v: Int32Array, z: Float64Array): void {
  // Where the parabolas of q and p (q > p) cross, in physical units along the line.
  const cross = (q: number, p: number) => (f[q]! + (q * s) ** 2 - (f[p]! + (p * s) ** 2)) / (2 * s * (q - p));
  let k = -1;
  for (let q = 0; q < n; ++q) {
    if (f[q] === Number.POSITIVE_INFINITY) continue;
    if (k < 0) {
      k = 0;
      v[0] = q;
      z[0] = Number.NEGATIVE_INFINITY;
      z[1] = Number.POSITIVE_INFINITY;
      continue;
    }
    let at = cross(q, v[k]!);
    while (at <= z[k]!) at = cross(q, v[--k]!);
    v[++k] = q;
    z[k] = at;
    z[k + 1] = Number.POSITIVE_INFINITY;
  }
  if (k < 0) {
    out.fill(Number.POSITIVE_INFINITY, 0, n);
    return;
  }
  k = 0;
  for (let p = 0; p < n; ++p) {
    while (z[k + 1]! < p * s) ++k;
    out[p] = (s * (p - v[k]!)) ** 2 + f[v[k]!]!;
  }
}

/**
 * The surface voxels of a 0/1 mask (row-major, `shape`): foreground voxels with a
 * background face neighbour or on the border of the grid.
 * @internal
 */
export function maskSurface(mask: ArrayLike<number>, shape: readonly number[]): Uint8Array {
  const total = shape.reduce((a, b) => a * b, 1);
  const strides = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
  const surface = new Uint8Array(total);
  for (let i = 0; i < total; ++i) {
    if (!mask[i]) continue;
    for (let d = 0; d < shape.length; ++d) {
      const coord = Math.floor(i / strides[d]!) % shape[d]!;
      if (coord === 0 || coord === shape[d]! - 1 || !mask[i - strides[d]!] || !mask[i + strides[d]!]) {
        surface[i] = 1;
        break;
      }
    }
  }
  return surface;
}

/** The distances from each surface voxel of `from` to the nearest surface voxel of `to`. */
function directedDistances(from: Uint8Array, to: Uint8Array, shape: readonly number[], spacing: readonly number[]): number[] {
  const field = euclideanDistanceTransform(to, shape, spacing);
  const distances: number[] = [];
  for (let i = 0; i < from.length; ++i) if (from[i]) distances.push(field[i]!);
  return distances;
}

/** NumPy's default (linear) percentile of non-empty `values`. */
function percentileOf(values: number[], q: number): number {
  const sorted = values.slice().sort((a, b) => a - b);
  const rank = (q / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

/** The spacing per spatial dim, checked. */
function spacingOf(op: string, spacing: number | readonly number[] | undefined, rank: number): number[] {
  const values = spacing === undefined ? new Array<number>(rank).fill(1) : typeof spacing === 'number' ? new Array<number>(rank).fill(spacing) : Array.from(spacing);
  if (values.length !== rank || values.some((s) => typeof s !== 'number' || !Number.isFinite(s) || s <= 0)) {
    throw new ArgumentError(`${op}: expected spacing to be a positive number or ${rank} positive numbers (one per spatial dim), got ${JSON.stringify(spacing)}`);
  }
  return values;
}

/**
 * Validates synchronously, then reads both masks once and calls `measure` on the two
 * surfaces of each (sample, class); empty masks give NaN. Resolves to `[N, C']` float32 on
 * the inputs' device.
 */
function surfaceMetric(
  op: string,
  pred: Tensor,
  target: Tensor,
  opts: SurfaceDistanceOptions,
  measure: (predSurface: Uint8Array, targetSurface: Uint8Array, shape: number[], spacing: number[]) => number,
): Promise<Tensor<'float32'>> {
  const masks = segmentationMasks(op, pred, target, opts);
  const [n, c, ...spatial] = masks.pred.shape as number[];
  let spacing: number[];
  try {
    spacing = spacingOf(op, opts.spacing, spatial.length);
  } catch (error) {
    masks.pred.dispose();
    masks.target.dispose();
    throw error;
  }
  const read = Promise.all([masks.pred.data(), masks.target.data()]).finally(() => {
    masks.pred.dispose();
    masks.target.dispose();
  });
  return read.then(([p, t]) => {
    const size = spatial.reduce((a, b) => a * b, 1);
    const result = new Float32Array(n! * c!);
    for (let k = 0; k < n! * c!; ++k) {
      const pm = p.subarray(k * size, (k + 1) * size);
      const tm = t.subarray(k * size, (k + 1) * size);
      const empty = (m: ArrayLike<number>) => !Array.prototype.some.call(m, (x: number) => x !== 0);
      result[k] = empty(pm) || empty(tm) ? Number.NaN : measure(maskSurface(pm, spatial), maskSurface(tm, spatial), spatial, spacing);
    }
    const flat = tensor(result, { device: pred.device });
    try {
      return flat.reshape([n!, c!]) as Tensor<'float32'>;
    } finally {
      flat.dispose();
    }
  });
}

/**
 * Percentile Hausdorff distance (HD95 by default) per sample and class, as MONAI's
 * `compute_hausdorff_distance(..., percentile, spacing)` with `directed=False`: the larger of
 * the two directed percentiles of surface-to-surface distances, in the units of `spacing`.
 * Inputs as {@link diceScore}: binary masks `[N, C, ...spatial]` or, with `numClasses`,
 * int32 label maps `[N, ...spatial]`; 2-D and 3-D (any spatial rank). Resolves to
 * `[N, C']` float32 on the inputs' device. Where the prediction or the target of a
 * (sample, class) is empty the distance is undefined and the result is NaN (MONAI gives
 * NaN or Infinity there, with a warning). Bad shapes and options throw at the call;
 * `includeBackground` defaults to true here (MONAI's to false).
 *
 * @example
 * const hd95 = await metrics.hausdorffDistance(predMasks, trueMasks, { spacing: [2.5, 0.8, 0.8] }); // [N, C] in mm
 */
export function hausdorffDistance(pred: Tensor, target: Tensor, opts: HausdorffDistanceOptions = {}): Promise<Tensor<'float32'>> {
  const op = 'hausdorffDistance';
  const q = opts.percentile ?? 95;
  if (typeof q !== 'number' || !(q >= 0 && q <= 100)) throw new ArgumentError(`${op}: expected percentile in [0, 100], got ${String(q)}`);
  return surfaceMetric(op, pred, target, opts, (ps, ts, shape, spacing) =>
    Math.max(percentileOf(directedDistances(ps, ts, shape, spacing), q), percentileOf(directedDistances(ts, ps, shape, spacing), q)),
  );
}

/**
 * Average surface distance per sample and class, as MONAI's
 * `compute_average_surface_distance(..., symmetric, spacing)`: the mean distance from each
 * surface voxel of the prediction to the target's surface (or, with `symmetric`, the mean
 * over both surfaces' voxels), in the units of `spacing`. Inputs, result and empty masks
 * (NaN) as {@link hausdorffDistance}.
 *
 * @example
 * const asd = await metrics.averageSurfaceDistance(argmax(logits, 1), labels, { numClasses: 3, includeBackground: false, symmetric: true });
 */
export function averageSurfaceDistance(pred: Tensor, target: Tensor, opts: AverageSurfaceDistanceOptions = {}): Promise<Tensor<'float32'>> {
  const op = 'averageSurfaceDistance';
  return surfaceMetric(op, pred, target, opts, (ps, ts, shape, spacing) => {
    let distances = directedDistances(ps, ts, shape, spacing);
    // concat, not push(...): a 3-D surface can hold more voxels than a call takes arguments.
    if (opts.symmetric) distances = distances.concat(directedDistances(ts, ps, shape, spacing));
    return distances.reduce((a, b) => a + b, 0) / distances.length;
  });
}
