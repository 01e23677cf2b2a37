/**
 * Segmentation models: the U-Net family (U-Net and 3-D U-Net, Attention U-Net, U-Net++)
 * and the blocks they share.
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
