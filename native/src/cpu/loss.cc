// Fused cross entropy (math in kernels/loss.h): one pass per position instead of the
// six a composed log-softmax + gather takes, which matters for per-pixel segmentation.
#include <string>

#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"
#include "kernels/loss.h"
#include "kernels/strided.h"
#include "neocog/error.h"

namespace neocog::cpu {

namespace {

void checkTargets(const TensorRef& target, int64_t classes, int64_t ignoreIndex) {
  const int32_t* t = target.as<int32_t>();
  for (int64_t i = 0; i < target.numel(); ++i) {
    const int32_t y = t[kernels::stridedOffset(target.layout, i)];
    if (y != ignoreIndex && (y < 0 || y >= classes)) {
      fail(ErrorKind::Index, "crossEntropy: target " + std::to_string(y) + " is out of range for " +
                                 std::to_string(classes) + " classes");
    }
  }
}

}  // namespace

void crossEntropyForward(const TensorRef& losses, const TensorRef& weights, const TensorRef& logits,
                         const TensorRef& target, const TensorRef& weight, int64_t ignoreIndex, double smoothing) {
  const int64_t classes = logits.layout.shape[1];
  checkTargets(target, classes, ignoreIndex);
  const float* z = logits.as<float>();
  const int32_t* t = target.as<int32_t>();
  const float* w = weight.data ? weight.as<float>() : nullptr;
  float* out = losses.as<float>();
  float* outWeights = weights.as<float>();
  const float s = static_cast<float>(smoothing);
  parallelFor(target.numel(), [&](int64_t i) {
    int64_t base, targetOffset;
    kernels::crossEntropyOffsets(target.layout, logits.layout, i, &base, &targetOffset);
    const int32_t y = t[targetOffset];
    float targetWeight = 0.0f, loss = 0.0f;
    if (y != ignoreIndex) loss = kernels::crossEntropyLoss(z + base, logits.layout.strides[1], classes, w, y, s, &targetWeight);
    out[kernels::stridedOffset(losses.layout, i)] = loss;
    outWeights[kernels::stridedOffset(weights.layout, i)] = targetWeight;
  });
}

void crossEntropyBackward(const TensorRef& gradLogits, const TensorRef& gradLosses, const TensorRef& logits,
                          const TensorRef& target, const TensorRef& weight, int64_t ignoreIndex, double smoothing) {
  const int64_t classes = logits.layout.shape[1];
  const float* z = logits.as<float>();
  const int32_t* t = target.as<int32_t>();
  const float* w = weight.data ? weight.as<float>() : nullptr;
  const float* g = gradLosses.as<float>();
  float* out = gradLogits.as<float>();
  const float s = static_cast<float>(smoothing);
  parallelFor(target.numel(), [&](int64_t i) {
    int64_t base, targetOffset, gradBase, unused;
    kernels::crossEntropyOffsets(target.layout, logits.layout, i, &base, &targetOffset);
    kernels::crossEntropyOffsets(target.layout, gradLogits.layout, i, &gradBase, &unused);
    const int32_t y = t[targetOffset];
    if (y == ignoreIndex) {
      for (int64_t c = 0; c < classes; ++c) out[gradBase + c * gradLogits.layout.strides[1]] = 0.0f;
      return;
    }
    kernels::crossEntropyGrad(z + base, logits.layout.strides[1], classes, w, y, s,
                              g[kernels::stridedOffset(gradLosses.layout, i)], out + gradBase,
                              gradLogits.layout.strides[1]);
  });
}

// The primitives this file implements (neocog/primitives.def).
void CpuBackend::crossEntropyForward(Out losses, Out weights, In logits, In target, OptIn weight, int64_t ignoreIndex,
                                     double smoothing) {
  cpu::crossEntropyForward(losses, weights, logits, target, weight, ignoreIndex, smoothing);
}
void CpuBackend::crossEntropyBackward(Out gradLogits, In gradLosses, In logits, In target, OptIn weight,
                                      int64_t ignoreIndex, double smoothing) {
  cpu::crossEntropyBackward(gradLogits, gradLosses, logits, target, weight, ignoreIndex, smoothing);
}

}  // namespace neocog::cpu
