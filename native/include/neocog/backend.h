// The primitive-op interface every device implements (DESIGN §4). The CPU backend lives in
// the addon; the CUDA backend lives in the neocog_cuda plugin and is reached through
// plugin.h. Methods run on the device's stream thread, one at a time, in order; arguments
// were validated in TypeScript, so backends check only what would corrupt memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "neocog/device.h"
#include "neocog/layout.h"

namespace neocog {

// Op codes are shared with lib/ops (the binding passes them as numbers); append only.
enum class BinaryOp : int32_t { Add = 0, Sub = 1, Mul = 2, Div = 3, Maximum = 4, Minimum = 5, Pow = 6 };
enum class CompareOp : int32_t { Eq = 0, Ne = 1, Lt = 2, Le = 3, Gt = 4, Ge = 5 };
enum class UnaryOp : int32_t {
  Neg = 0, Abs = 1, Exp = 2, Log = 3, Sqrt = 4, Relu = 5, Sigmoid = 6, Tanh = 7,
  LeakyRelu = 8, Elu = 9, Gelu = 10, Silu = 11, Hardswish = 12, Square = 13, Reciprocal = 14,
};
enum class ReduceOp : int32_t { Sum = 0, Mean = 1, Max = 2, Min = 3 };
enum class ScanOp : int32_t { Sum = 0, Prod = 1 };

// Geometry of a 1-d, 2-d or 3-d convolution, in PyTorch's terms (dilation 1 = none).
// padBegin/padEnd may differ ('same' padding with an even kernel, TensorFlow's rule).
// How exact float32 GPU math must be (lib/backends.ts, read when the op is queued). The
// CPU backend ignores it: oneDNN gives the same bits run to run, and CPUs have no TF32.
struct MathOptions {
  bool allowTf32 = false;      // float32 convolutions/matmuls may use TF32 tensor cores
  bool deterministic = false;  // cuDNN must pick algorithms with reproducible results
};

struct ConvParams {
  int32_t spatial = 2;
  int64_t stride[3] = {1, 1, 1};
  int64_t padBegin[3] = {0, 0, 0};
  int64_t padEnd[3] = {0, 0, 0};
  int64_t dilation[3] = {1, 1, 1};
  int64_t groups = 1;
  MathOptions math;
};

// Pooling over 1-3 spatial dims, with PyTorch's semantics. Adaptive pooling derives each
// window from the input and output sizes (kernel/stride/padding unused).
enum class PoolMode : int32_t { Max = 0, Avg = 1 };
struct PoolParams {
  int32_t spatial = 2;
  PoolMode mode = PoolMode::Max;
  bool adaptive = false;
  bool countIncludePad = true;  // avg: padding counts in the divisor
  int64_t divisorOverride = 0;  // avg: 0 = none
  int64_t kernel[3] = {1, 1, 1};
  int64_t stride[3] = {1, 1, 1};
  int64_t padding[3] = {0, 0, 0};
  int64_t dilation[3] = {1, 1, 1};
};

// One optimizer step over many parameters (fused: one pass over each parameter, its
// gradient and its state), with torch.optim's formulas (kernels/optim.h).
enum class OptimizerKind : int32_t { Sgd = 0, Adam = 1, RmsProp = 2 };
struct OptimizerStep {
  OptimizerKind kind = OptimizerKind::Sgd;
  float lr = 0.0f;
  float weightDecay = 0.0f;
  bool decoupledWeightDecay = false;  // AdamW: decay the weights, not the gradient
  float momentum = 0.0f;              // SGD, RMSprop
  float dampening = 0.0f;             // SGD
  bool nesterov = false;              // SGD
  bool firstStep = false;             // SGD: the momentum buffer starts as the gradient
  float beta1 = 0.9f, beta2 = 0.999f;  // Adam
  float biasCorrection1 = 1.0f;        // Adam: 1 - beta1^step
  float biasCorrection2Sqrt = 1.0f;    // Adam: sqrt(1 - beta2^step)
  float alpha = 0.99f;                 // RMSprop smoothing
  bool centered = false;               // RMSprop
  float eps = 1e-8f;                   // Adam, RMSprop
};
// A parameter, its gradient and up to three state tensors (absent: data == nullptr), all
// float32 with the parameter's dense layout. State slots: SGD [momentum]; Adam [expAvg,
// expAvgSq]; RMSprop [squareAvg, momentumBuffer, gradAvg].
struct OptimizerTensors {
  TensorRef param, grad;
  TensorRef state[3];
};

// RoI Align of input [N, C, H, W] over rois [K, 5] (batch index, x1, y1, x2, y2), as
// torchvision.ops.roi_align: samplingRatio <= 0 means adaptive (ceil(roi size / bins)).
struct RoiAlignParams {
  int64_t pooledH = 1, pooledW = 1;
  float spatialScale = 1.0f;
  int64_t samplingRatio = -1;
  bool aligned = false;
};

struct RandomState {
  uint64_t seed = 0;
  uint64_t offset = 0;  // Philox counter of the first element
};

class Backend {
 public:
  virtual ~Backend() = default;

  virtual Device device() const = 0;
  // True when the main thread may read/write device memory directly (CPU).
  virtual bool hostAccessible() const = 0;

  // Memory. rawAllocate throws Error(OutOfMemory) when the device is full; the caching
  // allocator in core retries once after releasing its cache.
  virtual void* rawAllocate(size_t bytes) = 0;
  virtual void rawFree(void* ptr) noexcept = 0;
  // Copies complete before returning (they are ordered on this device's stream).
  virtual void copyToHost(void* dst, const void* src, size_t bytes) = 0;
  virtual void copyFromHost(void* dst, const void* src, size_t bytes) = 0;
  virtual void synchronize() = 0;

  // Creation.
  virtual void fill(const TensorRef& out, double value) = 0;
  virtual void arange(const TensorRef& out, double start, double step) = 0;
  virtual void uniform(const TensorRef& out, RandomState rng, double low, double high) = 0;
  virtual void normal(const TensorRef& out, RandomState rng, double mean, double std) = 0;

  // out <- in, any strides, converting dtype.
  virtual void copy(const TensorRef& out, const TensorRef& in) = 0;
  // out <- op(a, b); a and b are already broadcast to out's shape (stride 0 where expanded).
  virtual void binary(BinaryOp op, const TensorRef& out, const TensorRef& a, const TensorRef& b) = 0;
  // out <- a op b as bool; a and b share a dtype and are broadcast to out's shape.
  virtual void compare(CompareOp op, const TensorRef& out, const TensorRef& a, const TensorRef& b) = 0;
  // out <- cond ? a : b (cond is bool; all broadcast to out's shape).
  virtual void where(const TensorRef& out, const TensorRef& cond, const TensorRef& a, const TensorRef& b) = 0;
  // out <- f(in); `alpha` parameterises leakyRelu (slope) and elu (alpha).
  virtual void unary(UnaryOp op, const TensorRef& out, const TensorRef& in, double alpha) = 0;
  // gradIn <- gradOut * f'(input).
  virtual void unaryBackward(UnaryOp op, const TensorRef& gradIn, const TensorRef& gradOut, const TensorRef& input,
                             double alpha) = 0;
  // out has in's rank with size 1 on every reduced dim; each out element reduces the
  // in elements that share its other coordinates.
  virtual void reduce(ReduceOp op, const TensorRef& out, const TensorRef& in) = 0;
  // Inclusive scan (cumsum / cumprod) of in along dim into out (same shape and dtype, any
  // strides); `reverse` scans from the end (out[i] combines in[i..n-1]), which is the
  // gradient of cumsum.
  virtual void scan(ScanOp op, const TensorRef& out, const TensorRef& in, int dim, bool reverse) = 0;

  // Convolution of input [N, C, *spatial] with weight [O, C / groups, *kernel] into out
  // [N, O, *outSpatial]; any strides (channels-last is the fast path on both libraries).
  // An absent bias / gradBias has data == nullptr.
  virtual void convForward(const ConvParams& params, const TensorRef& out, const TensorRef& input,
                           const TensorRef& weight, const TensorRef& bias) = 0;
  virtual void convBackwardData(const ConvParams& params, const TensorRef& gradInput, const TensorRef& gradOutput,
                                const TensorRef& weight) = 0;
  virtual void convBackwardWeight(const ConvParams& params, const TensorRef& gradWeight, const TensorRef& gradBias,
                                  const TensorRef& gradOutput, const TensorRef& input) = 0;

  // Pooling of input [N, C, *spatial] into out [N, C, *outSpatial]. Max pooling also writes
  // `indices` (int32, flat position in the input's spatial plane, as PyTorch) when its data
  // is not null. The backward reads indices for max pooling.
  virtual void poolForward(const PoolParams& params, const TensorRef& out, const TensorRef& indices,
                           const TensorRef& input) = 0;
  virtual void poolBackward(const PoolParams& params, const TensorRef& gradInput, const TensorRef& gradOutput,
                            const TensorRef& indices) = 0;

  // Batch normalization over every dim but 1 (channels) of input [N, C, *]. In training it
  // writes the batch mean and biased variance into mean/var and normalizes with them;
  // otherwise it normalizes with the given mean/var. out has input's strides; weight
  // (scale) and bias (shift) are both present or both absent (data == nullptr).
  virtual void batchNormForward(const TensorRef& out, const TensorRef& input, const TensorRef& weight,
                                const TensorRef& bias, const TensorRef& mean, const TensorRef& var, bool training,
                                double eps) = 0;
  // Backward of a training-mode forward, from the batch statistics it wrote. gradInput and
  // gradOutput have input's strides; gradWeight/gradBias are absent without weight.
  virtual void batchNormBackward(const TensorRef& gradInput, const TensorRef& gradWeight, const TensorRef& gradBias,
                                 const TensorRef& gradOutput, const TensorRef& input, const TensorRef& weight,
                                 const TensorRef& mean, const TensorRef& var, double eps) = 0;

  // Fused cross entropy of logits [N, C, *] (any strides) with int32 class targets [N, *]:
  // losses[i] = -(1 - s) w[y] log p[y] - (s / C) sum_c w[c] log p[c] and weights[i] = w[y]
  // (both 0 where target == ignoreIndex); w is 1 without `weight` ([C], optional).
  // Throws Error(Index) for a target outside [0, C) that is not ignoreIndex.
  virtual void crossEntropyForward(const TensorRef& losses, const TensorRef& weights, const TensorRef& logits,
                                   const TensorRef& target, const TensorRef& weight, int64_t ignoreIndex,
                                   double smoothing) = 0;
  // gradLogits = gradLosses * d losses / d logits, 0 at ignored positions.
  virtual void crossEntropyBackward(const TensorRef& gradLogits, const TensorRef& gradLosses, const TensorRef& logits,
                                    const TensorRef& target, const TensorRef& weight, int64_t ignoreIndex,
                                    double smoothing) = 0;

  // Batched matrix product of [B, M, K] x [B, K, N] -> [B, M, N] (batch stride 0 broadcasts).
  virtual void matmul(const TensorRef& out, const TensorRef& a, const TensorRef& b, const MathOptions& math) = 0;
  // out = in.index_select(dim, index); throws Error(Index) for an index out of range.
  virtual void indexSelect(const TensorRef& out, const TensorRef& in, int dim, const TensorRef& index) = 0;
  // out = input.gather(dim, index): index (int32) has out's shape; out[..i..] reads input
  // at index[..i..] along dim. Throws Error(Index) for a value out of range.
  virtual void gather(const TensorRef& out, const TensorRef& input, int dim, const TensorRef& index) = 0;
  // out.scatter_add_(dim, index, source), the backward of gather (repeats accumulate).
  virtual void scatterAdd(const TensorRef& out, int dim, const TensorRef& index, const TensorRef& source) = 0;
  // Stable sort of each row (last dim) of a contiguous float32 or int32 input: writes the
  // sorted positions (int32) into `indices`. NaN sorts as the largest value, as PyTorch.
  virtual void argsort(const TensorRef& indices, const TensorRef& input, bool descending) = 0;
  // out.index_add_(dim, index, source): adds slice i of source into slice index[i] of out
  // (repeated indices accumulate). Indices were range-checked by a prior indexSelect.
  virtual void indexAdd(const TensorRef& out, int dim, const TensorRef& index, const TensorRef& source) = 0;

  // out [N, M] = IoU of every box of a [N, 4] with every box of b [M, 4] (contiguous, xyxy).
  virtual void boxIou(const TensorRef& out, const TensorRef& a, const TensorRef& b) = 0;
  // Greedy non-maximum suppression over boxes [N, 4] (contiguous, xyxy) already sorted by
  // decreasing score: keep [N] (uint8) is 1 for each box no higher-ranked kept box overlaps
  // with IoU > iouThreshold.
  virtual void nms(const TensorRef& keep, const TensorRef& boxes, double iouThreshold) = 0;

  // out [K, C, pooledH, pooledW] (contiguous) from input [N, C, H, W] (any strides) and rois
  // [K, 5] (contiguous float32; batch indices already checked).
  virtual void roiAlignForward(const RoiAlignParams& params, const TensorRef& out, const TensorRef& input,
                               const TensorRef& rois) = 0;
  // gradInput [N, C, H, W] (contiguous; overwritten) from gradOutput [K, C, pooledH, pooledW].
  virtual void roiAlignBackward(const RoiAlignParams& params, const TensorRef& gradInput, const TensorRef& gradOutput,
                                const TensorRef& rois) = 0;

  // Updates every parameter (and its state) in place from its gradient, in one launch.
  virtual void optimizerStep(const OptimizerStep& step, const std::vector<OptimizerTensors>& tensors) = 0;
  // GradScaler: multiplies every gradient (dense float32) by `inverseScale` in place and sets
  // foundInf (one float32, zeroed by the caller) to 1 if any result is inf or NaN.
  virtual void unscaleGradients(const std::vector<TensorRef>& grads, float inverseScale, const TensorRef& foundInf) = 0;
};

}  // namespace neocog
