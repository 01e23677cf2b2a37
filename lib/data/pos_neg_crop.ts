/**
 * Foreground/background-balanced patch sampling for segmentation, as MONAI's
 * `RandCropByPosNegLabel`: patch centres are drawn from foreground voxels with probability
 * pos / (pos + neg), else from background ones, so small structures in large volumes are
 * seen as often as asked for.
 * @module
 */
import { ArgumentError, ShapeError } from '../errors.js';
import { rand } from '../tensor/creation.js';
import { describe } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

/** Options of {@link randCropByPosNegLabel}. */
export interface RandCropByPosNegLabelOptions {
  /**
   * Patch size, one entry per spatial dimension (`[h, w]` or `[d, h, w]`); an entry <= 0
   * takes the whole extent of that dimension (MONAI's fall-back).
   */
  spatialSize: readonly number[];
  /** Weight of foreground-centred patches (default 1). */
  pos?: number;
  /** Weight of background-centred patches (default 1). */
  neg?: number;
  /** Patches to draw (default 1). */
  numSamples?: number;
  /** A patch larger than the volume is cut to its size instead of a ShapeError (default false, as MONAI's `allow_smaller`). */
  allowSmaller?: boolean;
  /**
   * Uniform numbers in [0, 1) to draw with, e.g. `data.seededRandom(seed)` (default: neocog's
   * seeded generator, see `manualSeed`).
   */
  generator?: () => number;
}

/**
 * Crops `numSamples` patches of `spatialSize` from `image` `[C, H, W]` or `[C, D, H, W]` and
 * the same patches from `label` (same spatial size, any channel count, any dtype), as MONAI's
 * `RandCropByPosNegLabel`. A voxel is foreground when its label is > 0; a label of several
 * channels is one-hot, so, as MONAI does, its channel 0 (background) is dropped and a voxel is
 * foreground when any other channel is > 0. (MONAI's `image_threshold`, which limits the
 * background to bright image voxels, is not offered.) Each patch
 * centre is a foreground voxel with probability `pos / (pos + neg)`, else a background one,
 * drawn uniformly; the centre is then moved just enough for the patch to fit inside the
 * volume (MONAI's `correct_crop_centers`), so the drawn voxel is always inside its patch.
 *
 * A label with no foreground draws every centre from the background (and one with no
 * background every centre from the foreground), as MONAI does after its warning: sampling
 * degrades to plain random crops instead of failing on empty slices.
 *
 * The crops are views of the inputs (no copy). Draws come from `generator` or neocog's
 * seeded generator, two per patch, so a seed reproduces the patches. Async: the label is
 * read on the host when its stream reaches it.
 *
 * A label whose spatial size differs from the image's, or a patch larger than the volume
 * (unless `allowSmaller`), is a ShapeError; negative or all-zero `pos`/`neg` and a bad
 * `numSamples` are ArgumentErrors.
 *
 * @example
 * const patches = await data.randCropByPosNegLabel(ct, seg, { spatialSize: [96, 96, 96], pos: 1, neg: 1, numSamples: 4 });
 * for (const [image, label] of patches) image.shape; // [1, 96, 96, 96]
 */
export async function randCropByPosNegLabel<I extends Tensor, L extends Tensor>(image: I, label: L, opts: RandCropByPosNegLabelOptions): Promise<Array<[image: I, label: L]>> {
  const op = 'randCropByPosNegLabel';
  if (!(image instanceof Tensor)) throw new ArgumentError(`${op}: expected image to be a Tensor, got ${describe(image)}`);
  if (!(label instanceof Tensor)) throw new ArgumentError(`${op}: expected label to be a Tensor, got ${describe(label)}`);
  if (image.ndim !== 3 && image.ndim !== 4) throw new ShapeError(`${op}: expected image of shape [C, H, W] or [C, D, H, W], got [${image.shape.join(', ')}]`);
  const spatial = image.shape.slice(1);
  if (label.ndim !== image.ndim || label.shape.slice(1).some((s, d) => s !== spatial[d])) {
    throw new ShapeError(`${op}: expected label of shape [C', ${spatial.join(', ')}] to match image [${image.shape.join(', ')}], got [${label.shape.join(', ')}]`);
  }
  if (typeof opts !== 'object' || opts === null) throw new ArgumentError(`${op}: expected options { spatialSize, pos, neg, numSamples }, got ${describe(opts)}`);
  const { pos = 1, neg = 1, numSamples = 1, allowSmaller = false, generator } = opts;
  if (!Array.isArray(opts.spatialSize) || opts.spatialSize.length !== spatial.length || !opts.spatialSize.every((s) => Number.isInteger(s))) {
    throw new ArgumentError(`${op}: expected spatialSize to be ${spatial.length} integers (one per spatial dimension of [${spatial.join(', ')}]), got ${describe(opts.spatialSize)}`);
  }
  for (const [name, value] of [['pos', pos], ['neg', neg]] as const) {
    if (typeof value !== 'number' || !(value >= 0 && Number.isFinite(value))) throw new ArgumentError(`${op}: expected ${name} to be a finite number >= 0, got ${describe(value)}`);
  }
  if (pos + neg === 0) throw new ArgumentError(`${op}: expected pos + neg > 0, got pos ${pos} and neg ${neg}`);
  if (!Number.isInteger(numSamples) || numSamples < 1) throw new ArgumentError(`${op}: expected numSamples to be a positive integer, got ${describe(numSamples)}`);
  if (generator !== undefined && typeof generator !== 'function') throw new ArgumentError(`${op}: expected generator to be a function returning numbers in [0, 1), got ${describe(generator)}`);
  const size = opts.spatialSize.map((s, d) => (s > 0 ? s : spatial[d]!));
  if (size.some((s, d) => s > spatial[d]!)) {
    if (!allowSmaller) throw new ShapeError(`${op}: spatialSize [${size.join(', ')}] is larger than the volume [${spatial.join(', ')}] (give allowSmaller to cut it)`);
    size.forEach((s, d) => (size[d] = Math.min(s, spatial[d]!)));
  }

  const [foreground, background] = splitVoxels(await label.data(), label.shape[0]!, spatial.reduce((a, b) => a * b, 1));
  // MONAI: with one of the two sets empty, every centre comes from the other.
  const posRatio = foreground.length === 0 ? 0 : background.length === 0 ? 1 : pos / (pos + neg);
  const draws = await uniformDraws(2 * numSamples, generator, op);
  const patches: Array<[I, L]> = [];
  for (let k = 0; k < numSamples; ++k) {
    const pool = draws[2 * k]! < posRatio ? foreground : background;
    const voxel = pool[Math.min(Math.floor(draws[2 * k + 1]! * pool.length), pool.length - 1)]!;
    const starts = patchStarts(voxel, spatial, size);
    let imagePatch: Tensor = image;
    let labelPatch: Tensor = label;
    starts.forEach((start, d) => {
      imagePatch = imagePatch.slice(d + 1, start, start + size[d]!);
      labelPatch = labelPatch.slice(d + 1, start, start + size[d]!);
    });
    patches.push([imagePatch as I, labelPatch as L]);
  }
  return patches;
}

/** Flat spatial indices of the foreground (any of `channels` > 0, but a one-hot label's channel 0) and background voxels. */
function splitVoxels(values: ArrayLike<number>, channels: number, voxels: number): [Int32Array, Int32Array] {
  const isForeground = new Uint8Array(voxels);
  for (let c = channels > 1 ? 1 : 0; c < channels; ++c) for (let v = 0; v < voxels; ++v) if (values[c * voxels + v]! > 0) isForeground[v] = 1;
  let count = 0;
  for (let v = 0; v < voxels; ++v) count += isForeground[v]!;
  const foreground = new Int32Array(count);
  const background = new Int32Array(voxels - count);
  for (let v = 0, f = 0, b = 0; v < voxels; ++v) {
    if (isForeground[v]) foreground[f++] = v;
    else background[b++] = v;
  }
  return [foreground, background];
}

/**
 * The patch's start per dimension for a centre at flat index `voxel`: the centre clamped to
 * [floor(s / 2), floor(L + 1 - s / 2) - 1] (MONAI's `correct_crop_centers`), minus floor(s / 2).
 */
function patchStarts(voxel: number, spatial: readonly number[], size: readonly number[]): number[] {
  const starts = new Array<number>(spatial.length);
  for (let d = spatial.length - 1; d >= 0; --d) {
    const extent = spatial[d]!;
    const centre = voxel % extent;
    voxel = Math.floor(voxel / extent);
    const half = Math.floor(size[d]! / 2);
    let end = Math.floor(extent + 1 - size[d]! / 2);
    if (end === half) end += 1; // MONAI: randint needs an open range
    starts[d] = Math.min(Math.max(centre, half), end - 1) - half;
  }
  return starts;
}

/** `count` uniform numbers in [0, 1): from `generator`, or neocog's seeded generator. */
async function uniformDraws(count: number, generator: (() => number) | undefined, op: string): Promise<ArrayLike<number>> {
  if (generator) {
    return Array.from({ length: count }, () => {
      const u = generator();
      if (typeof u !== 'number' || !(u >= 0 && u < 1)) throw new ArgumentError(`${op}: expected generator to return numbers in [0, 1), got ${describe(u)}`);
      return u;
    });
  }
  const u = rand([count]);
  try {
    return await u.data();
  } finally {
    u.dispose();
  }
}
