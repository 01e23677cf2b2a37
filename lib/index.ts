/**
 * neocog: convolutional networks for Node.js on oneDNN (CPU) and cuDNN/cuBLAS (CUDA).
 * The public surface; re-exports only.
 * @module
 */
export {
  ArgumentError,
  DeviceError,
  DisposedError,
  DTypeError,
  FormatError,
  IndexError,
  NeocogError,
  OutOfMemoryError,
  ShapeError,
} from './errors.js';
export { cuda } from './cuda.js';
export type { CudaDeviceProperties } from './native.js';
export { Tensor, type NestedArray } from './tensor/tensor.js';
export {
  arange,
  fromTypedArray,
  full,
  ones,
  onesLike,
  rand,
  randn,
  tensor,
  zeros,
  zerosLike,
  type TensorOptions,
} from './tensor/creation.js';
export { dtypes, type DType, type TensorData, type TypedArrayFor } from './tensor/dtype.js';
export { synchronize, synchronizeSync, type Device, type DeviceLike } from './tensor/device.js';
export { emptyCache, keep, memory, scope, type DeviceMemory } from './tensor/memory.js';
export { initialSeed, manualSeed } from './tensor/random.js';
export {
  abs,
  adaptiveAvgPool1d,
  adaptiveAvgPool2d,
  adaptiveAvgPool3d,
  adaptiveMaxPool2d,
  add,
  amax,
  amin,
  avgPool1d,
  avgPool2d,
  avgPool3d,
  batchNorm,
  conv1d,
  conv2d,
  conv3d,
  div,
  dropout,
  dropout2d,
  elu,
  eq,
  exp,
  gather,
  ge,
  gelu,
  globalAvgPool2d,
  groupNorm,
  gt,
  hardswish,
  indexSelect,
  instanceNorm,
  layerNorm,
  le,
  leakyRelu,
  linear,
  log,
  logSoftmax,
  lt,
  matmul,
  maxPool1d,
  maxPool2d,
  maxPool3d,
  maximum,
  mean,
  minimum,
  mul,
  ne,
  neg,
  pow,
  reciprocal,
  relu,
  sigmoid,
  silu,
  softmax,
  sqrt,
  square,
  sub,
  sum,
  tanh,
  where,
  type AvgPoolOptions,
  type BatchNormOptions,
  type ConvOptions,
  type DropoutOptions,
  type MaxPoolOptions,
  type ReduceOptions,
} from './ops/index.js';
export * from './losses/index.js';
export { enableGrad, isGradEnabled, noGrad } from './autograd/grad_mode.js';
export { GradNode, type BackwardOptions } from './autograd/graph.js';
