/**
 * neocog: convolutional networks for Node.js on oneDNN (CPU) and cuDNN/cuBLAS (CUDA).
 * The public surface; re-exports only.
 * @module
 */
export {
  ArgumentError,
  BusyError,
  DeviceError,
  DisposedError,
  DistributedError,
  DTypeError,
  FormatError,
  IndexError,
  KeyError,
  NeocogError,
  OutOfMemoryError,
  ShapeError,
  UnpicklingError,
  WorkerError,
} from './errors.js';
export { cuda } from './cuda.js';
export { backends } from './backends.js';
export type { CudaDeviceProperties } from './native.js';
export { Tensor, type NestedArray } from './tensor/tensor.js';
export type { Detection, DetectionTarget } from './tensor/detection_records.js';
export {
  arange,
  fromTypedArray,
  full,
  ones,
  onesLike,
  rand,
  randint,
  randn,
  tensor,
  zeros,
  zerosLike,
  type TensorOptions,
  type TypedArrayTensorOptions,
} from './tensor/creation.js';
export { dtypes, type DType, type HalfDType, type TensorData, type TypedArrayFor } from './tensor/dtype.js';
export { autocast, isAutocastEnabled, type AutocastOptions } from './amp/autocast.js';
export type { AmpDeviceType } from './amp/device_type.js';
export { GradScaler, type GradScalerOptions, type GradScalerState } from './amp/grad_scaler.js';
export {
  getNumThreads,
  queueLimits,
  setNumThreads,
  setQueueLimits,
  synchronize,
  synchronizeSync,
  type Device,
  type DeviceLike,
  type QueueLimits,
} from './tensor/device.js';
export { emptyCache, keep, memory, scope, type DeviceMemory } from './tensor/memory.js';
export { getRngState, initialSeed, manualSeed, setRngState } from './tensor/random.js';
export { profile, type OpProfile, type ProfileResult } from './tensor/profiler.js';
export * from './ops/index.js';
export * from './losses/index.js';
export { enableGrad, isGradEnabled, noGrad } from './autograd/grad_mode.js';
export { grad, type GradOptions } from './autograd/grad.js';
export { GradNode, type BackwardOptions } from './autograd/graph.js';
export * as data from './data/index.js';
export * as distributed from './distributed/index.js';
export * as infer from './infer/index.js';
export * as io from './io/index.js';
export * as metrics from './metrics/index.js';
export * as models from './models/index.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export * as viz from './viz/index.js';
export * as vision from './vision/index.js';
export * as train from './train/index.js';
