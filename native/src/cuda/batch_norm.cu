// Batch normalization on cuDNN (spatial mode: one mean/variance per channel). cuDNN's
// training call also updates running statistics; it is given factor 1 and the caller's
// mean/var buffers, so they receive the batch mean and unbiased variance, which is turned
// into the biased variance the backend contract (and the CPU backend) returns.
#include <vector>

#include "cuda/check.h"
#include "cuda/cudnn_desc.h"
#include "cuda/launch.h"
#include "cuda/cuda_backend.h"

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

__global__ void scaleKernel(float* data, float factor, int64_t n) {
  NC_GRID_STRIDE_LOOP(i, n) { data[i] *= factor; }
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
                      const TensorRef& bias, const TensorRef& mean, const TensorRef& var, bool training, double eps) {
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
    return;
  }
  StreamBuffer saveMean(channels * sizeof(float), h.stream()), saveInvStd(channels * sizeof(float), h.stream());
  check(cudnnBatchNormalizationForwardTraining(h.cudnn(), CUDNN_BATCHNORM_SPATIAL, &kOne, &kZero, x.get(), input.data,
                                               y.get(), out.data, stats.get(), affine.scale, affine.bias, 1.0, mean.data,
                                               var.data, eps, saveMean.get(), saveInvStd.get()),
        "batchNorm (cudnnBatchNormalizationForwardTraining)");
  const int64_t count = input.numel() / channels;
  scaleKernel<<<gridFor(channels), kBlockSize, 0, h.stream()>>>(var.as<float>(),
                                                                static_cast<float>(count - 1) / static_cast<float>(count),
                                                                channels);
  checkLaunch("batchNorm");
}

void batchNormBackward(DeviceHandles& h, const TensorRef& gradInput, const TensorRef& gradWeight,
                       const TensorRef& gradBias, const TensorRef& gradOutput, const TensorRef& input,
                       const TensorRef& weight, const TensorRef& mean, const TensorRef& var, double eps) {
  if (input.numel() == 0) return;
  const int64_t channels = input.layout.shape[1];
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
                                        input.data, dy.get(), gradOutput.data, dx.get(), gradInput.data, stats.get(),
                                        affine.scale, dScale, dBias, eps, mean.data, invStd.get()),
        "batchNorm backward (cudnnBatchNormalizationBackward)");
}

// The primitives this file implements (neocog/primitives.def).
void CudaBackend::batchNormForward(Out out, In input, OptIn weight, OptIn bias, InOut mean, InOut variance,
                                   bool training, double eps) {
  cuda::batchNormForward(handles_, out, input, weight, bias, mean, variance, training, eps);
}
void CudaBackend::batchNormBackward(Out gradInput, OptOut gradWeight, OptOut gradBias, In gradOutput, In input,
                                    OptIn weight, In mean, In variance, double eps) {
  cuda::batchNormBackward(handles_, gradInput, gradWeight, gradBias, gradOutput, input, weight, mean, variance, eps);
}

}  // namespace neocog::cuda
