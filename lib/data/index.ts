/**
 * Datasets, loaders and file readers.
 * @module
 */
export {
  DataLoader,
  seededRandom,
  stackCollate,
  TensorDataset,
  type CollatableItem,
  type Collated,
  type Dataset,
  type DataLoaderOptions,
  type IterableDataset,
  type TensorItem,
} from './dataloader.js';
export { ConcatDataset } from './concat.js';
export { cutmix, mixup, type MixedBatch, type MixOptions } from './mix.js';
export { WeightedRandomSampler, type Sampler, type WeightedRandomSamplerOptions } from './sampler.js';
export { DistributedSampler, type DistributedSamplerOptions } from './distributed_sampler.js';
export { randomSplit, Subset, type RandomSplitOptions } from './subset.js';
export { readCifar, type CifarArrays, type CifarReadOptions, type CifarVariant } from './cifar.js';
export { CIFAR10, CIFAR100, CifarDataset, type CifarOptions } from './cifar_dataset.js';
export { ImageArrayDataset, type ImageArrayBatch, type ImageArrays } from './image_array.js';
export { decodeImage, type DecodedImage, type DecodeImageOptions } from './decode_image.js';
export { parseIdx, readIdx, type IdxArray } from './idx.js';
export { FashionMNIST, MNIST, MnistDataset, type MnistArrays, type MnistOptions } from './mnist.js';
export { IMAGE_EXTENSIONS, ImageFolder, scanImageFolder, type ImageFolderIndex, type ImageFolderOptions } from './image_folder.js';
export { decodeMask, pngPalette, vocPalette, type DecodedMask, type RgbColor } from './decode_mask.js';
export { randCropByPosNegLabel, type RandCropByPosNegLabelOptions } from './pos_neg_crop.js';
export {
  encodeTiffVolume,
  readTiffVolume,
  writeTiffVolume,
  type ReadTiffVolumeOptions,
  type WriteTiffVolumeOptions,
} from './tiff_volume.js';
export { scanVolumeFolder, VolumeFolder, type VolumeFolderOptions } from './volume_folder.js';
export {
  scanSegmentationFolder,
  SegmentationFolder,
  type SegmentationFolderOptions,
} from './segmentation_folder.js';
export {
  CocoDetection,
  readCocoAnnotations,
  type CocoDetectionOptions,
  type CocoDropReason,
  type CocoImage,
  type CocoIndex,
  type CocoObject,
  type CocoReadOptions,
  type CocoTarget,
  type DroppedAnnotation,
} from './coco.js';
export { paintRle, polygonToRle, rleFromString, segmentationProblem, segmentationToMask, type CocoRle, type CocoSegmentation } from './coco_masks.js';
export type { Detection, DetectionTarget } from '../tensor/detection_records.js';
export { detectionCollate, type DetectionBatch, type DetectionCollate } from './detection_collate.js';
export {
  DetectionTransformRunner,
  pairedDetectionTransform,
  type DetectionTransform,
  type DetectionTransformFn,
} from './detection_transform.js';
export {
  readVocAnnotation,
  readVocIndex,
  VOC_CLASSES,
  VOCDetection,
  type DroppedVocObject,
  type VOCDetectionOptions,
  type VocImage,
  type VocIndex,
  type VocReadOptions,
  type VocTarget,
} from './voc.js';
export { TransformRunner, type ImageTransform } from './image_transform.js';
export type { ModuleRef } from './module_ref.js';
export { isWorkerCollate, isWorkerDataset, type WorkerCollate, type WorkerDataset, type WorkerDatasetFactory, type WorkerDatasetParts } from './worker_dataset.js';
export * as transforms from './transforms.js';
export * as pairedTransforms from './paired_transforms.js';
