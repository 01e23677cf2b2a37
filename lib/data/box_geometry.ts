/**
 * Boxes `[K, 4]` (xyxy, pixel-edge coordinates: a box covering pixel 0 of a row spans
 * x 0..1) under the geometric transforms, as torchvision.transforms.v2 moves them:
 * flips, crops and resizes map the coordinates exactly; affine maps move the four
 * corners and take the enclosing box. Results are clipped to the output image; boxes are
 * never dropped here (sanitizeBoxes in paired_transforms.ts does that).
 * @module
 */
import { stack } from '../ops/shape.js';
import { tensor } from '../tensor/creation.js';
import { scope } from '../tensor/memory.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Matrix2x3 } from './geometry.js';

/** `boxes[:, order] * scale + offset`, column by column. */
function linearMap(boxes: Tensor, order: readonly number[], scale: readonly number[], offset: readonly number[]): Tensor {
  return scope(() => {
    const device = boxes.device;
    const picked = boxes.indexSelect(1, tensor([...order], { dtype: 'int32', device }));
    return picked.mul(tensor(Float32Array.from(scale), { device })).add(tensor(Float32Array.from(offset), { device }));
  });
}

/** Clips boxes to the `h x w` image. */
export function clipBoxes(boxes: Tensor, h: number, w: number): Tensor {
  return scope(() => boxes.maximum(0).minimum(tensor(Float32Array.of(w, h, w, h), { device: boxes.device })));
}

/** Mirrors boxes left-right in an image of width `w`. */
export function flipBoxesX(boxes: Tensor, w: number): Tensor {
  return linearMap(boxes, [2, 1, 0, 3], [-1, 1, -1, 1], [w, 0, w, 0]);
}

/** Mirrors boxes top-bottom in an image of height `h`. */
export function flipBoxesY(boxes: Tensor, h: number): Tensor {
  return linearMap(boxes, [0, 3, 2, 1], [1, -1, 1, -1], [0, h, 0, h]);
}

/** Boxes in the `size` = [H, W] window at (`top`, `left`), clipped to it. */
export function cropBoxes(boxes: Tensor, top: number, left: number, size: readonly [number, number]): Tensor {
  return scope(() => clipBoxes(linearMap(boxes, [0, 1, 2, 3], [1, 1, 1, 1], [-left, -top, -left, -top]), size[0], size[1]));
}

/** Boxes of an image resized by factors `sx` (width) and `sy` (height). */
export function scaleBoxes(boxes: Tensor, sx: number, sy: number): Tensor {
  return linearMap(boxes, [0, 1, 2, 3], [sx, sy, sx, sy], [0, 0, 0, 0]);
}

/** The boxes enclosing the four mapped corners of each box, clipped to the `h x w` image. */
export function affineBoxes(boxes: Tensor, m: Matrix2x3, h: number, w: number): Tensor {
  return scope(() => {
    const device = boxes.device;
    const xs = boxes.indexSelect(1, tensor([0, 2, 0, 2], { dtype: 'int32', device }));
    const ys = boxes.indexSelect(1, tensor([1, 1, 3, 3], { dtype: 'int32', device }));
    const x = xs.mul(m[0]).add(ys.mul(m[1])).add(m[2]);
    const y = xs.mul(m[3]).add(ys.mul(m[4])).add(m[5]);
    return clipBoxes(stack([x.amin(1), y.amin(1), x.amax(1), y.amax(1)], 1), h, w);
  });
}
