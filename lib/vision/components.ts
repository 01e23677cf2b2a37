/**
 * Segmentation post-processing on connected components: per-component statistics (area or
 * volume, bounding box, centroid), keeping the largest component, removing small ones and
 * filling holes, as MONAI's `KeepLargestConnectedComponent`, `RemoveSmallObjects` and
 * `FillHoles` and scipy's `binary_fill_holes`. The labelling is the native
 * {@link connectedComponents}; the rest is one pass over the labels on the host, which these
 * functions read (so they wait for the stream; a CUDA mask comes back to the CPU and the
 * result goes back to its device).
 *
 * A mask is bool or uint8 (nonzero = foreground), or an int32 label map (0 = background,
 * every other value a class) which is processed class by class. Dims and the default
 * connectivity are read as by {@link connectedComponents}: `[H, W]`, `[D, H, W]`, or a batch
 * of either, processed mask by mask.
 * @module
 */
import { noGrad } from '../autograd/grad_mode.js';
import { ArgumentError, IndexError, ShapeError } from '../errors.js';
import { componentGeometry, connectedComponents, type ComponentGeometry, type Connectivity } from '../ops/connected_components.js';
import { checkDTypeIn, checkInt, checkTensor } from '../ops/validate.js';
import { tensor } from '../tensor/creation.js';
import type { DType, TypedArrayFor } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';

/** Per-component statistics of a label image, component `k` (label `k + 1`) at index `k`. */
export interface ComponentStats {
  /** The number of components (labels 1..count). */
  count: number;
  /** The spatial rank (2 or 3): the row length of `bbox` is `2 * rank`, of `centroid` `rank`. */
  rank: number;
  /** Elements per component: area (2-D) or volume (3-D), `[count]`. */
  area: Int32Array;
  /**
   * Bounding boxes `[count, 2 * rank]`, row-major: the first coordinate of each dim, then one
   * past the last (skimage's `regionprops` bbox; scipy's `find_objects` slices), e.g.
   * `[y0, x0, y1, x1]` in 2-D. An absent label has an empty box `[0, 0, 0, 0]`.
   */
  bbox: Int32Array;
  /** Mean coordinate of each dim, `[count, rank]` (scipy's `center_of_mass`); NaN for an absent label. */
  centroid: Float64Array;
}

/**
 * Area (volume), bounding box and centroid of every component of a label image, as
 * scipy.ndimage's `find_objects` and `center_of_mass` (and skimage's `regionprops`) give them.
 *
 * `labels` is int32 `[H, W]` or `[D, H, W]` (0 = background), as
 * {@link connectedComponents} returns; `count` defaults to its largest label. Reads the
 * labels back (waits for the stream).
 * @example
 * const { labels, count } = connectedComponents(mask, { connectivity: 8 });
 * const { area, bbox } = componentStats(labels, count); // bbox row k: [y0, x0, y1, x1] of label k + 1
 */
export function componentStats(labels: Tensor, count?: number): ComponentStats {
  const op = 'componentStats';
  checkTensor(op, 'labels', labels);
  checkDTypeIn(op, 'labels', labels, ['int32']);
  if (labels.ndim !== 2 && labels.ndim !== 3) {
    throw new ShapeError(`${op}: expected labels [H, W] or [D, H, W], got [${labels.shape.join(', ')}]`);
  }
  const values = labels.dataSync() as Int32Array;
  let n = count ?? 0;
  if (count === undefined) {
    for (let i = 0; i < values.length; ++i) if (values[i]! > n) n = values[i]!;
  } else {
    checkInt(op, 'count', count, 0);
  }
  return statsOf(op, values, labels.shape, n);
}

function statsOf(op: string, values: Int32Array, shape: readonly number[], count: number): ComponentStats {
  const rank = shape.length;
  const area = new Int32Array(count);
  const low = new Int32Array(count * rank).fill(2 ** 31 - 1);
  const high = new Int32Array(count * rank).fill(-1);
  const sums = new Float64Array(count * rank);
  // Coordinates advance like an odometer: no division per element.
  const coordinate = new Array<number>(rank).fill(0);
  for (let i = 0; i < values.length; ++i) {
    const label = values[i]!;
    if (label !== 0) {
      if (label < 0 || label > count) throw new IndexError(`${op}: expected labels in [0, ${count}], got ${label} at flat index ${i}`);
      const k = label - 1;
      area[k] = area[k]! + 1;
      for (let d = 0; d < rank; ++d) {
        const c = coordinate[d]!;
        const j = k * rank + d;
        if (c < low[j]!) low[j] = c;
        if (c > high[j]!) high[j] = c;
        sums[j] = sums[j]! + c;
      }
    }
    for (let d = rank - 1; d >= 0; --d) {
      if (++coordinate[d]! < shape[d]!) break;
      coordinate[d] = 0;
    }
  }
  const bbox = new Int32Array(count * 2 * rank);
  const centroid = new Float64Array(count * rank);
  for (let k = 0; k < count; ++k) {
    for (let d = 0; d < rank; ++d) {
      const j = k * rank + d;
      const present = area[k]! > 0;
      bbox[k * 2 * rank + d] = present ? low[j]! : 0;
      bbox[k * 2 * rank + rank + d] = present ? high[j]! + 1 : 0;
      centroid[j] = present ? sums[j]! / area[k]! : Number.NaN;
    }
  }
  return { count, rank, area, bbox, centroid };
}

/** Options of {@link keepLargestComponent}, {@link removeSmallComponents} and {@link fillHoles}. */
export interface ComponentFilterOptions {
  /**
   * Which neighbours join a component (default 4 for a rank-2 mask, 6 otherwise, as
   * scipy.ndimage; MONAI defaults to the full 8 / 26). For {@link fillHoles} it joins the
   * background, as binary_fill_holes' structure does. A rank-3 mask with 4 or 8 is a batch
   * `[N, H, W]`.
   */
  connectivity?: Connectivity;
  /**
   * For an int32 label map: the classes to process (default: every nonzero class present);
   * the others are left as they are. Not allowed for bool/uint8 masks.
   */
  classes?: readonly number[];
}

/** Options of {@link removeSmallComponents}. */
export interface RemoveSmallComponentsOptions extends ComponentFilterOptions {
  /** Components with fewer elements than this are removed (skimage's and MONAI's `min_size`; default 64). */
  minSize?: number;
}

/** One labelling: class `cls` (null for a binary mask) of batch item `item`. */
interface Group {
  cls: number | null;
  item: number;
}

/** A mask read to the host, with the components of each group labelled. */
interface Labelled {
  geometry: ComponentGeometry;
  values: TypedArrayFor[DType];
  /** Elements per batch item. */
  volume: number;
  groups: Group[];
  /** Group g's labels are `labels[g * volume, (g + 1) * volume)`. */
  labels: Int32Array;
  counts: number[];
}

/**
 * Reads `mask`, and labels for each (class, batch item) the foreground (binary masks) or
 * the class's elements (label maps), or with `complement` the rest.
 */
function label(op: string, mask: Tensor, opts: ComponentFilterOptions, complement: boolean): Labelled {
  const geometry = componentGeometry(op, mask, opts.connectivity);
  const labelMap = mask.dtype === 'int32';
  if (!labelMap && opts.classes !== undefined) {
    throw new ArgumentError(`${op}: expected no classes for a ${mask.dtype} mask (classes select values of an int32 label map)`);
  }
  const values = mask.dataSync();
  const [batch, d, h, w] = geometry.native;
  const volume = d * h * w;
  const classes = labelMap ? classList(op, values as Int32Array, opts.classes) : [null];
  const groups: Group[] = [];
  for (const cls of classes) for (let item = 0; item < batch; ++item) groups.push({ cls, item });
  const shape = [groups.length, ...geometry.spatial];
  const { labels, counts } = noGrad(() => {
    // A binary mask's foreground is labelled as it is; anything else is selected on the host.
    const stacked = labelMap || complement ? tensor(selection(values, groups, volume, complement), { shape }) : mask.reshape(shape);
    try {
      const result = connectedComponents(stacked, { connectivity: geometry.connectivity });
      try {
        return { labels: result.labels.dataSync(), counts: result.counts };
      } finally {
        result.labels.dispose();
      }
    } finally {
      stacked.dispose();
    }
  });
  return { geometry, values, volume, groups, labels, counts };
}

/** For each group, 1 where its class (or, for a binary mask, the foreground) is, or with `complement` is not. */
function selection(values: TypedArrayFor[DType], groups: readonly Group[], volume: number, complement: boolean): Uint8Array {
  const selected = new Uint8Array(groups.length * volume);
  groups.forEach(({ cls, item }, g) => {
    const base = item * volume;
    const out = g * volume;
    const inside = complement ? 0 : 1;
    if (cls === null) {
      for (let i = 0; i < volume; ++i) selected[out + i] = values[base + i] !== 0 ? inside : 1 - inside;
    } else {
      for (let i = 0; i < volume; ++i) selected[out + i] = values[base + i] === cls ? inside : 1 - inside;
    }
  });
  return selected;
}

/** The classes to process: `classes` (checked), or every nonzero value of `values` in increasing order. */
function classList(op: string, values: Int32Array, classes: readonly number[] | undefined): number[] {
  if (classes !== undefined) {
    if (!Array.isArray(classes) || classes.some((c) => !Number.isInteger(c) || c === 0)) {
      throw new ArgumentError(`${op}: expected classes to be a list of nonzero integers, got ${JSON.stringify(classes)}`);
    }
    return [...new Set(classes)];
  }
  const present = new Set<number>();
  for (let i = 0; i < values.length; ++i) if (values[i] !== 0) present.add(values[i]!);
  return [...present].sort((a, b) => a - b);
}

/** Element counts of labels 0..count of one group. */
function areas(l: Labelled, g: number): Int32Array {
  const area = new Int32Array(l.counts[g]! + 1);
  const start = g * l.volume;
  for (let i = 0; i < l.volume; ++i) {
    const k = l.labels[start + i]!;
    area[k] = area[k]! + 1;
  }
  return area;
}

/** A tensor of `mask`'s dtype, shape and device holding `values`. */
function resultLike(mask: Tensor, values: TypedArrayFor[DType]): Tensor {
  return noGrad(() => tensor(values, { dtype: mask.dtype, shape: mask.shape, device: mask.device }));
}

/**
 * Zeroes, in each group, the selected elements whose component `keep` (given the group's
 * areas, indexed by label) does not keep.
 */
function filterComponents(op: string, mask: Tensor, opts: ComponentFilterOptions, keep: (area: Int32Array) => (label: number) => boolean): Tensor {
  const l = label(op, mask, opts, false);
  const out = l.values.slice();
  l.groups.forEach(({ item }, g) => {
    const kept = keep(areas(l, g));
    const table = new Uint8Array(l.counts[g]! + 1);
    for (let k = 1; k < table.length; ++k) table[k] = kept(k) ? 1 : 0;
    const base = item * l.volume;
    const start = g * l.volume;
    for (let i = 0; i < l.volume; ++i) {
      const k = l.labels[start + i]!;
      if (k !== 0 && table[k] === 0) out[base + i] = 0;
    }
  });
  return resultLike(mask, out);
}

/**
 * Keeps only the largest connected component of a mask (of each class, for a label map),
 * as MONAI's `KeepLargestConnectedComponent` with `independent=True`; other components
 * become background (0). On a tie the component first in raster order stays.
 *
 * `mask`: bool/uint8 (nonzero = foreground) or an int32 label map; `[H, W]`, `[D, H, W]` or
 * a batch of them (see {@link ComponentFilterOptions}). Returns a new tensor of its dtype,
 * shape and device. Waits for the stream.
 * @example keepLargestComponent(prediction.argmax(1), { connectivity: 8 }) // [N, H, W] label maps
 */
export function keepLargestComponent(mask: Tensor, opts: ComponentFilterOptions = {}): Tensor {
  return filterComponents('keepLargestComponent', mask, opts, (area) => {
    let best = 1;
    for (let k = 2; k < area.length; ++k) if (area[k]! > area[best]!) best = k;
    return (k) => k === best;
  });
}

/**
 * Removes the connected components with fewer than `minSize` elements (of each class, for
 * a label map), as MONAI's `RemoveSmallObjects` and skimage's `remove_small_objects`:
 * they become background (0).
 *
 * `mask`: as {@link keepLargestComponent}. Returns a new tensor of its dtype, shape and
 * device. Waits for the stream.
 * @example removeSmallComponents(mask, { minSize: 20, connectivity: 8 })
 */
export function removeSmallComponents(mask: Tensor, opts: RemoveSmallComponentsOptions = {}): Tensor {
  const op = 'removeSmallComponents';
  const minSize = checkInt(op, 'minSize', opts.minSize ?? 64, 0);
  return filterComponents(op, mask, opts, (area) => (k) => area[k]! >= minSize);
}

/**
 * Fills the holes of a mask, as `scipy.ndimage.binary_fill_holes`: background components
 * (joined by `connectivity`) that do not touch the border of the image become foreground
 * (value 1).
 *
 * For an int32 label map, class by class: background (0) enclosed by the elements of one
 * class takes that class; where holes nest (a ring of class 2 around a ring of class 1) an
 * element takes the class of the smallest hole around it. Elements of other classes inside
 * a hole are left as they are (MONAI's `FillHoles` overwrites them with the enclosing class).
 *
 * `mask`: as {@link keepLargestComponent}. Returns a new tensor of its dtype, shape and
 * device. Waits for the stream.
 * @example fillHoles(mask) // as binary_fill_holes(mask)
 */
export function fillHoles(mask: Tensor, opts: ComponentFilterOptions = {}): Tensor {
  const l = label('fillHoles', mask, opts, true);
  const out = l.values.slice();
  const [, d, h, w] = l.geometry.native;
  // The size of the smallest hole found around each element so far (label maps).
  const smallest = new Float64Array(out.length).fill(Number.POSITIVE_INFINITY);
  l.groups.forEach(({ cls, item }, g) => {
    const area = areas(l, g);
    const start = g * l.volume;
    const open = borderLabels(l.labels.subarray(start, start + l.volume), l.geometry.spatial.length === 3, d, h, w, l.counts[g]!);
    const base = item * l.volume;
    for (let i = 0; i < l.volume; ++i) {
      const k = l.labels[start + i]!;
      if (k === 0 || open[k] === 1) continue;
      const o = base + i;
      if (cls === null) {
        out[o] = 1;
      } else if (l.values[o] === 0 && area[k]! < smallest[o]!) {
        smallest[o] = area[k]!;
        out[o] = cls;
      }
    }
  });
  return resultLike(mask, out);
}

/**
 * 1 for each label 1..count of a `[d, h, w]` labelling that appears on the border of the
 * image (a 2-D image, d = 1, has no border in z).
 */
function borderLabels(labels: Int32Array, volumetric: boolean, d: number, h: number, w: number, count: number): Uint8Array {
  const open = new Uint8Array(count + 1);
  const zBorder = volumetric;
  for (let z = 0; z < d; ++z) {
    for (let y = 0; y < h; ++y) {
      const row = (z * h + y) * w;
      if ((zBorder && (z === 0 || z === d - 1)) || y === 0 || y === h - 1) {
        for (let x = 0; x < w; ++x) open[labels[row + x]!] = 1;
      } else if (w > 0) {
        open[labels[row]!] = 1;
        open[labels[row + w - 1]!] = 1;
      }
    }
  }
  return open;
}
