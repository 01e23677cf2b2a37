// Per-element math of the unary ops and their derivatives, one copy for CPU and CUDA.
// Derivatives follow PyTorch's autograd formulas (e.g. relu'(0) = 0, gelu is the exact
// erf form, hardswish'(x) = x / 3 + 0.5 on [-3, 3]).
#pragma once

#include <cmath>
#include <type_traits>

#include "kernels/host_device.h"
#include "neocog/backend.h"

namespace neocog::kernels {

NC_HOST_DEVICE float sigmoidOf(float x) { return 1.0f / (1.0f + expf(-x)); }

// Float ops; integer tensors only reach Neg, Abs, Square and Relu (lib/ops/unary.ts).
template <typename T>
NC_HOST_DEVICE T unaryOp(UnaryOp op, T v, float alpha) {
  if constexpr (std::is_same_v<T, bool> || std::is_unsigned_v<T>) {
    return op == UnaryOp::Square ? static_cast<T>(v * v) : v;  // neg/abs/relu are not offered for these
  } else if constexpr (std::is_integral_v<T>) {
    switch (op) {
      case UnaryOp::Neg: return static_cast<T>(-v);
      case UnaryOp::Abs: return v < 0 ? static_cast<T>(-v) : v;
      case UnaryOp::Square: return static_cast<T>(v * v);
      case UnaryOp::Relu: return v > 0 ? v : T(0);
      default: return v;
    }
  } else {
    const float x = v;
    switch (op) {
      case UnaryOp::Neg: return -x;
      case UnaryOp::Abs: return fabsf(x);
      case UnaryOp::Exp: return expf(x);
      case UnaryOp::Log: return logf(x);
      case UnaryOp::Sqrt: return sqrtf(x);
      // `x > 0 ? x : 0` rather than fmaxf: NaN must propagate as in torch.relu.
      case UnaryOp::Relu: return x > 0.0f ? x : (x != x ? x : 0.0f);
      case UnaryOp::Sigmoid: return sigmoidOf(x);
      case UnaryOp::Tanh: return tanhf(x);
      case UnaryOp::LeakyRelu: return x > 0.0f ? x : x * alpha;
      case UnaryOp::Elu: return x > 0.0f ? x : alpha * (expf(x) - 1.0f);
      case UnaryOp::Gelu: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
      case UnaryOp::Silu: return x * sigmoidOf(x);
      case UnaryOp::Hardswish: return x <= -3.0f ? 0.0f : (x >= 3.0f ? x : x * (x + 3.0f) / 6.0f);
      case UnaryOp::Square: return x * x;
      case UnaryOp::Reciprocal: return 1.0f / x;
    }
    return x;
  }
}

// d f(x) / dx, float only (integer ops are not differentiable).
NC_HOST_DEVICE float unaryDerivative(UnaryOp op, float x, float alpha) {
  switch (op) {
    case UnaryOp::Neg: return -1.0f;
    case UnaryOp::Abs: return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : 0.0f);
    case UnaryOp::Exp: return expf(x);
    case UnaryOp::Log: return 1.0f / x;
    case UnaryOp::Sqrt: return 0.5f / sqrtf(x);
    case UnaryOp::Relu: return x > 0.0f ? 1.0f : 0.0f;
    case UnaryOp::Sigmoid: {
      const float s = sigmoidOf(x);
      return s * (1.0f - s);
    }
    case UnaryOp::Tanh: {
      const float t = tanhf(x);
      return 1.0f - t * t;
    }
    case UnaryOp::LeakyRelu: return x > 0.0f ? 1.0f : alpha;
    case UnaryOp::Elu: return x > 0.0f ? 1.0f : alpha * expf(x);
    case UnaryOp::Gelu: {
      const float cdf = 0.5f * (1.0f + erff(x * 0.70710678118654752f));
      const float pdf = 0.39894228040143268f * expf(-0.5f * x * x);
      return cdf + x * pdf;
    }
    case UnaryOp::Silu: {
      const float s = sigmoidOf(x);
      return s * (1.0f + x * (1.0f - s));
    }
    case UnaryOp::Hardswish: return x < -3.0f ? 0.0f : (x <= 3.0f ? x / 3.0f + 0.5f : 1.0f);
    case UnaryOp::Square: return 2.0f * x;
    case UnaryOp::Reciprocal: return -1.0f / (x * x);
  }
  return 0.0f;
}

}  // namespace neocog::kernels
