// Per-element math of the unary ops and their derivatives, one copy for CPU and CUDA.
// Derivatives follow PyTorch's autograd formulas (e.g. relu'(0) = 0, gelu is the exact
// erf form, hardswish'(x) = x / 3 + 0.5 on [-3, 3]).
#pragma once

#include <cmath>
#include <type_traits>

#include "kernels/half.h"
#include "kernels/host_device.h"
#include "neocog/op_params.h"

namespace neocog::kernels {

NC_HOST_DEVICE float sigmoidOf(float x) { return 1.0f / (1.0f + expf(-x)); }

// f(v) for one op known at compile time: a few instructions the CPU loops inline and
// vectorise. Float ops; integer tensors only reach Neg, Abs, Square, Relu and the
// rounding ops, which leave integers as they are (lib/ops/unary.ts).
template <UnaryOp Op, typename T>
NC_HOST_DEVICE T unaryOpOf(T v, float alpha) {
  if constexpr (isHalfType<T>) {
    return fromFloat<T>(unaryOpOf<Op, float>(toFloat(v), alpha));  // 16-bit floats compute in float32
  } else if constexpr (std::is_same_v<T, bool> || std::is_unsigned_v<T>) {
    return Op == UnaryOp::Square ? static_cast<T>(v * v) : v;  // neg/abs/relu are not offered for these
  } else if constexpr (std::is_integral_v<T>) {
    if constexpr (Op == UnaryOp::Neg) return static_cast<T>(-v);
    else if constexpr (Op == UnaryOp::Abs) return v < 0 ? static_cast<T>(-v) : v;
    else if constexpr (Op == UnaryOp::Square) return static_cast<T>(v * v);
    else if constexpr (Op == UnaryOp::Relu) return v > 0 ? v : T(0);
    else return v;
  } else {
    const float x = v;
    if constexpr (Op == UnaryOp::Neg) return -x;
    else if constexpr (Op == UnaryOp::Abs) return fabsf(x);
    else if constexpr (Op == UnaryOp::Exp) return expf(x);
    else if constexpr (Op == UnaryOp::Log) return logf(x);
    else if constexpr (Op == UnaryOp::Sqrt) return sqrtf(x);
    // `x > 0 ? x : 0` rather than fmaxf: NaN must propagate as in torch.relu.
    else if constexpr (Op == UnaryOp::Relu) return x > 0.0f ? x : (x != x ? x : 0.0f);
    else if constexpr (Op == UnaryOp::Relu6) return x >= 6.0f ? 6.0f : (x > 0.0f ? x : (x != x ? x : 0.0f));
    else if constexpr (Op == UnaryOp::Sigmoid) return sigmoidOf(x);
    else if constexpr (Op == UnaryOp::Tanh) return tanhf(x);
    else if constexpr (Op == UnaryOp::LeakyRelu) return x > 0.0f ? x : x * alpha;
    else if constexpr (Op == UnaryOp::Elu) return x > 0.0f ? x : alpha * (expf(x) - 1.0f);
    else if constexpr (Op == UnaryOp::Gelu) return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    else if constexpr (Op == UnaryOp::Silu) return x * sigmoidOf(x);
    else if constexpr (Op == UnaryOp::Hardswish) return x <= -3.0f ? 0.0f : (x >= 3.0f ? x : x * (x + 3.0f) / 6.0f);
    else if constexpr (Op == UnaryOp::Square) return x * x;
    else if constexpr (Op == UnaryOp::Floor) return floorf(x);
    else if constexpr (Op == UnaryOp::Ceil) return ceilf(x);
    else if constexpr (Op == UnaryOp::Round) return rintf(x);  // half to even (default rounding mode)
    else return 1.0f / x;  // Reciprocal
  }
}

// Whether an op's derivative is written in its output y = f(x) rather than its input, as
// PyTorch's autograd does for these (tanh_backward, sigmoid_backward, exp's): 1 - y^2 costs
// a multiply where tanh'(x) would recompute tanh. unaryBackward then receives y.
NC_HOST_DEVICE constexpr bool derivativeFromOutput(UnaryOp op) {
  return op == UnaryOp::Tanh || op == UnaryOp::Sigmoid || op == UnaryOp::Exp;
}

// d f(x) / dx for one op known at compile time, float only (integer ops are not differentiable);
// `x` is the op's output y for the ops of derivativeFromOutput().
template <UnaryOp Op>
NC_HOST_DEVICE float unaryDerivativeOf(float x, float alpha) {
  if constexpr (Op == UnaryOp::Neg) return -1.0f;
  else if constexpr (Op == UnaryOp::Abs) return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : 0.0f);
  else if constexpr (Op == UnaryOp::Exp) return x;  // y
  else if constexpr (Op == UnaryOp::Log) return 1.0f / x;
  else if constexpr (Op == UnaryOp::Sqrt) return 0.5f / sqrtf(x);
  else if constexpr (Op == UnaryOp::Relu) return x > 0.0f ? 1.0f : 0.0f;
  else if constexpr (Op == UnaryOp::Relu6) return x > 0.0f && x < 6.0f ? 1.0f : 0.0f;  // 0 at both bounds, as hardtanh
  else if constexpr (Op == UnaryOp::Sigmoid) return x * (1.0f - x);  // y (1 - y)
  else if constexpr (Op == UnaryOp::Tanh) return 1.0f - x * x;       // 1 - y^2
  else if constexpr (Op == UnaryOp::LeakyRelu) return x > 0.0f ? 1.0f : alpha;
  else if constexpr (Op == UnaryOp::Elu) return x > 0.0f ? 1.0f : alpha * expf(x);
  else if constexpr (Op == UnaryOp::Gelu) {
    const float cdf = 0.5f * (1.0f + erff(x * 0.70710678118654752f));
    const float pdf = 0.39894228040143268f * expf(-0.5f * x * x);
    return cdf + x * pdf;
  } else if constexpr (Op == UnaryOp::Silu) {
    const float s = sigmoidOf(x);
    return s * (1.0f + x * (1.0f - s));
  } else if constexpr (Op == UnaryOp::Hardswish) return x < -3.0f ? 0.0f : (x <= 3.0f ? x / 3.0f + 0.5f : 1.0f);
  else if constexpr (Op == UnaryOp::Square) return 2.0f * x;
  else if constexpr (Op == UnaryOp::Floor || Op == UnaryOp::Ceil || Op == UnaryOp::Round) return 0.0f;  // steps
  else return -1.0f / (x * x);  // Reciprocal
}

#define NC_UNARY_OPS(X) \
  X(Neg) X(Abs) X(Exp) X(Log) X(Sqrt) X(Relu) X(Sigmoid) X(Tanh) X(LeakyRelu) X(Elu) X(Gelu) X(Silu) X(Hardswish) \
  X(Square) X(Floor) X(Ceil) X(Round) X(Relu6)

// Calls fn with `op` as a compile-time constant (std::integral_constant), so a loop inside
// fn is one op's plain loop (CPU).
template <typename Fn>
decltype(auto) withUnaryOp(UnaryOp op, Fn&& fn) {
  switch (op) {
#define NC_CASE(name) \
  case UnaryOp::name: return fn(std::integral_constant<UnaryOp, UnaryOp::name>{});
    NC_UNARY_OPS(NC_CASE)
#undef NC_CASE
    default: return fn(std::integral_constant<UnaryOp, UnaryOp::Reciprocal>{});
  }
}

// The same math with the op chosen per element (the CUDA kernels, whose warps branch
// uniformly).
template <typename T>
NC_HOST_DEVICE T unaryOp(UnaryOp op, T v, float alpha) {
  switch (op) {
#define NC_CASE(name) \
  case UnaryOp::name: return unaryOpOf<UnaryOp::name, T>(v, alpha);
    NC_UNARY_OPS(NC_CASE)
#undef NC_CASE
    default: return unaryOpOf<UnaryOp::Reciprocal, T>(v, alpha);
  }
}

NC_HOST_DEVICE float unaryDerivative(UnaryOp op, float x, float alpha) {
  switch (op) {
#define NC_CASE(name) \
  case UnaryOp::name: return unaryDerivativeOf<UnaryOp::name>(x, alpha);
    NC_UNARY_OPS(NC_CASE)
#undef NC_CASE
    default: return unaryDerivativeOf<UnaryOp::Reciprocal>(x, alpha);
  }
}

#undef NC_UNARY_OPS

}  // namespace neocog::kernels
