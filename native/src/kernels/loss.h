// Fused cross entropy from logits, one copy for CPU and CUDA. Per position i of the target
// (logits[n, :, s] for target[n, s]), with p = softmax over classes, w the class weights
// (1 when absent), W = sum_c w[c] and smoothing s:
//   loss_i      = -(1 - s) w[y] log p[y] - (s / C) sum_c w[c] log p[c]
//   dloss/dz_c  = (1 - s) w[y] (p[c] - [c == y]) + (s / C) (p[c] W - w[c])
// log p is z - logsumexp(z), with the max subtracted first for stability.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/host_device.h"
#include "neocog/layout.h"

namespace neocog::kernels {

// Offset of logits[n, 0, s] and of target[n, s] for target element `linear`.
NC_HOST_DEVICE void crossEntropyOffsets(const Layout& targetL, const Layout& logitsL, int64_t linear,
                                        int64_t* logitsBase, int64_t* targetOffset) {
  int64_t base = 0, offset = 0;
  for (int d = targetL.ndim - 1; d >= 0; --d) {
    const int64_t coord = linear % targetL.shape[d];
    linear /= targetL.shape[d];
    offset += coord * targetL.strides[d];
    base += coord * logitsL.strides[d == 0 ? 0 : d + 1];  // logits have the class dim at 1
  }
  *logitsBase = base;
  *targetOffset = offset;
}

struct ClassStats {
  float maxLogit;
  float logSumExp;  // log sum_c exp(z_c - maxLogit)
  float weightSum;  // W
};

NC_HOST_DEVICE ClassStats classStats(const float* z, int64_t stride, int64_t classes, const float* weight) {
  float m = -INFINITY;
  for (int64_t c = 0; c < classes; ++c) m = z[c * stride] > m ? z[c * stride] : m;
  float sum = 0.0f, weights = 0.0f;
  for (int64_t c = 0; c < classes; ++c) {
    sum += expf(z[c * stride] - m);
    weights += weight ? weight[c] : 1.0f;
  }
  return {m, logf(sum), weights};
}

NC_HOST_DEVICE float crossEntropyLoss(const float* z, int64_t stride, int64_t classes, const float* weight, int32_t y,
                                      float smoothing, float* targetWeight) {
  const ClassStats st = classStats(z, stride, classes, weight);
  const float wy = weight ? weight[y] : 1.0f;
  *targetWeight = wy;
  float loss = -(1.0f - smoothing) * wy * (z[y * stride] - st.maxLogit - st.logSumExp);
  if (smoothing > 0.0f) {
    float weightedLogP = 0.0f;
    for (int64_t c = 0; c < classes; ++c) {
      weightedLogP += (weight ? weight[c] : 1.0f) * (z[c * stride] - st.maxLogit - st.logSumExp);
    }
    loss -= smoothing / static_cast<float>(classes) * weightedLogP;
  }
  return loss;
}

// Writes d loss / d z_c * g for every class c of one position.
NC_HOST_DEVICE void crossEntropyGrad(const float* z, int64_t stride, int64_t classes, const float* weight, int32_t y,
                                     float smoothing, float g, float* out, int64_t outStride) {
  const ClassStats st = classStats(z, stride, classes, weight);
  const float wy = weight ? weight[y] : 1.0f;
  const float share = smoothing / static_cast<float>(classes);
  for (int64_t c = 0; c < classes; ++c) {
    const float p = expf(z[c * stride] - st.maxLogit - st.logSumExp);
    const float wc = weight ? weight[c] : 1.0f;
    const float d = (1.0f - smoothing) * wy * (p - (c == y ? 1.0f : 0.0f)) + share * (p * st.weightSum - wc);
    out[c * outStride] = g * d;
  }
}

}  // namespace neocog::kernels
