// Convolution on cuDNN's (legacy) convolution API: forward, backward data, backward filter
// and bias gradient. The legacy API is used because it is complete for what neocog needs
// (groups, dilation, 2-d/3-d, any activation strides) and simpler to get right than the
// graph API; it remains supported in cuDNN 9. Algorithms are chosen once per geometry
// with cudnnFind*AlgorithmEx and cached with their descriptors. cuDNN pads symmetrically
// only, so extra padding on one side ('same' with an even kernel) is applied explicitly by
// copying into a zero-padded buffer. float16/bfloat16 operands (mixed precision) run with
// float32 accumulation (the convolution's compute type) on tensor cores.
#include <algorithm>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cuda/check.h"
#include "cuda/conv_plan.h"
#include "cuda/cudnn_desc.h"
#include "cuda/launch.h"
#include "kernels/conv.h"
#include "cuda/cuda_backend.h"
#include "kernels/elementwise.h"
#include "kernels/strided.h"

namespace neocog::cuda {

namespace {

const float kOne = 1.0f, kZero = 0.0f;

// cuDNN convolutions need 4-d or 5-d descriptors: 1-d convolutions get a height of 1.
std::vector<int> dimsOf(const Layout& l) {
  std::vector<int> dims(l.shape, l.shape + l.ndim);
  if (l.ndim == 3) dims.insert(dims.begin() + 2, 1);
  return dims;
}

std::vector<int> stridesOf(const Layout& l) {
  std::vector<int> strides(l.strides, l.strides + l.ndim);
  if (l.ndim == 3) strides.insert(strides.begin() + 2, static_cast<int>(l.shape[2] * l.strides[2]));
  return strides;
}

cudnnDataType_t cudnnTypeOf(DType t) {
  if (t == DType::Float16) return CUDNN_DATA_HALF;
  if (t == DType::BFloat16) return CUDNN_DATA_BFLOAT16;
  return CUDNN_DATA_FLOAT;
}

void describeTensor(const TensorDescriptor& desc, const Layout& l, DType dtype) {
  const auto dims = dimsOf(l), strides = stridesOf(l);
  check(cudnnSetTensorNdDescriptor(desc.get(), cudnnTypeOf(dtype), static_cast<int>(dims.size()), dims.data(), strides.data()),
        "convolution (cudnnSetTensorNdDescriptor)");
}

bool isAsymmetric(const ConvParams& p) {
  for (int i = 0; i < p.spatial; ++i) {
    if (p.padBegin[i] != p.padEnd[i]) return true;
  }
  return false;
}

// The layout of `input` zero-padded by the asymmetric part of the padding (contiguous),
// and the params that remain (symmetric).
struct Padded {
  Layout layout;
  ConvParams params;
  int64_t offset[3] = {0, 0, 0};  // where the original input starts in each spatial dim
};

Padded padPlan(const Layout& input, const ConvParams& p) {
  Padded result;
  result.params = p;
  result.layout = input;
  for (int i = 0; i < p.spatial; ++i) {
    const int64_t common = std::min(p.padBegin[i], p.padEnd[i]);
    result.offset[i] = p.padBegin[i] - common;
    result.layout.shape[2 + i] += (p.padBegin[i] - common) + (p.padEnd[i] - common);
    result.params.padBegin[i] = result.params.padEnd[i] = common;
  }
  int64_t stride = 1;
  for (int d = result.layout.ndim - 1; d >= 0; --d) {
    result.layout.strides[d] = stride;
    stride *= result.layout.shape[d];
  }
  return result;
}

// Copies between a tensor and its window inside a padded buffer (toPadded) or back; T is
// any type of the element's size (the bits are moved, not converted).
template <typename T>
__global__ void windowCopyKernel(T* padded, Layout paddedLayout, T* tensor, Layout tensorLayout,
                                 int64_t o0, int64_t o1, int64_t o2, bool toPadded, int64_t n) {
  const int64_t offsets[3] = {o0, o1, o2};
  NC_GRID_STRIDE_LOOP(i, n) {
    int64_t rest = i, paddedOffset = 0, tensorOffset = 0;
    for (int d = tensorLayout.ndim - 1; d >= 0; --d) {
      const int64_t coord = rest % tensorLayout.shape[d];
      rest /= tensorLayout.shape[d];
      tensorOffset += coord * tensorLayout.strides[d];
      paddedOffset += (coord + (d >= 2 ? offsets[d - 2] : 0)) * paddedLayout.strides[d];
    }
    if (toPadded) padded[paddedOffset] = tensor[tensorOffset];
    else tensor[tensorOffset] = padded[paddedOffset];
  }
}

void windowCopy(DeviceHandles& h, const Padded& plan, void* padded, const TensorRef& t, bool toPadded) {
  const int64_t n = t.numel();
  if (n == 0) return;
  if (dtypeSize(t.dtype) == 2) {
    windowCopyKernel<<<gridFor(n), kBlockSize, 0, h.stream()>>>(static_cast<uint16_t*>(padded), plan.layout,
                                                                t.as<uint16_t>(), t.layout, plan.offset[0],
                                                                plan.offset[1], plan.offset[2], toPadded, n);
  } else {
    windowCopyKernel<<<gridFor(n), kBlockSize, 0, h.stream()>>>(static_cast<float*>(padded), plan.layout, t.as<float>(),
                                                                t.layout, plan.offset[0], plan.offset[1], plan.offset[2],
                                                                toPadded, n);
  }
  checkLaunch("convolution (padding)");
}

std::string keyOf(const char* kind, DType dtype, const ConvParams& p, const MathOptions& math,
                  std::initializer_list<const Layout*> layouts) {
  std::ostringstream key;
  key << kind << '|' << dtypeName(dtype) << '|' << math.allowTf32 << math.deterministic << '|' << p.spatial << '|'
      << p.groups;
  for (int i = 0; i < p.spatial; ++i) key << '|' << p.stride[i] << ',' << p.padBegin[i] << ',' << p.dilation[i];
  for (const Layout* l : layouts) {
    key << '|';
    for (int d = 0; d < l->ndim; ++d) key << l->shape[d] << ':' << l->strides[d] << ',';
  }
  return key.str();
}

std::unique_ptr<ConvPlan> makePlan(const ConvParams& p, const MathOptions& math, DType dtype, const Layout& x, const Layout& w, const Layout& y) {
  auto plan = std::make_unique<ConvPlan>();
  describeTensor(plan->x, x, dtype);
  describeTensor(plan->y, y, dtype);
  const auto wDims = dimsOf(w);
  check(cudnnSetFilterNdDescriptor(plan->w.get(), cudnnTypeOf(dtype), CUDNN_TENSOR_NCHW, static_cast<int>(wDims.size()),
                                   wDims.data()),
        "convolution (cudnnSetFilterNdDescriptor)");
  std::vector<int> pad, stride, dilation;
  if (p.spatial == 1) {  // the added height dimension
    pad.push_back(0);
    stride.push_back(1);
    dilation.push_back(1);
  }
  for (int i = 0; i < p.spatial; ++i) {
    pad.push_back(static_cast<int>(p.padBegin[i]));
    stride.push_back(static_cast<int>(p.stride[i]));
    dilation.push_back(static_cast<int>(p.dilation[i]));
  }
  check(cudnnSetConvolutionNdDescriptor(plan->conv.get(), static_cast<int>(pad.size()), pad.data(), stride.data(),
                                        dilation.data(), CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
        "convolution (cudnnSetConvolutionNdDescriptor)");
  check(cudnnSetConvolutionGroupCount(plan->conv.get(), static_cast<int>(p.groups)), "convolution (group count)");
  // float32: exact FP32 arithmetic unless backends.cudnn.allowTf32 (CUDNN_DEFAULT_MATH lets
  // cuDNN use TF32 tensor cores), so CUDA results match the CPU's tolerance by default.
  // 16-bit operands: tensor cores, accumulating in float32 (the compute type above).
  const cudnnMathType_t mathType =
      isHalfDType(dtype) ? CUDNN_TENSOR_OP_MATH : (math.allowTf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH);
  check(cudnnSetConvolutionMathType(plan->conv.get(), mathType), "convolution (math type)");
  return plan;
}

// Largest workspace cudnnFind may use: enough for the fast algorithms, bounded so that
// the search itself cannot exhaust the device.
constexpr size_t kFindWorkspaceLimit = size_t{1} << 30;

size_t findWorkspaceSize(cudaStream_t) {
  size_t freeBytes = 0, totalBytes = 0;
  cudaMemGetInfo(&freeBytes, &totalBytes);
  return std::min(kFindWorkspaceLimit, freeBytes / 4);
}

// [1, C, 1, 1(, 1)]: broadcasts a per-channel vector over an output like `like`.
void describeChannels(const TensorDescriptor& desc, const Layout& like, DType dtype) {
  std::vector<int> dims(like.ndim == 3 ? 4 : like.ndim, 1), strides(dims.size(), 1);
  dims[1] = static_cast<int>(like.shape[1]);
  check(cudnnSetTensorNdDescriptor(desc.get(), cudnnTypeOf(dtype), static_cast<int>(dims.size()), dims.data(), strides.data()),
        "convolution (bias descriptor)");
}

// out[n, c, ...] += bias[c] for 16-bit outputs, in float32 with one rounding: our kernel
// rather than cudnnAddTensor, which does not take every 16-bit type.
template <typename T>
__global__ void channelBiasKernel(T* out, Layout layout, const T* bias, int64_t perChannel, int64_t channels, int64_t n) {
  NC_GRID_STRIDE_LOOP(i, n) {
    const int64_t offset = kernels::stridedOffset(layout, i);
    const float sum = kernels::castValue<float>(out[offset]) + kernels::castValue<float>(bias[(i / perChannel) % channels]);
    out[offset] = kernels::castValue<T>(sum);
  }
}

void addChannelBias(DeviceHandles& h, const TensorRef& out, const TensorRef& bias) {
  const int64_t n = out.numel(), channels = out.layout.shape[1];
  const int64_t perChannel = n / (out.layout.shape[0] * channels);
  const auto launch = [&](auto tag) {
    using T = decltype(tag);
    channelBiasKernel<T><<<gridFor(n), kBlockSize, 0, h.stream()>>>(out.as<T>(), out.layout, bias.as<T>(), perChannel, channels, n);
  };
  if (out.dtype == DType::Float16) launch(kernels::Half{});
  else launch(kernels::BFloat16{});
  checkLaunch("convolution (bias)");
}

// A zero-padded copy of `input` when the padding is asymmetric (cuDNN pads symmetrically).
std::unique_ptr<StreamBuffer> paddedCopy(DeviceHandles& h, const Padded& plan, const TensorRef& input) {
  auto buffer = std::make_unique<StreamBuffer>(plan.layout.numel() * dtypeSize(input.dtype), h.stream());
  check(cudaMemsetAsync(buffer->get(), 0, buffer->size(), h.stream()), "convolution (padding)");
  windowCopy(h, plan, buffer->get(), input, true);
  return buffer;
}

// The fastest algorithm cudnnFind measured that ran, restricted to reproducible ones when
// backends.cudnn.deterministic is set (cudnnFind lists them fastest first); null if none.
template <typename Perf>
const Perf* pickAlgorithm(const Perf* perf, int found, const MathOptions& math) {
  const Perf* best = std::find_if(perf, perf + found, [&](const Perf& r) {
    return r.status == CUDNN_STATUS_SUCCESS && (!math.deterministic || r.determinism == CUDNN_DETERMINISTIC);
  });
  return best == perf + found ? nullptr : best;
}

// The plan of one of the three convolution calls for this geometry: made and measured once
// (descriptors, cudnnFind over a bounded workspace, the fastest allowed algorithm), then
// taken from the cache. `find(plan, perf, &found, workspace)` runs that call's cudnnFind;
// `keep(plan, algo)` stores the chosen algorithm. x, w and y are the input, filter and
// output layouts as cuDNN sees them (padded when the padding is asymmetric).
template <typename Perf, int Count, typename Find, typename Keep>
ConvPlan& measuredPlan(DeviceHandles& h, ConvPlanCache& cache, const char* kind, const ConvParams& p,
                       const MathOptions& math, DType dtype, const Layout& x, const Layout& w, const Layout& y,
                       Find&& find, Keep&& keep) {
  return cache.get(keyOf(kind, dtype, p, math, {&x, &w, &y}), [&] {
    auto made = makePlan(p, math, dtype, x, w, y);
    StreamBuffer workspace(findWorkspaceSize(h.stream()), h.stream());
    Perf perf[Count];
    int found = 0;
    find(*made, perf, &found, workspace);
    const Perf* best = pickAlgorithm(perf, found, math);
    if (best == nullptr) {
      fail(ErrorKind::Device, std::string("cuDNN found no ") + kind + " convolution algorithm for this geometry" +
                                  (math.deterministic ? " (only deterministic ones were allowed)" : ""));
    }
    keep(*made, best->algo);
    made->workspaceBytes = best->memory;
    return made;
  });
}

// The operand cuDNN reads as the convolution's input: the tensor itself, or a zero-padded
// copy when the padding is asymmetric (then with the padded geometry).
struct ConvInput {
  const void* data;
  Layout layout;
  ConvParams params;
  std::unique_ptr<StreamBuffer> padded;
};

ConvInput convInput(DeviceHandles& h, const ConvParams& params, const TensorRef& input) {
  if (!isAsymmetric(params)) return ConvInput{input.data, input.layout, params, nullptr};
  const Padded plan = padPlan(input.layout, params);
  auto buffer = paddedCopy(h, plan, input);
  const void* data = buffer->get();
  return ConvInput{data, plan.layout, plan.params, std::move(buffer)};
}

}  // namespace

ConvPlan& ConvPlanCache::get(const std::string& key, const std::function<std::unique_ptr<ConvPlan>()>& make) {
  auto found = plans_.find(key);
  if (found != plans_.end()) return *found->second;
  if (plans_.size() >= kCapacity) plans_.clear();
  return *plans_.emplace(key, make()).first->second;
}

void convForward(DeviceHandles& h, ConvPlanCache& cache, const ConvParams& params, const MathOptions& math,
                 const TensorRef& out, const TensorRef& input, const TensorRef& weight, const TensorRef& bias) {
  if (out.numel() == 0) return;
  const ConvInput x = convInput(h, params, input);
  ConvPlan& plan = measuredPlan<cudnnConvolutionFwdAlgoPerf_t, CUDNN_CONVOLUTION_FWD_ALGO_COUNT>(
      h, cache, "forward", x.params, math, out.dtype, x.layout, weight.layout, out.layout,
      [&](ConvPlan& made, auto* perf, int* found, StreamBuffer& workspace) {
        check(cudnnFindConvolutionForwardAlgorithmEx(h.cudnn(), made.x.get(), x.data, made.w.get(), weight.data,
                                                     made.conv.get(), made.y.get(), out.data,
                                                     CUDNN_CONVOLUTION_FWD_ALGO_COUNT, found, perf, workspace.get(),
                                                     workspace.size()),
              "cudnnFindConvolutionForwardAlgorithmEx");
      },
      [](ConvPlan& made, cudnnConvolutionFwdAlgo_t algo) { made.forwardAlgo = algo; });
  StreamBuffer workspace(plan.workspaceBytes, h.stream());
  check(cudnnConvolutionForward(h.cudnn(), &kOne, plan.x.get(), x.data, plan.w.get(), weight.data, plan.conv.get(),
                                plan.forwardAlgo, workspace.get(), workspace.size(), &kZero, plan.y.get(), out.data),
        "cudnnConvolutionForward");
  if (bias.data != nullptr) {
    if (isHalfDType(out.dtype)) {
      addChannelBias(h, out, bias);
    } else {
      TensorDescriptor biasDesc;
      describeChannels(biasDesc, out.layout, bias.dtype);
      check(cudnnAddTensor(h.cudnn(), &kOne, biasDesc.get(), bias.data, &kOne, plan.y.get(), out.data),
            "convolution bias");
    }
  }
  // In place, with the per-element math the CPU's unary kernels share (kernels/unary.h).
  if (params.activation == ConvActivation::Relu) unary(h, UnaryOp::Relu, out, out, 0.0);
  if (params.activation == ConvActivation::Relu6) unary(h, UnaryOp::Relu6, out, out, 0.0);
  if (params.activation == ConvActivation::Silu) unary(h, UnaryOp::Silu, out, out, 0.0);
}

void convBackwardInput(DeviceHandles& h, ConvPlanCache& cache, const ConvParams& params, const MathOptions& math,
                       const TensorRef& gradInput, const TensorRef& gradOutput, const TensorRef& weight) {
  if (gradInput.numel() == 0) return;
  // With asymmetric padding cuDNN writes the gradient of the padded input; its window is
  // copied out afterwards.
  const bool padExplicitly = isAsymmetric(params);
  const Padded padded = padPlan(gradInput.layout, params);
  std::unique_ptr<StreamBuffer> paddedGrad;
  void* dx = gradInput.data;
  if (padExplicitly) {
    paddedGrad = std::make_unique<StreamBuffer>(padded.layout.numel() * dtypeSize(gradInput.dtype), h.stream());
    dx = paddedGrad->get();
  }
  const Layout& dxLayout = padExplicitly ? padded.layout : gradInput.layout;
  const ConvParams& p = padExplicitly ? padded.params : params;
  ConvPlan& plan = measuredPlan<cudnnConvolutionBwdDataAlgoPerf_t, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT>(
      h, cache, "backward-data", p, math, gradInput.dtype, dxLayout, weight.layout, gradOutput.layout,
      [&](ConvPlan& made, auto* perf, int* found, StreamBuffer& workspace) {
        check(cudnnFindConvolutionBackwardDataAlgorithmEx(h.cudnn(), made.w.get(), weight.data, made.y.get(),
                                                          gradOutput.data, made.conv.get(), made.x.get(), dx,
                                                          CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, found, perf,
                                                          workspace.get(), workspace.size()),
              "cudnnFindConvolutionBackwardDataAlgorithmEx");
      },
      [](ConvPlan& made, cudnnConvolutionBwdDataAlgo_t algo) { made.backwardDataAlgo = algo; });
  StreamBuffer workspace(plan.workspaceBytes, h.stream());
  check(cudnnConvolutionBackwardData(h.cudnn(), &kOne, plan.w.get(), weight.data, plan.y.get(), gradOutput.data,
                                     plan.conv.get(), plan.backwardDataAlgo, workspace.get(), workspace.size(), &kZero,
                                     plan.x.get(), dx),
        "cudnnConvolutionBackwardData");
  if (padExplicitly) windowCopy(h, padded, dx, gradInput, false);
}

void convBackwardWeight(DeviceHandles& h, ConvPlanCache& cache, const ConvParams& params, const MathOptions& math,
                        const TensorRef& gradWeight, const TensorRef& gradBias, const TensorRef& gradOutput,
                        const TensorRef& input) {
  if (input.numel() == 0 || gradOutput.numel() == 0) {
    // An empty batch (a detection head with no RoIs) contributes nothing: zero gradients,
    // as the CPU backend and PyTorch give; cuDNN refuses zero-sized descriptors.
    check(cudaMemsetAsync(gradWeight.data, 0, gradWeight.numel() * dtypeSize(gradWeight.dtype), h.stream()),
          "cudaMemsetAsync");
    if (gradBias.data != nullptr) {
      check(cudaMemsetAsync(gradBias.data, 0, gradBias.numel() * dtypeSize(gradBias.dtype), h.stream()), "cudaMemsetAsync");
    }
    return;
  }
  const ConvInput x = convInput(h, params, input);
  ConvPlan& plan = measuredPlan<cudnnConvolutionBwdFilterAlgoPerf_t, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT>(
      h, cache, "backward-filter", x.params, math, input.dtype, x.layout, gradWeight.layout, gradOutput.layout,
      [&](ConvPlan& made, auto* perf, int* found, StreamBuffer& workspace) {
        check(cudnnFindConvolutionBackwardFilterAlgorithmEx(h.cudnn(), made.x.get(), x.data, made.y.get(),
                                                            gradOutput.data, made.conv.get(), made.w.get(),
                                                            gradWeight.data, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT,
                                                            found, perf, workspace.get(), workspace.size()),
              "cudnnFindConvolutionBackwardFilterAlgorithmEx");
      },
      [](ConvPlan& made, cudnnConvolutionBwdFilterAlgo_t algo) { made.backwardFilterAlgo = algo; });
  StreamBuffer workspace(plan.workspaceBytes, h.stream());
  check(cudnnConvolutionBackwardFilter(h.cudnn(), &kOne, plan.x.get(), x.data, plan.y.get(), gradOutput.data,
                                       plan.conv.get(), plan.backwardFilterAlgo, workspace.get(), workspace.size(),
                                       &kZero, plan.w.get(), gradWeight.data),
        "cudnnConvolutionBackwardFilter");
  if (gradBias.data != nullptr) {
    TensorDescriptor biasDesc;
    describeChannels(biasDesc, gradOutput.layout, gradBias.dtype);
    check(cudnnConvolutionBackwardBias(h.cudnn(), &kOne, plan.y.get(), gradOutput.data, &kZero, biasDesc.get(),
                                       gradBias.data),
          "cudnnConvolutionBackwardBias");
  }
}

// The convolutions one after the other, the intermediates channels-last in stream scratch
// (cuDNN has no such fusion).
void convDepthwiseBlock(DeviceHandles& h, ConvPlanCache& cache, const ConvParams& first, const ConvParams& dw,
                        const ConvParams& project, const MathOptions& math, const TensorRef& out, const TensorRef& input,
                        const TensorRef& weight, const TensorRef& bias, const TensorRef& dwWeight,
                        const TensorRef& dwBias, const TensorRef& projectWeight, const TensorRef& projectBias) {
  if (out.numel() == 0) return;
  const int64_t* k = weight.layout.shape;
  TensorRef middle{nullptr, out.dtype, kernels::convOutputLayout(input.layout, k[0], first, k[2], k[3])};
  StreamBuffer middleBuffer(static_cast<size_t>(middle.numel()) * dtypeSize(out.dtype), h.stream());
  middle.data = middleBuffer.get();
  convForward(h, cache, first, math, middle, input, weight, bias);
  if (!projectWeight.data) {
    convForward(h, cache, dw, math, out, middle, dwWeight, dwBias);
    return;
  }
  const int64_t* d = dwWeight.layout.shape;
  TensorRef depthwise{nullptr, out.dtype, kernels::convOutputLayout(middle.layout, k[0], dw, d[2], d[3])};
  StreamBuffer depthwiseBuffer(static_cast<size_t>(depthwise.numel()) * dtypeSize(out.dtype), h.stream());
  depthwise.data = depthwiseBuffer.get();
  convForward(h, cache, dw, math, depthwise, middle, dwWeight, dwBias);
  convForward(h, cache, project, math, out, depthwise, projectWeight, projectBias);
}

// The primitives this file implements (neocog/primitives.def).
void CudaBackend::convForward(const ConvParams& params, Out out, In input, In weight, OptIn bias,
                              const MathOptions& math) {
  cuda::convForward(handles_, convPlans_, params, math, out, input, weight, bias);
}
void CudaBackend::convDepthwiseBlock(const ConvParams& first, const ConvParams& depthwise, const ConvParams& project,
                                     Out out, In input, In weight, OptIn bias, In depthwiseWeight, OptIn depthwiseBias,
                                     OptIn projectWeight, OptIn projectBias, OptIn residual, const MathOptions& math) {
  cuda::convDepthwiseBlock(handles_, convPlans_, first, depthwise, project, math, out, input, weight, bias,
                           depthwiseWeight, depthwiseBias, projectWeight, projectBias);
  if (residual.data) binary(BinaryOp::Add, out, InputTensor{out}, InputTensor{residual});
}
void CudaBackend::convBackwardInput(const ConvParams& params, Out gradInput, In gradOutput, In weight,
                                    const MathOptions& math) {
  cuda::convBackwardInput(handles_, convPlans_, params, math, gradInput, gradOutput, weight);
}
void CudaBackend::convBackwardWeight(const ConvParams& params, Out gradWeight, OptOut gradBias, In gradOutput, In input,
                                     const MathOptions& math) {
  cuda::convBackwardWeight(handles_, convPlans_, params, math, gradWeight, gradBias, gradOutput, input);
}

}  // namespace neocog::cuda
