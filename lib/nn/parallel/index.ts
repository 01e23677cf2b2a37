/**
 * torch.nn.parallel for neocog: DistributedDataParallel.
 * @module
 */
export { DistributedDataParallel, type DistributedDataParallelOptions } from './distributed_data_parallel.js';
