/**
 * The affine geometry of the random transforms, on plain numbers: torchvision's affine
 * matrix, the random parameter draws, and the theta that affineGrid takes. Shared by the
 * image transforms (transforms.ts) and the paired ones (paired_transforms.ts), so an image,
 * its mask and its boxes always move by the same matrix.
 * @module
 */
import { ArgumentError } from '../errors.js';
import { rand } from '../tensor/creation.js';
import { describe } from '../tensor/shape.js';

/**
 * One affine map, in torchvision's convention (`transforms.functional.affine`): rotation
 * by `angle` degrees clockwise on screen (y points down), then scaling by `scale`, shear
 * by `shear` = [x, y] degrees, all about the image center, then translation by
 * `translate` = [dx, dy] pixels.
 */
export interface AffineParams {
  angle: number;
  translate: readonly [number, number];
  scale: number;
  shear: readonly [number, number];
}

/** A row-major 2x3 matrix [a, b, c, d, e, f]: (x, y) -> (a x + b y + c, d x + e y + f). */
export type Matrix2x3 = readonly [number, number, number, number, number, number];

/** The identity map. */
export const IDENTITY_AFFINE: AffineParams = { angle: 0, translate: [0, 0], scale: 1, shear: [0, 0] };

/**
 * The matrix of `params` about `center`, as torchvision's `_get_inverse_affine_matrix`:
 * with `inverted`, the map from output to input coordinates (what sampling needs), else
 * from input to output (what boxes need).
 */
export function affineMatrix(params: AffineParams, center: readonly [number, number], inverted: boolean): Matrix2x3 {
  const rot = (params.angle * Math.PI) / 180;
  const sx = (params.shear[0] * Math.PI) / 180;
  const sy = (params.shear[1] * Math.PI) / 180;
  const [cx, cy] = center;
  const [tx, ty] = params.translate;
  const s = params.scale;
  // Rotation-scale-shear without the scale; its determinant is 1.
  const a = Math.cos(rot - sy) / Math.cos(sy);
  const b = (-Math.cos(rot - sy) * Math.tan(sx)) / Math.cos(sy) - Math.sin(rot);
  const c = Math.sin(rot - sy) / Math.cos(sy);
  const d = (-Math.sin(rot - sy) * Math.tan(sx)) / Math.cos(sy) + Math.cos(rot);
  if (inverted) {
    const m = [d / s, -b / s, 0, -c / s, a / s, 0];
    m[2] = m[0]! * (-cx - tx) + m[1]! * (-cy - ty) + cx;
    m[5] = m[3]! * (-cx - tx) + m[4]! * (-cy - ty) + cy;
    return m as unknown as Matrix2x3;
  }
  const m = [a * s, b * s, 0, c * s, d * s, 0];
  m[2] = m[0]! * -cx + m[1]! * -cy + cx + tx;
  m[5] = m[3]! * -cx + m[4]! * -cy + cy + ty;
  return m as unknown as Matrix2x3;
}

/**
 * The affineGrid theta (`alignCorners: false`) that samples an `h x w` image through
 * `params`. torchvision maps pixel centers relative to the image center through the
 * inverse matrix and divides by half the size; theta folds that scaling into the matrix.
 * `center` moves the map's fixed point (pixels from the image center; torchvision's
 * `center=[0, 0]`, the top-left corner, is `[-w / 2, -h / 2]`).
 */
export function gridTheta(params: AffineParams, h: number, w: number, center: readonly [number, number] = [0, 0]): Matrix2x3 {
  const [a, b, c, d, e, f] = affineMatrix(params, center, true);
  return [a, (b * h) / w, (2 * c) / w, (d * w) / h, e, (2 * f) / h];
}

/** The map of boxes (pixel-edge coordinates, origin at the top-left corner) under `params`. */
export function boxMatrix(params: AffineParams, h: number, w: number): Matrix2x3 {
  return affineMatrix(params, [w / 2, h / 2], false);
}

/** Options of randomAffine, as torchvision.transforms.RandomAffine. */
export interface RandomAffineSpec {
  /** Rotation range in degrees: `d` means [-d, d]; clockwise on screen, as RandomAffine. Default 0. */
  degrees?: number | readonly [number, number];
  /** Largest shift as fractions [fx, fy] of the width and height; shifts are whole pixels. */
  translate?: readonly [number, number];
  /** Scale range [min, max]. */
  scale?: readonly [number, number];
  /** Shear in degrees: `s` is an x shear in [-s, s]; [a, b] an x shear in [a, b]; [a, b, c, d] adds a y shear in [c, d]. */
  shear?: number | readonly [number, number] | readonly [number, number, number, number];
}

/** A validated spec: every range as [min, max]. */
interface Ranges {
  degrees: [number, number];
  translate: [number, number];
  scale: [number, number];
  shearX: [number, number];
  shearY: [number, number];
}

function range(op: string, name: string, value: number | readonly number[], symmetric: boolean): [number, number] {
  if (typeof value === 'number') {
    if (!(value >= 0) || !Number.isFinite(value)) throw new ArgumentError(`${op}: expected ${name} to be a number >= 0 or a [min, max] pair, got ${describe(value)}`);
    return symmetric ? [-value, value] : [value, value];
  }
  if (!Array.isArray(value) || value.length !== 2 || !(value[0]! <= value[1]!) || !value.every(Number.isFinite)) {
    throw new ArgumentError(`${op}: expected ${name} to be a [min, max] pair with min <= max, got ${describe(value)}`);
  }
  return [value[0]!, value[1]!];
}

/** Checks a RandomAffineSpec once, when the transform is made. */
export function affineRanges(op: string, spec: RandomAffineSpec): Ranges {
  const translate = spec.translate ?? [0, 0];
  if (!Array.isArray(translate) || translate.length !== 2 || translate.some((t) => !(t >= 0 && t <= 1))) {
    throw new ArgumentError(`${op}: expected translate to be [fx, fy] with fractions in [0, 1], got ${describe(spec.translate)}`);
  }
  const scale = range(op, 'scale', spec.scale ?? [1, 1], false);
  if (!(scale[0] > 0)) throw new ArgumentError(`${op}: expected a positive scale range, got ${describe(spec.scale)}`);
  const shear = spec.shear ?? 0;
  const shearList = typeof shear === 'number' ? null : [...shear];
  if (shearList !== null && shearList.length !== 2 && shearList.length !== 4) {
    throw new ArgumentError(`${op}: expected shear as a number, [min, max] or [xmin, xmax, ymin, ymax], got ${describe(shear)}`);
  }
  return {
    degrees: range(op, 'degrees', spec.degrees ?? 0, true),
    translate: [translate[0], translate[1]],
    scale,
    shearX: shearList === null ? range(op, 'shear', shear as number, true) : range(op, 'shear', shearList.slice(0, 2), false),
    shearY: shearList !== null && shearList.length === 4 ? range(op, 'shear', shearList.slice(2), false) : [0, 0],
  };
}

const lerp = ([lo, hi]: readonly [number, number], u: number) => lo + (hi - lo) * u;

/**
 * Draws `n` parameter sets from the seeded generator (one per image), as
 * RandomAffine.get_params: shifts are rounded to whole pixels of the `h x w` image.
 */
export function drawAffine(ranges: Ranges, n: number, h: number, w: number): AffineParams[] {
  const draws = rand([n, 6]);
  const u = draws.dataSync();
  draws.dispose();
  return Array.from({ length: n }, (_, i) => {
    const [angle, dx, dy, scale, shearX, shearY] = u.subarray(6 * i, 6 * i + 6);
    const maxDx = ranges.translate[0] * w;
    const maxDy = ranges.translate[1] * h;
    return {
      angle: lerp(ranges.degrees, angle!),
      translate: [Math.round(lerp([-maxDx, maxDx], dx!)), Math.round(lerp([-maxDy, maxDy], dy!))],
      scale: lerp(ranges.scale, scale!),
      shear: [lerp(ranges.shearX, shearX!), lerp(ranges.shearY, shearY!)],
    };
  });
}

/** `n` rotations by angles drawn from `degrees` (counter-clockwise, as RandomRotation). */
export function drawRotation(degrees: readonly [number, number], n: number): AffineParams[] {
  const draws = rand([n]);
  const u = draws.dataSync();
  draws.dispose();
  return Array.from(u, (v) => rotation(lerp(degrees, v)));
}

/** A counter-clockwise rotation by `angle` degrees (torchvision's rotate negates it for affine). */
export function rotation(angle: number): AffineParams {
  return { ...IDENTITY_AFFINE, angle: -angle };
}

/** Checks a RandomRotation `degrees` argument. */
export function rotationRange(op: string, degrees: number | readonly [number, number]): [number, number] {
  return range(op, 'degrees', degrees, true);
}

/** [top, left] of a random `size` window in an `h x w` image (one draw). */
export function drawCropOffset(h: number, w: number, size: readonly [number, number]): [number, number] {
  const draws = rand([2]);
  const [u, v] = draws.dataSync();
  draws.dispose();
  return [Math.min(Math.floor(u! * (h - size[0] + 1)), h - size[0]), Math.min(Math.floor(v! * (w - size[1] + 1)), w - size[1])];
}

/** Python's round() (and torch.round): halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** [top, left] of the central `size` window, as torchvision's center_crop. */
export function centerOffset(h: number, w: number, size: readonly [number, number]): [number, number] {
  return [roundHalfEven((h - size[0]) / 2), roundHalfEven((w - size[1]) / 2)];
}
