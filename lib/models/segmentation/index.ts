/**
 * Segmentation models: the U-Net family (U-Net and 3-D U-Net, Attention U-Net, U-Net++)
 * and the blocks they share, torchvision's FCN and DeepLabV3 on a dilated ResNet-50 and
 * LR-ASPP on a dilated MobileNetV3-Large; and the course's FCN-32s/16s/8s on VGG-16.
 * @module
 */
export { AttentionGate, AttentionUNet, attentionUnet } from './attention_unet.js';
export { UNet, unet, unet3d, type UNetOptions } from './unet.js';
export {
  DoubleConv,
  type SegmentationNormFactory,
  type SpatialDims,
  type UNetFamilyOptions,
  type UNetUpsampling,
} from './unet_blocks.js';
export { UNetPlusPlus, unetPlusPlus, type UNetPlusPlusOptions } from './unet_plus_plus.js';
export { ASPP, ASPPPooling, DeepLabHead, deeplabv3Resnet50 } from './deeplabv3.js';
export { FCNHead, fcnResnet50 } from './fcn.js';
export { bilinearKernel, convolutionalizeVgg16, fcn16sVgg16, fcn32sVgg16, fcn8sVgg16, FCNVGG16, type FCNVariant, type FCNVGG16Options } from './fcn_vgg.js';
export { LRASPP, LRASPPHead, lrasppMobilenetV3Large, type LRASPPBackbone, type LRASPPOptions } from './lraspp.js';
export {
  SimpleSegmentationModel,
  type SegmentationBackbone,
  type SegmentationOutput,
  type SegmentationResNetOptions,
} from './simple_segmentation_model.js';
