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
export { diceCeLoss, diceLoss, type DiceCeLossOptions, type DiceLossOptions } from './dice.js';
export { focalLoss, sigmoidFocalLoss, type FocalLossOptions, type SigmoidFocalLossOptions } from './focal.js';
export { lovaszHingeLoss, lovaszSoftmaxLoss, type LovaszHingeLossOptions, type LovaszSoftmaxLossOptions } from './lovasz.js';
export { type Reduction } from './reduction.js';
export { huberLoss, l1Loss, mseLoss, smoothL1Loss } from './regression.js';
export { type SegmentationLossInputOptions } from './segmentation_input.js';
export { focalTverskyLoss, tverskyLoss, type FocalTverskyLossOptions, type TverskyLossOptions } from './tversky.js';
