/**
 * COCO segmentations (polygons and run-length encodings) to binary masks, as pycocotools'
 * `mask` module (maskApi.c) computes them, so masks here equal torchvision's reference
 * `convert_coco_poly_to_mask` pixel for pixel.
 *
 * A COCO RLE runs down the columns (column-major, Fortran order): `counts` alternate
 * between runs of 0s and runs of 1s, starting with 0s, over the pixels `x * h + y`.
 *
 * @example
 * const mask = segmentationToMask([[1, 1, 8, 1, 8, 6, 1, 6]], 8, 10); // Uint8Array, row-major [8, 10]
 * @module
 */
import { FormatError } from '../errors.js';

/** A COCO run-length encoding: `size` is `[height, width]`; `counts` uncompressed (numbers) or compressed (string). */
export interface CocoRle {
  size: [number, number];
  counts: number[] | string;
}

/** A COCO `segmentation`: polygons (each `[x0, y0, x1, y1, ...]`, one object in several parts) or an RLE. */
export type CocoSegmentation = number[][] | CocoRle;

/**
 * The RLE counts of polygon `xy` (`[x0, y0, x1, y1, ...]`, in pixels) in an `h` x `w`
 * image, as pycocotools' `rleFrPoly`: the outline is scaled by 5, walked point by point,
 * and each crossing of a pixel column's centre line at the scaled grid becomes a run
 * boundary. Pixels whose centre lies inside the polygon are 1 (up to pycocotools' rounding).
 *
 * @example
 * polygonToRle([1, 1, 4, 1, 4, 3, 1, 3], 4, 5); // [5, 2, 2, 2, 2, 2, 5]: columns 1..3, rows 1..2
 */
export function polygonToRle(xy: ArrayLike<number>, h: number, w: number): number[] {
  const scale = 5;
  const k = Math.floor(xy.length / 2);
  // C's (int) cast truncates toward zero; Math.trunc keeps that for negative coordinates.
  const x = new Int32Array(k + 1);
  const y = new Int32Array(k + 1);
  for (let j = 0; j < k; ++j) {
    x[j] = Math.trunc(scale * xy[2 * j]! + 0.5);
    y[j] = Math.trunc(scale * xy[2 * j + 1]! + 0.5);
  }
  x[k] = x[0]!;
  y[k] = y[0]!;
  // Dense points along every edge of the upsampled outline.
  const u: number[] = [];
  const v: number[] = [];
  for (let j = 0; j < k; ++j) {
    let xs = x[j]!;
    let xe = x[j + 1]!;
    let ys = y[j]!;
    let ye = y[j + 1]!;
    const dx = Math.abs(xe - xs);
    const dy = Math.abs(ys - ye);
    const flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
    if (flip) {
      [xs, xe] = [xe, xs];
      [ys, ye] = [ye, ys];
    }
    const s = dx >= dy ? (ye - ys) / dx : (xe - xs) / dy;
    if (dx >= dy) {
      for (let d = 0; d <= dx; ++d) {
        const t = flip ? dx - d : d;
        u.push(t + xs);
        v.push(Math.trunc(ys + s * t + 0.5));
      }
    } else {
      for (let d = 0; d <= dy; ++d) {
        const t = flip ? dy - d : d;
        v.push(t + ys);
        u.push(Math.trunc(xs + s * t + 0.5));
      }
    }
  }
  // Where the outline crosses a column centre, downsampled to pixel (column, first row inside).
  const starts: number[] = [];
  for (let j = 1; j < u.length; ++j) {
    if (u[j] === u[j - 1]) continue;
    let xd = u[j]! < u[j - 1]! ? u[j]! : u[j]! - 1;
    xd = (xd + 0.5) / scale - 0.5;
    if (Math.floor(xd) !== xd || xd < 0 || xd > w - 1) continue;
    let yd = v[j]! < v[j - 1]! ? v[j]! : v[j - 1]!;
    yd = (yd + 0.5) / scale - 0.5;
    yd = Math.ceil(yd < 0 ? 0 : yd > h ? h : yd);
    starts.push(xd * h + yd);
  }
  // Sorted boundaries to run lengths; zero-length runs merge their neighbours.
  starts.push(h * w);
  starts.sort((a, b) => a - b);
  let previous = 0;
  for (let j = 0; j < starts.length; ++j) {
    const t = starts[j]!;
    starts[j] = t - previous;
    previous = t;
  }
  const counts: number[] = [starts[0]!];
  for (let j = 1; j < starts.length; ) {
    if (starts[j]! > 0) counts.push(starts[j++]!);
    else if (++j < starts.length) counts[counts.length - 1]! += starts[j++]!;
  }
  return counts;
}

/**
 * The counts of a compressed COCO RLE string, as pycocotools' `rleFrString`: each count is
 * a signed varint of 5-bit groups (ASCII 48 + group, bit 0x20 = more follows), and from the
 * third count on it is stored as the difference to the count two before.
 * Returns `null` when the string is not of that form (a character outside 48..111, or a
 * negative count).
 *
 * @example
 * rleFromString('52'); // [5, 2]
 */
export function rleFromString(text: string): number[] | null {
  const counts: number[] = [];
  let p = 0;
  while (p < text.length) {
    let value = 0;
    let k = 0;
    let more = true;
    while (more) {
      if (p >= text.length) return null;
      const c = text.charCodeAt(p) - 48;
      if (c < 0 || c > 63) return null;
      value += (c & 0x1f) * 2 ** (5 * k);
      more = (c & 0x20) !== 0;
      ++p;
      ++k;
      // The last group's 0x10 bit is the sign: C ORs in -1 << 5k.
      if (!more && (c & 0x10) !== 0) value -= 2 ** (5 * k);
    }
    if (counts.length > 2) value += counts[counts.length - 2]!;
    if (value < 0) return null;
    counts.push(value);
  }
  return counts;
}

/**
 * Sets to 1 the pixels of a row-major `h` x `w` mask that RLE `counts` marks (a union:
 * pixels already 1 stay 1). Returns false when the counts do not sum to `h * w`.
 *
 * @example
 * const mask = new Uint8Array(2 * 3);
 * paintRle([1, 2, 3], 2, 3, mask); // true; mask is [0, 1, 0, 1, 0, 0]
 */
export function paintRle(counts: readonly number[], h: number, w: number, mask: Uint8Array): boolean {
  let position = 0;
  for (let i = 0; i < counts.length; ++i) {
    const run = counts[i]!;
    if (!Number.isInteger(run) || run < 0 || position + run > h * w) return false;
    if (i % 2 === 1) {
      for (let p = position; p < position + run; ++p) mask[(p % h) * w + Math.floor(p / h)] = 1;
    }
    position += run;
  }
  return position === h * w;
}

/**
 * Explains why `segmentation` is not a COCO segmentation of an `h` x `w` image, or returns
 * null when it is one: polygons need an even number (>= 4) of finite coordinates; an RLE
 * needs `size` `[h, w]` and counts (numbers or a string) covering `h * w` pixels.
 *
 * @example
 * segmentationProblem([[0, 0, 1, 1, 2]], 4, 4); // 'expected polygon 0 to be [x0, y0, ...'
 */
export function segmentationProblem(segmentation: unknown, h: number, w: number): string | null {
  if (Array.isArray(segmentation)) {
    if (segmentation.length === 0) return 'expected at least one polygon, got []';
    for (const [i, polygon] of segmentation.entries()) {
      // Two-point parts occur in COCO's own files; they have no area and paint nothing, as in pycocotools.
      if (!Array.isArray(polygon) || polygon.length < 4 || polygon.length % 2 !== 0 || !polygon.every((c) => typeof c === 'number' && Number.isFinite(c))) {
        return `expected polygon ${i} to be [x0, y0, x1, y1, ...] (an even number >= 4 of finite numbers), got ${JSON.stringify(polygon)?.slice(0, 60)}`;
      }
    }
    return null;
  }
  if (typeof segmentation !== 'object' || segmentation === null) return `expected polygons or an RLE { size, counts }, got ${JSON.stringify(segmentation)}`;
  const { size, counts } = segmentation as Partial<CocoRle>;
  if (!Array.isArray(size) || size[0] !== h || size[1] !== w) return `expected RLE size [${h}, ${w}] (the image's), got ${JSON.stringify(size)}`;
  const decoded = typeof counts === 'string' ? rleFromString(counts) : counts;
  if (!Array.isArray(decoded) || !decoded.every((c) => Number.isInteger(c) && c >= 0)) return 'expected RLE counts to be non-negative integers or a compressed RLE string';
  const total = decoded.reduce((a, b) => a + b, 0);
  if (total !== h * w) return `expected RLE counts to cover ${h * w} pixels, got ${total}`;
  return null;
}

/**
 * The binary mask (row-major `h` x `w`, 0/1) of a COCO segmentation, as torchvision's
 * reference `convert_coco_poly_to_mask`: the union of a polygon's parts (pycocotools'
 * `frPyObjects` + `decode`, then `any` over parts), or an RLE decoded. A two-point part
 * paints nothing (pycocotools reads a list whose first part has 4 numbers as boxes
 * `[x, y, w, h]` instead, a quirk not copied here). Check the input
 * with {@link segmentationProblem} first; this throws (FormatError) only on counts that do not cover the image.
 *
 * @example
 * segmentationToMask({ size: [2, 2], counts: [1, 2, 1] }, 2, 2); // Uint8Array [0, 1, 1, 0]
 */
export function segmentationToMask(segmentation: CocoSegmentation, h: number, w: number): Uint8Array {
  const mask = new Uint8Array(h * w);
  const parts = Array.isArray(segmentation)
    ? segmentation.map((polygon) => polygonToRle(polygon, h, w))
    : [typeof segmentation.counts === 'string' ? (rleFromString(segmentation.counts) ?? []) : segmentation.counts];
  for (const counts of parts) {
    if (!paintRle(counts, h, w, mask)) throw new FormatError(`segmentationToMask: expected RLE counts covering ${h} x ${w} pixels, got counts that do not`);
  }
  return mask;
}
