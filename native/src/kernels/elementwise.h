// Per-element math of the elementwise ops, one copy for CPU and CUDA.
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "kernels/half.h"
#include "kernels/host_device.h"
#include "neocog/op_params.h"

namespace neocog::kernels {

template <typename T>
NC_HOST_DEVICE T arithmetic(BinaryOp op, T a, T b) {
  switch (op) {
    case BinaryOp::Add: return a + b;
    case BinaryOp::Sub: return a - b;
    case BinaryOp::Mul: return a * b;
    case BinaryOp::Div:
      // Integer division by zero would trap the whole process; the TS layer only sends
      // float division, this keeps a direct call harmless.
      if constexpr (std::is_integral_v<T>) {
        if (b == T(0)) return T(0);
      }
      return a / b;
    // NaN-propagating like torch.maximum: comparisons with NaN are false, so test `a != a`.
    case BinaryOp::Maximum: return (a != a || a > b) ? a : b;
    case BinaryOp::Minimum: return (a != a || a < b) ? a : b;
    case BinaryOp::Pow:
      if constexpr (std::is_floating_point_v<T>) {
        return powf(a, b);
      } else {
        T result = 1;  // integer power by squaring; negative exponents give 0 as in torch
        if constexpr (std::is_signed_v<T>) {
          if (b < 0) return a == 1 ? T(1) : (a == T(-1) ? ((b % 2) ? T(-1) : T(1)) : T(0));
        }
        for (T base = a, e = b; e > 0; e >>= 1, base *= base) {
          if (e & 1) result *= base;
        }
        return result;
      }
  }
  return a;
}

template <typename T>
NC_HOST_DEVICE bool compareOp(CompareOp op, T a, T b) {
  if constexpr (isHalfType<T>) {
    return compareOp<float>(op, toFloat(a), toFloat(b));
  } else {
    switch (op) {
      case CompareOp::Eq: return a == b;
      case CompareOp::Ne: return a != b;
      case CompareOp::Lt: return a < b;
      case CompareOp::Le: return a <= b;
      case CompareOp::Gt: return a > b;
      case CompareOp::Ge: return a >= b;
    }
    return false;
  }
}

template <typename T>
NC_HOST_DEVICE T binaryOp(BinaryOp op, T a, T b) {
  if constexpr (std::is_same_v<T, bool>) {
    // bool arithmetic as PyTorch: computed as integers, then "!= 0" (add is logical or).
    return arithmetic<int32_t>(op, a, b) != 0;
  } else if constexpr (isHalfType<T>) {
    // 16-bit floats compute in float32 and round once, as PyTorch's c10::Half / BFloat16 do.
    return fromFloat<T>(arithmetic<float>(op, toFloat(a), toFloat(b)));
  } else {
    return arithmetic(op, a, b);
  }
}

// Conversion rules of Tensor.to(dtype), as PyTorch: float -> int truncates toward zero,
// anything -> bool is "!= 0", and out-of-range values wrap through int32 for uint8.
// 16-bit floats convert through float32, as PyTorch's c10::Half / c10::BFloat16 do.
template <typename To, typename From>
NC_HOST_DEVICE To castValue(From v) {
  if constexpr (isHalfType<From>) {
    return castValue<To>(toFloat(v));
  } else if constexpr (std::is_same_v<To, Half>) {
    return toHalf(castValue<float>(v));
  } else if constexpr (std::is_same_v<To, BFloat16>) {
    return toBFloat16(castValue<float>(v));
  } else if constexpr (std::is_same_v<To, bool>) {
    return v != From(0);
  } else if constexpr (std::is_same_v<To, uint8_t> && std::is_floating_point_v<From>) {
    return static_cast<uint8_t>(static_cast<int32_t>(v));
  } else {
    return static_cast<To>(v);
  }
}

}  // namespace neocog::kernels
