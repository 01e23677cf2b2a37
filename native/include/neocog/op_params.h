// The plain values primitives take besides tensors: op codes, geometry structs and the
// roles of tensor operands. Shared by the Backend interface (backend.h), the kernels in
// native/src/kernels (which include this, not the virtual interface) and the binding.
#pragma once

#include <cstdint>
#include <tuple>
#include <vector>

#include "neocog/layout.h"

namespace neocog {

// A struct's fields() lists each member once, by name: the binding reads a struct argument
// from a JavaScript object field by field (binding/primitive.h), and its TypeScript type in
// lib/native_primitives.ts is generated from the same list. Structs hold numbers, bools,
// op-code enums and fixed arrays of integers (one entry per spatial dim).
template <typename Struct, typename Member>
struct Field {
  using Pointer = Member Struct::*;
  const char* name;
  Pointer member;
};
#define NEOCOG_FIELD(Struct, member) ::neocog::Field<Struct, decltype(Struct::member)>{#member, &Struct::member}

// Roles of a tensor operand in a primitive's declaration (neocog/primitives.h). To a kernel
// each is a TensorRef; the binding keeps every operand alive until the kernel ran and marks
// written ones (Output, InOut) as results of the task. An absent optional operand has
// data == nullptr.
struct InputTensor : TensorRef {};
struct OutputTensor : TensorRef {};
struct InOutTensor : TensorRef {};
struct OptionalInputTensor : TensorRef {};
struct OptionalOutputTensor : TensorRef {};
struct OptionalInOutTensor : TensorRef {};
using In = const InputTensor&;
using Out = const OutputTensor&;
using InOut = const InOutTensor&;
using OptIn = const OptionalInputTensor&;
using OptOut = const OptionalOutputTensor&;
using OptInOut = const OptionalInOutTensor&;
// Tensors updated in place as one group (gradients to unscale).
using InOutList = const std::vector<TensorRef>&;

// Op codes are shared with lib/ops (the binding passes them as numbers); append only.
enum class BinaryOp : int32_t { Add = 0, Sub = 1, Mul = 2, Div = 3, Maximum = 4, Minimum = 5, Pow = 6 };
enum class CompareOp : int32_t { Eq = 0, Ne = 1, Lt = 2, Le = 3, Gt = 4, Ge = 5 };
enum class UnaryOp : int32_t {
  Neg = 0, Abs = 1, Exp = 2, Log = 3, Sqrt = 4, Relu = 5, Sigmoid = 6, Tanh = 7,
  LeakyRelu = 8, Elu = 9, Gelu = 10, Silu = 11, Hardswish = 12, Square = 13, Reciprocal = 14,
  Floor = 15, Ceil = 16, Round = 17,  // Round: half to even, as torch.round
  Relu6 = 18,                          // min(max(x, 0), 6), as torch.nn.ReLU6 (hardtanh's gradient)
};
enum class ReduceOp : int32_t { Sum = 0, Mean = 1, Max = 2, Min = 3 };
enum class ScanOp : int32_t { Sum = 0, Prod = 1 };

// How exact float32 GPU math must be (lib/backends.ts, read when the op is queued); passed
// the same way, as the last argument, to convolutions and matmul. The CPU backend ignores
// it: oneDNN gives the same bits run to run, and CPUs have no TF32.
struct MathOptions {
  bool allowTf32 = false;      // float32 convolutions/matmuls may use TF32 tensor cores
  bool deterministic = false;  // cuDNN must pick algorithms with reproducible results
  static constexpr auto fields() {
    return std::make_tuple(NEOCOG_FIELD(MathOptions, allowTf32), NEOCOG_FIELD(MathOptions, deterministic));
  }
};

// An activation applied to a forward convolution's output (after its bias) in the same
// pass: oneDNN's eltwise post-op on the CPU; for inference (lib/infer), never with autograd.
enum class ConvActivation : int32_t { None = 0, Relu = 1, Relu6 = 2, Silu = 3 };

// Geometry of a 1-d, 2-d or 3-d convolution, in PyTorch's terms (dilation 1 = none).
// padBegin/padEnd may differ ('same' padding with an even kernel, TensorFlow's rule).
struct ConvParams {
  int32_t spatial = 2;
  int64_t stride[3] = {1, 1, 1};
  int64_t padBegin[3] = {0, 0, 0};
  int64_t padEnd[3] = {0, 0, 0};
  int64_t dilation[3] = {1, 1, 1};
  int64_t groups = 1;
  ConvActivation activation = ConvActivation::None;  // convForward only
  static constexpr auto fields() {
    return std::make_tuple(NEOCOG_FIELD(ConvParams, spatial), NEOCOG_FIELD(ConvParams, stride),
                           NEOCOG_FIELD(ConvParams, padBegin), NEOCOG_FIELD(ConvParams, padEnd),
                           NEOCOG_FIELD(ConvParams, dilation), NEOCOG_FIELD(ConvParams, groups),
                           NEOCOG_FIELD(ConvParams, activation));
  }
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
  static constexpr auto fields() {
    return std::make_tuple(NEOCOG_FIELD(PoolParams, spatial), NEOCOG_FIELD(PoolParams, mode),
                           NEOCOG_FIELD(PoolParams, adaptive), NEOCOG_FIELD(PoolParams, countIncludePad),
                           NEOCOG_FIELD(PoolParams, divisorOverride), NEOCOG_FIELD(PoolParams, kernel),
                           NEOCOG_FIELD(PoolParams, stride), NEOCOG_FIELD(PoolParams, padding),
                           NEOCOG_FIELD(PoolParams, dilation));
  }
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
  static constexpr auto fields() {
    return std::make_tuple(NEOCOG_FIELD(OptimizerStep, kind), NEOCOG_FIELD(OptimizerStep, lr),
                           NEOCOG_FIELD(OptimizerStep, weightDecay), NEOCOG_FIELD(OptimizerStep, decoupledWeightDecay),
                           NEOCOG_FIELD(OptimizerStep, momentum), NEOCOG_FIELD(OptimizerStep, dampening),
                           NEOCOG_FIELD(OptimizerStep, nesterov), NEOCOG_FIELD(OptimizerStep, firstStep),
                           NEOCOG_FIELD(OptimizerStep, beta1), NEOCOG_FIELD(OptimizerStep, beta2),
                           NEOCOG_FIELD(OptimizerStep, biasCorrection1),
                           NEOCOG_FIELD(OptimizerStep, biasCorrection2Sqrt), NEOCOG_FIELD(OptimizerStep, alpha),
                           NEOCOG_FIELD(OptimizerStep, centered), NEOCOG_FIELD(OptimizerStep, eps));
  }
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
  static constexpr auto fields() {
    return std::make_tuple(NEOCOG_FIELD(RoiAlignParams, pooledH), NEOCOG_FIELD(RoiAlignParams, pooledW),
                           NEOCOG_FIELD(RoiAlignParams, spatialScale), NEOCOG_FIELD(RoiAlignParams, samplingRatio),
                           NEOCOG_FIELD(RoiAlignParams, aligned));
  }
};

// Position-sensitive RoI Align (R-FCN, Light-Head R-CNN) of input [N, C, H, W] over rois
// [K, 5], as torchvision.ops.ps_roi_align: output bin (ph, pw) of output channel c reads
// input channel (c * pooledH + ph) * pooledW + pw, sampled as RoI Align with aligned=true.
struct PsRoiAlignParams {
  int64_t pooledH = 1, pooledW = 1;
  float spatialScale = 1.0f;
  int64_t samplingRatio = -1;
  static constexpr auto fields() {
    return std::make_tuple(NEOCOG_FIELD(PsRoiAlignParams, pooledH), NEOCOG_FIELD(PsRoiAlignParams, pooledW),
                           NEOCOG_FIELD(PsRoiAlignParams, spatialScale),
                           NEOCOG_FIELD(PsRoiAlignParams, samplingRatio));
  }
};

// RoI max pooling (Fast R-CNN) of input [N, C, H, W] over rois [K, 5], as
// torchvision.ops.roi_pool: box corners are rounded to input pixels, bins cover them.
struct RoiPoolParams {
  int64_t pooledH = 1, pooledW = 1;
  float spatialScale = 1.0f;
  static constexpr auto fields() {
    return std::make_tuple(NEOCOG_FIELD(RoiPoolParams, pooledH), NEOCOG_FIELD(RoiPoolParams, pooledW),
                           NEOCOG_FIELD(RoiPoolParams, spatialScale));
  }
};

// Soft-NMS (Bodla et al. 2017): how a selected box decays the scores of the boxes it
// overlaps. Linear: s *= 1 - IoU where IoU > iouThreshold; Gaussian: s *= exp(-IoU^2 / sigma).
enum class SoftNmsMethod : int32_t { Linear = 0, Gaussian = 1 };
struct SoftNmsParams {
  SoftNmsMethod method = SoftNmsMethod::Gaussian;
  float iouThreshold = 0.3f;
  float sigma = 0.5f;
  float scoreThreshold = 0.001f;  // boxes whose decayed score falls below it are dropped
  static constexpr auto fields() {
    return std::make_tuple(NEOCOG_FIELD(SoftNmsParams, method), NEOCOG_FIELD(SoftNmsParams, iouThreshold),
                           NEOCOG_FIELD(SoftNmsParams, sigma), NEOCOG_FIELD(SoftNmsParams, scoreThreshold));
  }
};

struct RandomState {
  uint64_t seed = 0;
  uint64_t offset = 0;  // Philox counter of the first element
  static constexpr auto fields() {
    return std::make_tuple(NEOCOG_FIELD(RandomState, seed), NEOCOG_FIELD(RandomState, offset));
  }
};

}  // namespace neocog
