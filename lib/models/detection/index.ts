/**
 * Detection building blocks, as torchvision.models.detection: backbones that return named
 * stages under a feature pyramid (backbone_utils), the feature pyramid network and its extra
 * levels, the detectors' input/output transform (GeneralizedRCNNTransform), the region
 * proposal network of Faster R-CNN (RPNHead, RegionProposalNetwork) and the box branch of
 * its second stage (TwoMLPHead, FastRCNNPredictor, RoIHeads, fastrcnnLoss), Mask R-CNN's mask
 * branch (MaskRCNNHeads, MaskRCNNPredictor, maskrcnnLoss, maskrcnnInference,
 * pasteMasksInImage), and the detectors assembled from them (GeneralizedRCNN, FasterRCNN,
 * fasterrcnnResnet50Fpn, MaskRCNN, maskrcnnResnet50Fpn).
 * @module
 */
export {
  BackboneWithFPN,
  IntermediateLayerGetter,
  MobileNetFeatureExtractor,
  mobilenetBackbone,
  resnetFpnBackbone,
  type MobileNetBackboneOptions,
  type ResNetBackboneName,
  type ResNetFpnBackboneOptions,
} from './backbone_utils.js';
export { FasterRCNN, fasterrcnnResnet50Fpn, type FasterRCNNOptions, type FasterRCNNResNet50FpnOptions } from './faster_rcnn.js';
export { FastRCNNPredictor, TwoMLPHead } from './faster_rcnn_heads.js';
export { ExtraFPNBlock, FeaturePyramidNetwork, LastLevelMaxPool, LastLevelP6P7, type FeaturePyramidNetworkOptions } from './feature_pyramid_network.js';
export { GeneralizedRCNN, type DetectionBackbone, type GeneralizedRCNNLosses, type GeneralizedRCNNTarget } from './generalized_rcnn.js';
export {
  MaskRCNN,
  MaskRCNNHeads,
  MaskRCNNPredictor,
  maskrcnnResnet50Fpn,
  type MaskRCNNHeadsOptions,
  type MaskRCNNOptions,
  type MaskRCNNResNet50FpnOptions,
} from './mask_rcnn.js';
export { maskrcnnInference, maskrcnnLoss, projectMasksOnBoxes } from './mask_branch.js';
export { pasteMasksInImage } from './paste_masks.js';
export { GeneralizedRCNNTransform, type DetectionTarget, type GeneralizedRCNNTransformOptions } from './transform.js';
export { fastrcnnLoss, RoIHeads, type Detection, type MaskBranch, type RoIHeadsOptions, type RoIHeadsTarget, type TrainingSamples } from './roi_heads.js';
export {
  concatBoxPredictionLayers,
  RegionProposalNetwork,
  RPNHead,
  type FilteredProposals,
  type RegionProposalNetworkOptions,
  type RPNHeadModule,
  type RPNTarget,
  type RPNTopN,
} from './rpn.js';
