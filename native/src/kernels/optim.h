// Per-element math of the fused optimizer steps, one copy for CPU and CUDA, with
// torch.optim's formulas and order of operations (so results match it to float rounding).
#pragma once

#include <cmath>

#include "kernels/host_device.h"
#include "neocog/op_params.h"

namespace neocog::kernels {

// Updates p (and the state elements s0..s2, per OptimizerTensors' slots) from gradient g.
// Unused state slots may point anywhere writable. The kind is a template argument so that
// the CPU loop over elements holds one branch-free formula the compiler can vectorise.
template <OptimizerKind Kind>
NC_HOST_DEVICE void optimizerUpdate(const OptimizerStep& o, float* p, float g, float* s0, float* s1, float* s2) {
  float x = *p;
  switch (Kind) {
    case OptimizerKind::Sgd: {
      float d = o.weightDecay != 0.0f ? g + o.weightDecay * x : g;
      if (o.momentum != 0.0f) {
        const float buffer = o.firstStep ? d : *s0 * o.momentum + (1.0f - o.dampening) * d;
        *s0 = buffer;
        d = o.nesterov ? d + o.momentum * buffer : buffer;
      }
      *p = x - o.lr * d;
      return;
    }
    case OptimizerKind::Adam: {
      if (o.decoupledWeightDecay) {
        x *= 1.0f - o.lr * o.weightDecay;
      } else if (o.weightDecay != 0.0f) {
        g += o.weightDecay * x;
      }
      const float m = *s0 * o.beta1 + (1.0f - o.beta1) * g;
      const float v = *s1 * o.beta2 + (1.0f - o.beta2) * g * g;
      *s0 = m;
      *s1 = v;
      const float denominator = sqrtf(v) / o.biasCorrection2Sqrt + o.eps;
      *p = x - (o.lr / o.biasCorrection1) * (m / denominator);
      return;
    }
    case OptimizerKind::RmsProp: {
      if (o.weightDecay != 0.0f) g += o.weightDecay * x;
      const float square = *s0 * o.alpha + (1.0f - o.alpha) * g * g;
      *s0 = square;
      float average;
      if (o.centered) {
        const float mean = *s2 * o.alpha + (1.0f - o.alpha) * g;
        *s2 = mean;
        average = sqrtf(square - mean * mean) + o.eps;
      } else {
        average = sqrtf(square) + o.eps;
      }
      if (o.momentum > 0.0f) {
        const float buffer = *s1 * o.momentum + g / average;
        *s1 = buffer;
        *p = x - o.lr * buffer;
      } else {
        *p = x - o.lr * (g / average);
      }
      return;
    }
  }
}

// GradScaler's unscale of one gradient element; false when the result is inf or NaN (the
// result, not the input, so that an inverse scale above 1 cannot overflow unnoticed).
NC_HOST_DEVICE bool unscaleElement(float* g, float inverseScale) {
  const float v = *g * inverseScale;
  *g = v;
  return v - v == 0.0f;  // finite: inf - inf and NaN - NaN are NaN
}

}  // namespace neocog::kernels
