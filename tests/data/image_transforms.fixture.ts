// Transform factories referenced by { module, exportName, args } in the dataset tests.
import { arange, data, rand, tensor, type Tensor } from '../../lib/index.js';

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

/** The per-box fields of a COCO-style target that follow the kept boxes. */
interface InstanceTarget {
  boxes: Tensor;
  labels: Tensor;
  area?: Tensor;
  iscrowd?: Tensor;
  masks?: Tensor;
}

/**
 * Detection transforms: SSD's augmentations (pairedTransforms) on a COCO-style target. The
 * sample's labels are box indices, so that the fields the paired transforms do not carry
 * (area, iscrowd) follow the boxes they keep.
 */
export function ssdAugment(args: { fill: number[] }): <T extends InstanceTarget>(image: Tensor, target: T) => [Tensor, T] {
  const P = data.pairedTransforms;
  const augment = P.compose([P.randomPhotometricDistort(), P.randomZoomOut({ fill: args.fill }), P.randomIoUCrop(), P.randomHorizontalFlip(), P.sanitizeBoxes()]);
  return (image, target) => {
    const index = arange(0, target.boxes.shape[0]!, 1, { dtype: 'int32' });
    const out = augment({ image, boxes: target.boxes, labels: index, ...(target.masks ? { mask: target.masks } : {}) });
    const kept = out.labels;
    const pick = (t: Tensor | undefined) => t && t.indexSelect(0, kept);
    return [
      out.image,
      {
        ...target,
        boxes: out.boxes,
        labels: pick(target.labels),
        ...(target.area ? { area: pick(target.area) } : {}),
        ...(target.iscrowd ? { iscrowd: pick(target.iscrowd) } : {}),
        ...(out.mask ? { masks: out.mask } : {}),
      },
    ];
  };
}
