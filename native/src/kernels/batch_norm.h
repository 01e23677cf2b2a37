// Per-channel and per-element math of batch normalization shared by the CPU and CUDA
// backends: the running-statistics update and the gradient mask of a fused ReLU.
#pragma once

#include "kernels/host_device.h"

namespace neocog::kernels {

// running = (1 - momentum) * running + momentum * batch for the mean and for the variance
// made unbiased (count / (count - 1)), in double as PyTorch's CPU kernel (its accumulate
// type for float).
NC_HOST_DEVICE void updateRunningStatistics(float* runningMean, float* runningVar, float batchMean, float batchVar,
                                            double count, double momentum) {
  const double unbiased = static_cast<double>(batchVar) * count / (count - 1.0);
  *runningMean = static_cast<float>(momentum * batchMean + (1.0 - momentum) * *runningMean);
  *runningVar = static_cast<float>(momentum * unbiased + (1.0 - momentum) * *runningVar);
}

// The normalized value (x - mean) * scale + shift (scale = weight / sqrt(var + eps)), as
// the forward writes it: subtracting the mean first keeps the digits of a small spread
// around a large mean.
NC_HOST_DEVICE float normalizedValue(float x, float mean, float scale, float shift) { return (x - mean) * scale + shift; }

// A fused ReLU's output gradient g passed back to the normalization: g where the
// normalized value was positive, 0 elsewhere (relu'(0) = 0 and NaN passes nothing, as
// PyTorch's threshold_backward on the ReLU's result).
NC_HOST_DEVICE float reluGradientThrough(float g, float x, float mean, float scale, float shift) {
  return normalizedValue(x, mean, scale, shift) > 0.0f ? g : 0.0f;
}

}  // namespace neocog::kernels
