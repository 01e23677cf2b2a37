/**
 * The table of ops, one line each, sorted (the native primitives are declared in native/include/neocog/primitives.def).
 * Public ops only: internal helpers (copyInto, copyTo, zerosOn, sumTo, the fused
 * cross-entropy and optimizer primitives) are imported from their own files.
 * @module
 */
export {
  batchedNms,
  batchedNmsAsync,
  boxArea,
  boxConvert,
  boxIou,
  clipBoxesToImage,
  completeBoxIou,
  distanceBoxIou,
  generalizedBoxIou,
  nms,
  nmsAsync,
  removeSmallBoxes,
  removeSmallBoxesAsync,
  type BoxFormat,
  type NmsOptions,
} from './boxes.js';
export { eq, ge, gt, le, lt, ne, where } from './compare.js';
export {
  connectedComponents,
  connectedComponentsAsync,
  type ConnectedComponents,
  type ConnectedComponentsOptions,
  type Connectivity,
} from './connected_components.js';
export { conv1d, conv2d, conv3d, type ConvOptions } from './conv.js';
export { convTranspose1d, convTranspose2d, convTranspose3d, type ConvTransposeOptions } from './conv_transpose.js';
export { cumprod, cumsum } from './cumulative.js';
export { dropout, dropout2d, stochasticDepth, type DropoutOptions, type StochasticDepthOptions } from './dropout.js';
export { add, div, maximum, minimum, mul, pow, sub } from './elementwise.js';
export { affineGrid, gridSample, type AffineGridOptions, type GridSampleMode, type GridSampleOptions, type GridSamplePaddingMode } from './grid_sample.js';
export { gather, indexSelect } from './indexing.js';
export { linear } from './linear.js';
export { matmul } from './matmul.js';
export { booleanMask, booleanMaskAsync, maskedSelect, maskedSelectAsync, nonzero, nonzeroAsync } from './nonzero.js';
export { batchNorm, groupNorm, instanceNorm, layerNorm, type BatchNormOptions } from './norm.js';
export {
  adaptiveAvgPool1d,
  adaptiveAvgPool2d,
  adaptiveAvgPool3d,
  adaptiveMaxPool2d,
  avgPool1d,
  avgPool2d,
  avgPool3d,
  globalAvgPool2d,
  maxPool1d,
  maxPool2d,
  maxPool3d,
  type AvgPoolOptions,
  type MaxPoolOptions,
} from './pool.js';
export { psRoiAlign, type PsRoiAlignOptions } from './ps_roi_align.js';
export { amax, amin, mean, sum, type ReduceOptions, type SumDType } from './reduce.js';
export { interpolate, maxUnpool2d, scatterAdd, type InterpolateMode, type InterpolateOptions } from './resample.js';
export { roiAlign, type RoiAlignOptions } from './roi_align.js';
export { roiPool, type RoiPoolOptions } from './roi_pool.js';
export { cat, chunk, flip, maskedFill, meshgrid, oneHot, pad, pixelShuffle, pixelUnshuffle, roll, rot90, split, stack, type MeshgridOptions, type PadMode } from './shape.js';
export { softNms, softNmsAsync, type SoftNmsOptions, type SoftNmsResult } from './soft_nms.js';
export { logSoftmax, softmax } from './softmax.js';
export { argsort, histc, maxAlong, minAlong, quantile, sort, topk, type ValuesIndices } from './sort.js';
export { argmax, argmin, clamp, std, variance, type ClampBound, type VarianceOptions } from './statistics.js';
export {
  abs,
  ceil,
  elu,
  exp,
  floor,
  gelu,
  hardswish,
  leakyRelu,
  log,
  neg,
  reciprocal,
  relu,
  relu6,
  round,
  sigmoid,
  silu,
  sqrt,
  square,
  tanh,
} from './unary.js';
