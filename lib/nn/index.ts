/**
 * torch.nn for neocog: Module, parameters, layers (with torchvision's FrozenBatchNorm2d),
 * generic blocks (conv-norm-activation, squeeze-and-excitation, separable convolution),
 * containers and init.
 * @module
 */
export * as init from './init.js';
export * as parallel from './parallel/index.js';
export { isParameter, Module, parameter, type AnyModule, type ForwardHook, type ForwardPreHook } from './module.js';
export { formatSummary, summarize, type LayerSummary } from './summary.js';
export {
  Dropout,
  Dropout2d,
  ELU,
  Flatten,
  GELU,
  Hardsigmoid,
  Hardswish,
  Identity,
  LazyLinear,
  LeakyReLU,
  Linear,
  LogSoftmax,
  Permute,
  ReLU,
  ReLU6,
  Sigmoid,
  SiLU,
  Softmax,
  StochasticDepth,
  Tanh,
  Upsample,
} from './layers/basic.js';
export {
  Conv2dNormActivation,
  SEBlock,
  SeparableConv2d,
  SqueezeExcitation,
  type Conv2dNormActivationOptions,
  type SeparableConv2dOptions,
  type SqueezeExcitationOptions,
} from './layers/blocks.js';
export { ModuleDict, ModuleList, Sequential } from './layers/containers.js';
export { Conv1d, Conv2d, Conv3d, ConvTranspose2d, ConvTranspose3d, type ConvLayerOptions } from './layers/conv.js';
export {
  AdaptiveAvgPool2d,
  AvgPool2d,
  BatchNorm1d,
  BatchNorm2d,
  BatchNorm3d,
  FrozenBatchNorm2d,
  GroupNorm,
  LayerNorm,
  LayerNorm2d,
  MaxPool2d,
  MaxPool3d,
  MaxUnpool2d,
  type BatchNormLayerOptions,
} from './layers/pooling_norm.js';
export { SyncBatchNorm } from './layers/sync_batch_norm.js';
