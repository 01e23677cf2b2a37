/**
 * Datasets, loaders and file readers.
 * @module
 */
export {
  DataLoader,
  ImageArrayDataset,
  seededRandom,
  stackCollate,
  TensorDataset,
  type CollatableItem,
  type Dataset,
  type DataLoaderOptions,
  type TensorItem,
} from './dataloader.js';
export { readCifar, type CifarArrays, type CifarReadOptions, type CifarVariant } from './cifar.js';
export { CIFAR10, CIFAR100, CifarDataset, cifarWorkerDataset, type CifarOptions } from './cifar_dataset.js';
export { parseIdx, readIdx, type IdxArray } from './idx.js';
export { TransformRunner, type ImageTransform } from './image_transform.js';
export type { ModuleRef } from './module_ref.js';
export { isWorkerDataset, type WorkerDataset, type WorkerDatasetFactory, type WorkerDatasetParts } from './worker_dataset.js';
export * as transforms from './transforms.js';
