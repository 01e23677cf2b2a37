/**
 * The losses, one line each, sorted.
 * @module
 */
export {
  binaryCrossEntropyWithLogits,
  crossEntropy,
  nllLoss,
  type BceWithLogitsOptions,
  type ClassLossOptions,
  type CrossEntropyOptions,
} from './classification.js';
export { type Reduction } from './reduction.js';
export { huberLoss, l1Loss, mseLoss, smoothL1Loss } from './regression.js';
