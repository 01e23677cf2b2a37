/**
 * ImageList, as torchvision.models.detection.image_list.ImageList: a padded batch of images
 * with each image's size before padding.
 * @module
 */
import { ArgumentError, ShapeError } from '../errors.js';
import { checkTensor } from '../ops/validate.js';
import type { DeviceLike } from '../tensor/device.js';
import { describe } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';

/** An image's `[height, width]` in pixels. */
export type ImageSize = readonly [height: number, width: number];

/**
 * A batch of images of different sizes padded into one tensor `[N, C, H, W]`, with the
 * size `[h, w]` of each image before padding (`h <= H`, `w <= W`), as torchvision's
 * `ImageList(tensors, image_sizes)`. Detection models make one from their input images;
 * {@link AnchorGenerator} reads the padded size from `tensors` and the number of images
 * from `imageSizes`. The constructor checks the shapes (ShapeError) and the sizes
 * (ArgumentError when not integer pairs).
 *
 * @example
 * const images = new vision.ImageList(zeros([2, 3, 800, 1216]), [[800, 1201], [786, 1216]]);
 */
export class ImageList {
  /** The padded batch `[N, C, H, W]`. */
  readonly tensors: Tensor;
  /** Each image's `[height, width]` before padding, one per image of the batch. */
  readonly imageSizes: readonly ImageSize[];

  constructor(tensors: Tensor, imageSizes: readonly ImageSize[]) {
    const op = 'ImageList';
    checkTensor(op, 'tensors', tensors);
    if (tensors.ndim !== 4) throw new ShapeError(`${op}: expected tensors of shape [N, C, H, W], got [${tensors.shape.join(', ')}]`);
    if (!Array.isArray(imageSizes)) throw new ArgumentError(`${op}: expected imageSizes to be an array of [height, width] pairs, got ${describe(imageSizes)}`);
    const [n, , height, width] = tensors.shape as [number, number, number, number];
    if (imageSizes.length !== n) throw new ShapeError(`${op}: expected ${n} imageSizes (one per image of tensors [${tensors.shape.join(', ')}]), got ${imageSizes.length}`);
    imageSizes.forEach((size, i) => {
      const pair = Array.isArray(size) && size.length === 2 && size.every((v) => Number.isInteger(v) && v >= 0);
      if (!pair) throw new ArgumentError(`${op}: expected imageSizes[${i}] to be a [height, width] pair of non-negative integers, got ${describe(size)}`);
      if (size[0] > height || size[1] > width) {
        throw new ShapeError(`${op}: expected imageSizes[${i}] within the padded size [${height}, ${width}], got [${size.join(', ')}]`);
      }
    });
    this.tensors = tensors;
    this.imageSizes = imageSizes.map(([h, w]) => [h, w] as const);
  }

  /**
   * The same batch with `tensors` moved to `device` (a new handle when already there), as
   * torchvision's `ImageList.to`.
   */
  to(device: DeviceLike): ImageList {
    return new ImageList(this.tensors.to(device), this.imageSizes);
  }
}
