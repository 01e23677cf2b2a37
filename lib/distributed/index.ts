/**
 * Data-parallel training across processes (issue 18), as `torch.distributed`: a process
 * group over MPI (CPU) or NCCL (CUDA), collectives, and (in `nn`) DistributedDataParallel.
 * @module
 */
export {
  destroyProcessGroup,
  getBackend,
  getRank,
  getWorldSize,
  initProcessGroup,
  isInitialized,
  type DistributedBackend,
  type InitProcessGroupOptions,
} from './process_group.js';
export {
  allGatherIntoTensor,
  allReduce,
  barrier,
  broadcast,
  reduceScatterTensor,
  Work,
  type CollectiveOptions,
  type ReduceOp,
  type ReduceOptions,
} from './collectives.js';
