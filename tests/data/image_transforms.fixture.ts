// Transform factories referenced by { module, exportName, args } in the dataset tests.
import { rand, type Tensor } from '../../lib/index.js';

/** Multiplies the image by `factor`. */
export function scale(args: { factor: number }): (image: Tensor) => Tensor {
  return (image) => image.mul(args.factor);
}

/** Adds uniform noise in [0, amount): a random augmentation, seeded per batch in workers. */
export function noise(args: { amount: number }): (image: Tensor) => Tensor {
  return (image) => image.add(rand(image.shape).mul(args.amount));
}
