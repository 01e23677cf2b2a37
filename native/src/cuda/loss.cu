// Fused cross entropy on the GPU (math in kernels/loss.h): one thread per position.
#include <string>

#include "cuda/check.h"
#include "cuda/cudnn_desc.h"
#include "cuda/launch.h"
#include "cuda/cuda_backend.h"
#include "kernels/loss.h"
#include "kernels/strided.h"

namespace neocog::cuda {

namespace {

__global__ void targetCheckKernel(const int32_t* target, Layout layout, int64_t n, int64_t classes, int64_t ignore,
                                  int32_t* bad, int32_t* found) {
  NC_GRID_STRIDE_LOOP(i, n) {
    const int32_t y = target[kernels::stridedOffset(layout, i)];
    if (y != ignore && (y < 0 || y >= classes) && atomicExch(found, 1) == 0) *bad = y;
  }
}

__global__ void forwardKernel(float* losses, Layout lossesL, float* weights, Layout weightsL, const float* z,
                              Layout logitsL, const int32_t* target, Layout targetL, const float* w, int64_t ignore,
                              float smoothing, int64_t n) {
  NC_GRID_STRIDE_LOOP(i, n) {
    int64_t base, targetOffset;
    kernels::crossEntropyOffsets(targetL, logitsL, i, &base, &targetOffset);
    const int32_t y = target[targetOffset];
    float targetWeight = 0.0f, loss = 0.0f;
    if (y != ignore) loss = kernels::crossEntropyLoss(z + base, logitsL.strides[1], logitsL.shape[1], w, y, smoothing, &targetWeight);
    losses[kernels::stridedOffset(lossesL, i)] = loss;
    weights[kernels::stridedOffset(weightsL, i)] = targetWeight;
  }
}

__global__ void backwardKernel(float* grad, Layout gradL, const float* g, Layout gL, const float* z, Layout logitsL,
                               const int32_t* target, Layout targetL, const float* w, int64_t ignore, float smoothing,
                               int64_t n) {
  NC_GRID_STRIDE_LOOP(i, n) {
    int64_t base, targetOffset, gradBase, unused;
    kernels::crossEntropyOffsets(targetL, logitsL, i, &base, &targetOffset);
    kernels::crossEntropyOffsets(targetL, gradL, i, &gradBase, &unused);
    const int32_t y = target[targetOffset];
    if (y == ignore) {
      for (int64_t c = 0; c < logitsL.shape[1]; ++c) grad[gradBase + c * gradL.strides[1]] = 0.0f;
      continue;
    }
    kernels::crossEntropyGrad(z + base, logitsL.strides[1], logitsL.shape[1], w, y, smoothing,
                              g[kernels::stridedOffset(gL, i)], grad + gradBase, gradL.strides[1]);
  }
}

}  // namespace

void crossEntropyForward(DeviceHandles& h, const TensorRef& losses, const TensorRef& weights, const TensorRef& logits,
                         const TensorRef& target, const TensorRef& weight, int64_t ignoreIndex, double smoothing) {
  const int64_t n = target.numel();
  if (n == 0) return;
  StreamBuffer flags(2 * sizeof(int32_t), h.stream());
  check(cudaMemsetAsync(flags.get(), 0, flags.size(), h.stream()), "crossEntropy");
  int32_t* f = static_cast<int32_t*>(flags.get());
  targetCheckKernel<<<gridFor(n), kBlockSize, 0, h.stream()>>>(target.as<int32_t>(), target.layout, n,
                                                               logits.layout.shape[1], ignoreIndex, f, f + 1);
  checkLaunch("crossEntropy");
  int32_t host[2] = {0, 0};
  check(cudaMemcpyAsync(host, f, sizeof(host), cudaMemcpyDeviceToHost, h.stream()), "crossEntropy");
  check(cudaStreamSynchronize(h.stream()), "crossEntropy");
  if (host[1] != 0) {
    fail(ErrorKind::Index, "crossEntropy: target " + std::to_string(host[0]) + " is out of range for " +
                               std::to_string(logits.layout.shape[1]) + " classes");
  }
  forwardKernel<<<gridFor(n), kBlockSize, 0, h.stream()>>>(
      losses.as<float>(), losses.layout, weights.as<float>(), weights.layout, logits.as<float>(), logits.layout,
      target.as<int32_t>(), target.layout, weight.data ? weight.as<float>() : nullptr, ignoreIndex,
      static_cast<float>(smoothing), n);
  checkLaunch("crossEntropy");
}

void crossEntropyBackward(DeviceHandles& h, const TensorRef& gradLogits, const TensorRef& gradLosses,
                          const TensorRef& logits, const TensorRef& target, const TensorRef& weight, int64_t ignoreIndex,
                          double smoothing) {
  const int64_t n = target.numel();
  if (n == 0) return;
  backwardKernel<<<gridFor(n), kBlockSize, 0, h.stream()>>>(
      gradLogits.as<float>(), gradLogits.layout, gradLosses.as<float>(), gradLosses.layout, logits.as<float>(),
      logits.layout, target.as<int32_t>(), target.layout, weight.data ? weight.as<float>() : nullptr, ignoreIndex,
      static_cast<float>(smoothing), n);
  checkLaunch("crossEntropy backward");
}

// The primitives this file implements (neocog/primitives.def).
void CudaBackend::crossEntropyForward(Out losses, Out weights, In logits, In target, OptIn weight, int64_t ignoreIndex,
                                      double smoothing) {
  cuda::crossEntropyForward(handles_, losses, weights, logits, target, weight, ignoreIndex, smoothing);
}
void CudaBackend::crossEntropyBackward(Out gradLogits, In gradLosses, In logits, In target, OptIn weight,
                                       int64_t ignoreIndex, double smoothing) {
  cuda::crossEntropyBackward(handles_, gradLogits, gradLosses, logits, target, weight, ignoreIndex, smoothing);
}

}  // namespace neocog::cuda
