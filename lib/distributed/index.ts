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
  allGather,
  allGatherIntoTensor,
  allReduce,
  barrier,
  broadcast,
  reduceScatter,
  reduceScatterTensor,
  Work,
  type CollectiveOptions,
  type ReduceOp,
  type ReduceOptions,
} from './collectives.js';
export { DEFAULT_MASTER_ADDR, DEFAULT_MASTER_PORT, jobEnv, type JobEnv } from './env.js';
export { launch, parseLauncherArgs, type LauncherKind, type LaunchOptions, type TextSink } from './launcher.js';
export { TCPStore, type TCPStoreOptions } from './tcp_store.js';
