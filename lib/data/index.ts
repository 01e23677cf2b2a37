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
export { parseIdx, readIdx, type IdxArray } from './idx.js';
export type { ModuleRef } from './module_ref.js';
export { isWorkerDataset, type WorkerDataset, type WorkerDatasetFactory, type WorkerDatasetParts } from './worker_dataset.js';
export * as transforms from './transforms.js';
