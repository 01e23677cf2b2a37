/**
 * Pasting Mask R-CNN's fixed-size masks into whole images, as torchvision 0.14's
 * `paste_masks_in_image` (models/detection/roi_heads.py), computed for all boxes at once on
 * the device.
 * @module
 */
import { ArgumentError, ShapeError } from '../../errors.js';
import { where } from '../../ops/compare.js';
import { matmul } from '../../ops/matmul.js';
import { pad } from '../../ops/shape.js';
import { clamp } from '../../ops/statistics.js';
import { floor } from '../../ops/unary.js';
import { checkDTypeIn, checkInt, checkSameDevice, checkTensor } from '../../ops/validate.js';
import { arange, onesLike, zeros } from '../../tensor/creation.js';
import { scope } from '../../tensor/memory.js';
import { describe } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';

const OP = 'pasteMasksInImage';

/**
 * Pastes each of `masks` `[N, 1, M, M]` (float32, e.g. Mask R-CNN's 28x28 probabilities)
 * into an image of `imageShape` `[height, width]` at its box of `boxes` `[N, 4]` (xyxy, in
 * the image's pixels), as torchvision's `paste_masks_in_image(masks, boxes, img_shape,
 * padding)`: each mask is zero-padded by `padding` on every side and its box grown by the
 * same factor `(M + 2 padding) / M` about its centre, so that the mask's border falls
 * outside the box; the grown box's corners are truncated to integers `[x0, y0, x1, y1]`,
 * the padded mask resized (bilinear, alignCorners false) to `(y1 - y0 + 1) x (x1 - x0 + 1)`
 * pixels and written at `(x0, y0)`, the parts outside the image cut off. Returns
 * `[N, 1, height, width]` float32, zero outside each box.
 *
 * torchvision loops over the boxes (one interpolate and one copy each). Here a bilinear
 * resize being separable, each pasted mask is `Wy @ mask @ Wx^T`, with `Wy` `[height, M+2p]`
 * and `Wx` `[width, M+2p]` holding each image row's and column's two bilinear weights
 * (and zero rows outside the box): two batched matmuls for all boxes, no host read, the
 * same values to float32 rounding, and differentiable with respect to `masks`. (A box lying
 * wholly outside the image pastes nothing here; torchvision's slicing fails on one.)
 *
 * @param masks - `[N, 1, M, M]` float32
 * @param boxes - `[N, 4]` float32 xyxy, on the masks' device
 * @param imageShape - `[height, width]`, positive integers
 * @param padding - zeros added on each side of the masks before resizing (default 1, torchvision's)
 * @example
 * // Mask R-CNN's 28x28 mask probabilities of 3 detections into a 480x640 image:
 * const pasted = pasteMasksInImage(probabilities, boxes, [480, 640]); // [3, 1, 480, 640]
 * const binary = pasted.ge(0.5);
 */
export function pasteMasksInImage(masks: Tensor, boxes: Tensor, imageShape: readonly [number, number], padding = 1): Tensor<'float32'> {
  checkTensor(OP, 'masks', masks);
  checkDTypeIn(OP, 'masks', masks, ['float32']);
  if (masks.ndim !== 4 || masks.shape[1] !== 1 || masks.shape[2] !== masks.shape[3] || masks.shape[2] === 0) {
    throw new ShapeError(`${OP}: expected masks of shape [N, 1, M, M] (square, M >= 1), got [${masks.shape.join(', ')}]`);
  }
  checkTensor(OP, 'boxes', boxes);
  checkDTypeIn(OP, 'boxes', boxes, ['float32']);
  const n = masks.shape[0]!;
  if (boxes.ndim !== 2 || boxes.shape[0] !== n || boxes.shape[1] !== 4) {
    throw new ShapeError(`${OP}: expected boxes of shape [${n}, 4] (one xyxy box per mask), got [${boxes.shape.join(', ')}]`);
  }
  checkSameDevice(OP, { masks, boxes });
  if (!Array.isArray(imageShape) || imageShape.length !== 2 || imageShape.some((v) => !Number.isInteger(v) || v < 1)) {
    throw new ArgumentError(`${OP}: expected imageShape to be [height, width], positive integers, got ${describe(imageShape)}`);
  }
  checkInt(OP, 'padding', padding, 0);
  const [height, width] = imageShape;
  if (n === 0) return zeros([0, 1, height, width], { device: masks.device });

  return scope(() => {
    const m = masks.shape[3]!;
    const size = m + 2 * padding;
    const padded = pad(masks.reshape(n, m, m), [padding, padding, padding, padding]);
    const corners = expandedCorners(boxes, size / m);
    const rows = bilinearWeights(corners.y0, corners.y1, height, size);
    const columns = bilinearWeights(corners.x0, corners.x1, width, size);
    return matmul(matmul(rows, padded), columns.transpose(1, 2)).unsqueeze(1);
  });
}

/**
 * The boxes grown by `scale` about their centres and truncated to integers (as float32
 * `[N, 1]` columns), as torchvision's `expand_boxes(boxes, scale).to(torch.int64)`, in its
 * float32 arithmetic.
 */
function expandedCorners(boxes: Tensor, scale: number): { x0: Tensor; y0: Tensor; x1: Tensor; y1: Tensor } {
  const [bx0, by0, bx1, by1] = [0, 1, 2, 3].map((c) => boxes.slice(1, c, c + 1)) as [Tensor, Tensor, Tensor, Tensor];
  const halfWidth = bx1.sub(bx0).mul(0.5).mul(scale);
  const halfHeight = by1.sub(by0).mul(0.5).mul(scale);
  const centreX = bx1.add(bx0).mul(0.5);
  const centreY = by1.add(by0).mul(0.5);
  // A float -> int32 cast truncates toward zero, as torch's .to(torch.int64).
  const truncated = (t: Tensor) => t.to('int32').to('float32');
  return {
    x0: truncated(centreX.sub(halfWidth)),
    y0: truncated(centreY.sub(halfHeight)),
    x1: truncated(centreX.add(halfWidth)),
    y1: truncated(centreY.add(halfHeight)),
  };
}

/**
 * `[N, pixels, size]`: for each box and each image row (or column) `p`, the weights of the
 * padded mask's `size` rows (columns) that bilinear resizing to the box's `end - start + 1`
 * pixels (at least 1) gives pixel `p - start`, as ATen's upsample_bilinear2d with
 * alignCorners false: source `(p - start + 0.5) * size / pixels - 0.5`, clamped at 0, its
 * floor and the next row (the last row twice at the far edge). Rows outside
 * `[start, end]` are zero: there the image keeps its zeros.
 */
function bilinearWeights(start: Tensor, end: Tensor, pixels: number, size: number): Tensor {
  const n = start.shape[0]!;
  const device = start.device;
  const position = arange(pixels, { dtype: 'float32', device }).reshape(1, pixels);
  const offset = position.sub(start);
  const inside = where(offset.ge(0), position.le(end), 0);
  const outputSize = clamp(end.sub(start).add(1), 1);
  // One float32 division, as ATen's (float)input_size / output_size.
  const ratio = onesLike(outputSize).mul(size).div(outputSize);
  const source = clamp(offset.add(0.5).mul(ratio).sub(0.5), 0);
  const first = floor(source);
  const second = clamp(first.add(1), undefined, size - 1);
  const lambda = source.sub(first);
  const index = arange(size, { dtype: 'float32', device }).reshape(1, 1, size);
  const weights = where(index.eq(first.unsqueeze(2)), lambda.neg().add(1).unsqueeze(2), 0).add(where(index.eq(second.unsqueeze(2)), lambda.unsqueeze(2), 0));
  return where(inside.unsqueeze(2), weights, 0).reshape(n, pixels, size);
}
