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
  add,
  amax,
  amin,
  conv1d,
  conv2d,
  conv3d,
  div,
  elu,
  eq,
  exp,
  ge,
  gelu,
  gt,
  hardswish,
  indexSelect,
  le,
  leakyRelu,
  log,
  lt,
  matmul,
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
  sqrt,
  square,
  sub,
  sum,
  tanh,
  where,
  type ConvOptions,
  type ReduceOptions,
} from './ops/index.js';
export { enableGrad, isGradEnabled, noGrad } from './autograd/grad_mode.js';
export { GradNode, type BackwardOptions } from './autograd/graph.js';
