// IEEE float16 and bfloat16 storage types with the float32 conversions every backend uses
// (casts, and the CPU/CUDA kernels that read or write 16-bit tensors). Integer bit
// arithmetic rather than F16C/cuda_fp16 intrinsics so that the CPU tests check the exact
// rounding the GPU does: round to nearest, ties to even; overflow to infinity; subnormals
// kept; NaN stays a (quiet) NaN.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kernels/host_device.h"

namespace neocog::kernels {

struct Half {
  uint16_t bits;
};

struct BFloat16 {
  uint16_t bits;
};

template <typename T>
inline constexpr bool isHalfType = std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>;

NC_HOST_DEVICE uint32_t floatBits(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return bits;
#endif
}

NC_HOST_DEVICE float floatFromBits(uint32_t bits) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(bits);
#else
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
#endif
}

// Drops the low `shift` bits of `value`, rounding to nearest with ties to even. A carry out
// of the kept bits is the right answer (it moves into the exponent field or to infinity).
NC_HOST_DEVICE uint32_t shiftRoundEven(uint32_t value, int shift) {
  const uint32_t kept = value >> shift;
  const uint32_t rest = value & ((1u << shift) - 1u);
  const uint32_t halfway = 1u << (shift - 1);
  return kept + ((rest > halfway || (rest == halfway && (kept & 1u))) ? 1u : 0u);
}

NC_HOST_DEVICE Half toHalf(float f) {
  const uint32_t x = floatBits(f);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  const uint32_t magnitude = x & 0x7fffffffu;
  if (magnitude >= 0x7f800000u) {  // inf, or NaN (made quiet)
    return Half{static_cast<uint16_t>(sign | (magnitude == 0x7f800000u ? 0x7c00u : 0x7e00u))};
  }
  if (magnitude >= 0x47800000u) return Half{static_cast<uint16_t>(sign | 0x7c00u)};  // >= 2^16
  const int exponent = static_cast<int>(magnitude >> 23) - 127;
  const uint32_t mantissa = magnitude & 0x7fffffu;
  if (exponent >= -14) {  // a normal half: rebias, keep 10 of 23 mantissa bits
    const uint32_t rebased = (static_cast<uint32_t>(exponent + 15) << 23) | mantissa;
    return Half{static_cast<uint16_t>(sign | shiftRoundEven(rebased, 13))};
  }
  if (exponent < -25) return Half{sign};  // below half the smallest subnormal: zero
  // A subnormal half counts units of 2^-24: the 24-bit significand shifted right.
  const uint32_t significand = mantissa | 0x800000u;
  return Half{static_cast<uint16_t>(sign | shiftRoundEven(significand, -(exponent + 1)))};
}

NC_HOST_DEVICE float toFloat(Half h) {
  const uint32_t sign = static_cast<uint32_t>(h.bits & 0x8000u) << 16;
  uint32_t exponent = (h.bits >> 10) & 0x1fu;
  uint32_t mantissa = h.bits & 0x3ffu;
  if (exponent == 0x1fu) return floatFromBits(sign | 0x7f800000u | (mantissa << 13));
  if (exponent == 0) {
    if (mantissa == 0) return floatFromBits(sign);
    int shift = 0;  // normalise the subnormal
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      ++shift;
    }
    return floatFromBits(sign | (static_cast<uint32_t>(113 - shift) << 23) | ((mantissa & 0x3ffu) << 13));
  }
  return floatFromBits(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

// Branch-free (shiftRoundEven(x, 16) as one add: the low half plus 0x7fff, plus 1 when the
// kept half is odd, carries exactly when rounding goes up), so that loops over 16-bit
// tensors vectorise; finite and infinite values cannot overflow the add, NaNs take the other arm.
NC_HOST_DEVICE BFloat16 toBFloat16(float f) {
  const uint32_t x = floatBits(f);
  const uint32_t rounded = (x + 0x7fffu + ((x >> 16) & 1u)) >> 16;
  const uint32_t quietNan = (x >> 16) | 0x40u;
  return BFloat16{static_cast<uint16_t>((x & 0x7fffffffu) > 0x7f800000u ? quietNan : rounded)};
}

NC_HOST_DEVICE float toFloat(BFloat16 b) { return floatFromBits(static_cast<uint32_t>(b.bits) << 16); }
// So that kernels templated on a float type (float32 or 16-bit) read every one alike.
NC_HOST_DEVICE float toFloat(float f) { return f; }

// A float rounded to the 16-bit type T (the per-element math of 16-bit tensors computes in
// float), or kept as it is for float.
template <typename T>
NC_HOST_DEVICE T fromFloat(float f) {
  if constexpr (std::is_same_v<T, float>) return f;
  else if constexpr (std::is_same_v<T, Half>) return toHalf(f);
  else return toBFloat16(f);
}

}  // namespace neocog::kernels
