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
  type Dataset,
  type DataLoaderOptions,
  type TensorItem,
} from './dataloader.js';
export { parseIdx, readIdx, type IdxArray } from './idx.js';
export * as transforms from './transforms.js';
