// Transform factories referenced by { module, exportName, args } in the dataset tests.
import { data, rand, tensor, type Tensor } from '../../lib/index.js';

/** Multiplies the image by `factor`. */
export function scale(args: { factor: number }): (image: Tensor) => Tensor {
  return (image) => image.mul(args.factor);
}

/** Adds uniform noise in [0, amount): a random augmentation, seeded per batch in workers. */
export function noise(args: { amount: number }): (image: Tensor) => Tensor {
  return (image) => image.add(rand(image.shape).mul(args.amount));
}

/** Detection transforms: scales the image by `factor` and shifts the boxes right by `shift` pixels. */
export function shiftBoxes(args: { factor: number; shift: number }): <T extends { boxes: Tensor }>(image: Tensor, target: T) => [Tensor, T] {
  return (image, target) => [image.mul(args.factor), { ...target, boxes: target.boxes.add(tensor([args.shift, 0, args.shift, 0], { dtype: 'float32' })) }];
}

/** Detection transforms: SSD's augmentations (pairedTransforms) on a detection target, through pairedDetectionTransform. */
export function ssdAugment(args: { fill: number[] }): data.DetectionTransformFn<data.DetectionTarget> {
  const P = data.pairedTransforms;
  return data.pairedDetectionTransform(P.compose([P.randomPhotometricDistort(), P.randomZoomOut({ fill: args.fill }), P.randomIoUCrop(), P.randomHorizontalFlip(), P.sanitizeBoxes()]));
}
