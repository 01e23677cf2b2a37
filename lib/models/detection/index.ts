/**
 * Detection building blocks, as torchvision.models.detection: backbones that return named
 * stages under a feature pyramid (backbone_utils), the feature pyramid network and its extra
 * levels, the detectors' input/output transform (GeneralizedRCNNTransform), the region
 * proposal network of Faster R-CNN (RPNHead, RegionProposalNetwork) and the box branch of
 * its second stage (TwoMLPHead, FastRCNNPredictor, RoIHeads, fastrcnnLoss), Mask R-CNN's mask
 * branch (MaskRCNNHeads, MaskRCNNPredictor, maskrcnnLoss, maskrcnnInference,
 * pasteMasksInImage), and the detectors assembled from them (GeneralizedRCNN, FasterRCNN,
 * fasterrcnnResnet50Fpn, MaskRCNN, maskrcnnResnet50Fpn); the one-stage RetinaNet and FCOS
 * with their heads (retinanetResnet50Fpn, fcosResnet50Fpn), SSD with its heads and VGG-16
 * feature extractor (ssd300Vgg16), SSDlite with its depthwise-separable heads and MobileNetV3
 * feature extractor (ssdlite320MobilenetV3Large), and the small FCOSLite.
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
export type { Detection, DetectionTarget } from '../../tensor/detection_records.js';
export { FCOSLite, fcosLite, type FCOSLiteAssignment, type FCOSLiteLevel, type FCOSLiteLosses, type FCOSLiteOptions } from './fcos_lite.js';
export { FasterRCNN, fasterrcnnResnet50Fpn, type FasterRCNNOptions, type FasterRCNNResNet50FpnOptions } from './faster_rcnn.js';
export { FastRCNNPredictor, TwoMLPHead } from './faster_rcnn_heads.js';
export { FCOS, fcosResnet50Fpn, type FCOSOptions, type FCOSResNet50FpnOptions } from './fcos.js';
export {
  FCOSClassificationHead,
  FCOSHead,
  FCOSRegressionHead,
  type FCOSClassificationHeadOptions,
  type FCOSHeadOutputs,
  type FCOSLosses,
  type FCOSNormLayer,
  type FCOSRegressionHeadOptions,
} from './fcos_heads.js';
export { ExtraFPNBlock, FeaturePyramidNetwork, LastLevelMaxPool, LastLevelP6P7, type FeaturePyramidNetworkOptions } from './feature_pyramid_network.js';
export { GeneralizedRCNN, type DetectionBackbone, type GeneralizedRCNNLosses } from './generalized_rcnn.js';
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
export { OneStageDetector, type OneStageParts } from './one_stage_detector.js';
export { pasteMasksInImage } from './paste_masks.js';
export { GeneralizedRCNNTransform, type GeneralizedRCNNTransformOptions } from './transform.js';
export { fastrcnnLoss, RoIHeads, type MaskBranch, type RoIHeadsOptions, type TrainingSamples } from './roi_heads.js';
export {
  RetinaNet,
  retinanetDefaultAnchorGenerator,
  retinanetResnet50Fpn,
  type RetinaNetLevelOutputs,
  type RetinaNetOptions,
  type RetinaNetResNet50FpnOptions,
} from './retinanet.js';
export {
  RetinaNetClassificationHead,
  RetinaNetHead,
  RetinaNetRegressionHead,
  type RetinaNetClassificationHeadOptions,
  type RetinaNetHeadModule,
  type RetinaNetHeadOptions,
  type RetinaNetHeadOutputs,
  type RetinaNetLosses,
} from './retinanet_heads.js';
export {
  concatBoxPredictionLayers,
  RegionProposalNetwork,
  RPNHead,
  type FilteredProposals,
  type RegionProposalNetworkOptions,
  type RPNHeadModule,
  type RPNTopN,
} from './rpn.js';
export { SSD, ssd300Vgg16, type SSD300VGG16Options, type SSDBackbone, type SSDHeadModule, type SSDLosses, type SSDOptions } from './ssd.js';
export { SSDClassificationHead, SSDHead, SSDRegressionHead, SSDScoringHead, type SSDHeadOutputs, type SSDLevelPredictor } from './ssd_heads.js';
export { SSDFeatureExtractorVGG, vgg16Features, vggExtractor, type SSDFeatureExtractorVGGOptions } from './ssd_vgg.js';
export { ssdlite320MobilenetV3Large, type SSDLite320MobileNetV3LargeOptions } from './ssdlite.js';
export { SSDLiteClassificationHead, SSDLiteHead, SSDLitePredictionBlock, SSDLiteRegressionHead, ssdliteBatchNorm, ssdliteNormalInit } from './ssdlite_heads.js';
export { mobilenetExtractor, SSDLiteFeatureExtractorMobileNet, type SSDLiteFeatureExtractorMobileNetOptions } from './ssdlite_mobilenet.js';
