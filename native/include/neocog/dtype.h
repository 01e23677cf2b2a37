// Element types shared by every layer. The numeric codes are part of the binding ABI
// (lib/tensor/dtype.ts mirrors them), so append, never renumber.
#pragma once

#include <cstddef>
#include <cstdint>

namespace neocog {

enum class DType : int32_t { Float32 = 0, Int32 = 1, UInt8 = 2, Bool = 3, Float16 = 4, BFloat16 = 5 };

inline constexpr size_t dtypeSize(DType t) {
  switch (t) {
    case DType::Float32: return 4;
    case DType::Int32: return 4;
    case DType::UInt8: return 1;
    case DType::Bool: return 1;
    case DType::Float16: return 2;
    case DType::BFloat16: return 2;
  }
  return 0;
}

inline constexpr const char* dtypeName(DType t) {
  switch (t) {
    case DType::Float32: return "float32";
    case DType::Int32: return "int32";
    case DType::UInt8: return "uint8";
    case DType::Bool: return "bool";
    case DType::Float16: return "float16";
    case DType::BFloat16: return "bfloat16";
  }
  return "unknown";
}

inline constexpr bool isValidDType(int32_t code) { return code >= 0 && code <= 5; }

/** The 16-bit floating dtypes (mixed precision): stored as 2 bytes, computed in float32. */
inline constexpr bool isHalfDType(DType t) { return t == DType::Float16 || t == DType::BFloat16; }

inline constexpr bool isFloatingDType(DType t) { return t == DType::Float32 || isHalfDType(t); }

}  // namespace neocog
