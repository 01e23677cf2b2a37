// Batch normalization on cuDNN (spatial mode: one mean/variance per channel). cuDNN's
// training call also updates running statistics; it is given factor 1 and the caller's
// mean/var buffers, so they receive the batch mean and unbiased variance, which is turned
// into the biased variance the backend contract (and the CPU backend) returns. The running
// statistics and a fused ReLU use the per-element math the CPU backend shares
// (kernels/batch_norm.h).
#include <vector>

#include "cuda/check.h"
#include "cuda/cudnn_desc.h"
#include "cuda/launch.h"
#include "cuda/cuda_backend.h"
#include "kernels/batch_norm.h"

namespace neocog::cuda {

namespace {

const float kOne = 1.0f, kZero = 0.0f;

// cuDNN wants 4-d or 5-d: [N, C] -> [N, C, 1, 1], [N, C, L] -> [N, C, 1, L].
void describe(const TensorDescriptor& desc, const Layout& l) {
  std::vector<int> dims(l.shape, l.shape + l.ndim), strides(l.strides, l.strides + l.ndim);
  while (dims.size() < 4) {
    dims.insert(dims.begin() + 2, 1);
    strides.insert(strides.begin() + 2, strides[1]);
  }
  check(cudnnSetTensorNdDescriptor(desc.get(), CUDNN_DATA_FLOAT, static_cast<int>(dims.size()), dims.data(), strides.data()),
        "batchNorm (tensor descriptor)");
}

__global__ void fillKernel(float* data, float value, int64_t n) {
  NC_GRID_STRIDE_LOOP(i, n) { data[i] = value; }
}

// var holds cuDNN's unbiased batch variance: made biased, and the running statistics (when
// given) moved toward the batch's.
__global__ void batchStatisticsKernel(float* var, const float* mean, float* runningMean, float* runningVar, double count,
                                      double momentum, int64_t channels) {
  NC_GRID_STRIDE_LOOP(c, channels) {
    const float biased = static_cast<float>(var[c] * ((count - 1.0) / count));
    var[c] = biased;
    if (runningMean == nullptr && runningVar == nullptr) continue;
    float rm = runningMean ? runningMean[c] : 0.0f, rv = runningVar ? runningVar[c] : 0.0f;
    kernels::updateRunningStatistics(&rm, &rv, mean[c], biased, count, momentum);
    if (runningMean) runningMean[c] = rm;
    if (runningVar) runningVar[c] = rv;
  }
}

// The fused ReLU's output gradient passed back to the normalization, over dense operands
// (element i is in channel (i / inner) % channels).
__global__ void reluGradientKernel(float* out, const float* g, const float* x, const float* mean, const float* var,
                                   const float* weight, const float* bias, float eps, int64_t inner, int64_t channels,
                                   int64_t n) {
  NC_GRID_STRIDE_LOOP(i, n) {
    const int64_t c = (i / inner) % channels;
    const float scale = (weight ? weight[c] : 1.0f) * rsqrtf(var[c] + eps);
    out[i] = kernels::reluGradientThrough(g[i], x[i], mean[c], scale, bias ? bias[c] : 0.0f);
  }
}

__global__ void invStdKernel(float* out, const float* var, float eps, int64_t n) {
  NC_GRID_STRIDE_LOOP(i, n) { out[i] = rsqrtf(var[i] + eps); }
}

// Scale and bias for cuDNN, which always applies them: ones and zeros when absent.
struct Affine {
  std::unique_ptr<StreamBuffer> ones, zeros;
  const void* scale;
  const void* bias;
};

Affine affineOf(DeviceHandles& h, const TensorRef& weight, const TensorRef& bias, int64_t channels) {
  Affine a;
  if (weight.data != nullptr) {
    a.scale = weight.data;
    a.bias = bias.data;
    return a;
  }
  a.ones = std::make_unique<StreamBuffer>(channels * sizeof(float), h.stream());
  a.zeros = std::make_unique<StreamBuffer>(channels * sizeof(float), h.stream());
  fillKernel<<<gridFor(channels), kBlockSize, 0, h.stream()>>>(static_cast<float*>(a.ones->get()), 1.0f, channels);
  checkLaunch("batchNorm");
  check(cudaMemsetAsync(a.zeros->get(), 0, channels * sizeof(float), h.stream()), "batchNorm");
  a.scale = a.ones->get();
  a.bias = a.zeros->get();
  return a;
}

}  // namespace

void batchNormForward(DeviceHandles& h, const TensorRef& out, const TensorRef& input, const TensorRef& weight,
                      const TensorRef& bias, const TensorRef& mean, const TensorRef& var, const TensorRef& runningMean,
                      const TensorRef& runningVar, bool training, double eps, double momentum, bool relu) {
  if (input.numel() == 0) return;
  const int64_t channels = input.layout.shape[1];
  TensorDescriptor x, y, stats;
  describe(x, input.layout);
  describe(y, out.layout);
  check(cudnnDeriveBNTensorDescriptor(stats.get(), x.get(), CUDNN_BATCHNORM_SPATIAL), "batchNorm (statistics descriptor)");
  const Affine affine = affineOf(h, weight, bias, channels);
  if (!training) {
    check(cudnnBatchNormalizationForwardInference(h.cudnn(), CUDNN_BATCHNORM_SPATIAL, &kOne, &kZero, x.get(), input.data,
                                                  y.get(), out.data, stats.get(), affine.scale, affine.bias, mean.data,
                                                  var.data, eps),
          "batchNorm (cudnnBatchNormalizationForwardInference)");
  } else {
    StreamBuffer saveMean(channels * sizeof(float), h.stream()), saveInvStd(channels * sizeof(float), h.stream());
    check(cudnnBatchNormalizationForwardTraining(h.cudnn(), CUDNN_BATCHNORM_SPATIAL, &kOne, &kZero, x.get(), input.data,
                                                 y.get(), out.data, stats.get(), affine.scale, affine.bias, 1.0, mean.data,
                                                 var.data, eps, saveMean.get(), saveInvStd.get()),
          "batchNorm (cudnnBatchNormalizationForwardTraining)");
    const double count = static_cast<double>(input.numel() / channels);
    batchStatisticsKernel<<<gridFor(channels), kBlockSize, 0, h.stream()>>>(
        var.as<float>(), mean.as<float>(), runningMean.data ? runningMean.as<float>() : nullptr,
        runningVar.data ? runningVar.as<float>() : nullptr, count, momentum, channels);
    checkLaunch("batchNorm");
  }
  if (relu) unary(h, UnaryOp::Relu, out, out, 0.0);
}

void batchNormBackward(DeviceHandles& h, const TensorRef& gradInput, const TensorRef& gradWeight,
                       const TensorRef& gradBias, const TensorRef& gradOutput, const TensorRef& input,
                       const TensorRef& weight, const TensorRef& bias, const TensorRef& mean, const TensorRef& var,
                       double eps, bool relu) {
  if (input.numel() == 0) return;
  const int64_t channels = input.layout.shape[1];
  // A fused ReLU's gradient first goes through its mask, into scratch laid out as gradOutput.
  const int64_t n = input.numel();
  StreamBuffer masked(relu ? n * sizeof(float) : 0, h.stream());
  if (relu) {
    const int64_t inner = channels == 1 ? n : input.layout.strides[1];
    reluGradientKernel<<<gridFor(n), kBlockSize, 0, h.stream()>>>(
        static_cast<float*>(masked.get()), gradOutput.as<float>(), input.as<float>(), mean.as<float>(), var.as<float>(),
        weight.data ? weight.as<float>() : nullptr, bias.data ? bias.as<float>() : nullptr, static_cast<float>(eps),
        inner, channels, n);
    checkLaunch("batchNorm backward");
  }
  const void* dyData = relu ? masked.get() : gradOutput.data;
  TensorDescriptor x, dy, dx, stats;
  describe(x, input.layout);
  describe(dy, gradOutput.layout);
  describe(dx, gradInput.layout);
  check(cudnnDeriveBNTensorDescriptor(stats.get(), x.get(), CUDNN_BATCHNORM_SPATIAL), "batchNorm backward (descriptor)");
  const Affine affine = affineOf(h, weight, weight, channels);
  StreamBuffer invStd(channels * sizeof(float), h.stream());
  invStdKernel<<<gridFor(channels), kBlockSize, 0, h.stream()>>>(static_cast<float*>(invStd.get()), var.as<float>(),
                                                                 static_cast<float>(eps), channels);
  checkLaunch("batchNorm backward");
  // Without weight, cuDNN still writes parameter gradients: give it scratch.
  StreamBuffer scratch(weight.data ? 0 : 2 * channels * sizeof(float), h.stream());
  void* dScale = weight.data ? gradWeight.data : scratch.get();
  void* dBias = weight.data ? gradBias.data : static_cast<char*>(scratch.get()) + channels * sizeof(float);
  check(cudnnBatchNormalizationBackward(h.cudnn(), CUDNN_BATCHNORM_SPATIAL, &kOne, &kZero, &kOne, &kZero, x.get(),
                                        input.data, dy.get(), dyData, dx.get(), gradInput.data, stats.get(),
                                        affine.scale, dScale, dBias, eps, mean.data, invStd.get()),
        "batchNorm backward (cudnnBatchNormalizationBackward)");
}

// The primitives this file implements (neocog/primitives.def).
void CudaBackend::batchNormForward(Out out, In input, OptIn weight, OptIn bias, InOut mean, InOut variance,
                                   OptInOut runningMean, OptInOut runningVar, bool training, double eps, double momentum,
                                   bool relu) {
  cuda::batchNormForward(handles_, out, input, weight, bias, mean, variance, runningMean, runningVar, training, eps,
                         momentum, relu);
}
void CudaBackend::batchNormBackward(Out gradInput, OptOut gradWeight, OptOut gradBias, In gradOutput, In input,
                                    OptIn weight, OptIn bias, In mean, In variance, double eps, bool relu) {
  cuda::batchNormBackward(handles_, gradInput, gradWeight, gradBias, gradOutput, input, weight, bias, mean, variance, eps,
                          relu);
}

}  // namespace neocog::cuda
