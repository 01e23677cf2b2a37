/**
 * The losses, one line each, sorted.
 * @module
 */
export { completeBoxIouLoss, distanceBoxIouLoss, generalizedBoxIouLoss, type BoxIouLossOptions } from './box_iou_losses.js';
export {
  binaryCrossEntropyWithLogits,
  crossEntropy,
  nllLoss,
  type BceWithLogitsOptions,
  type ClassLossOptions,
  type CrossEntropyOptions,
} from './classification.js';
export { sigmoidFocalLoss, type SigmoidFocalLossOptions } from './focal.js';
export { type Reduction } from './reduction.js';
export { huberLoss, l1Loss, mseLoss, smoothL1Loss } from './regression.js';
