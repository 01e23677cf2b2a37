// Calls fn with a value of the C++ type that stores `dtype` (float, int32_t, uint8_t, bool).
// dispatchDType refuses the 16-bit floats with a DType error: most kernels compute in their
// storage type, which 16 bits cannot be; those that convert element by element (copy/cast,
// fill, where, and the binary, comparison and unary ops, whose shared math computes 16-bit
// values in float32) use dispatchWithHalf, and conv/matmul hand 16-bit tensors to
// oneDNN/cuDNN/cuBLAS.
#pragma once

#include <cstdint>
#include <string>

#include "kernels/half.h"
#include "neocog/dtype.h"
#include "neocog/error.h"

namespace neocog::kernels {

template <typename Fn>
void dispatchDType(DType dtype, const char* op, Fn&& fn) {
  switch (dtype) {
    case DType::Float32: fn(float{}); return;
    case DType::Int32: fn(int32_t{}); return;
    case DType::UInt8: fn(uint8_t{}); return;
    case DType::Bool: fn(bool{}); return;
    case DType::Float16:
    case DType::BFloat16:
      fail(ErrorKind::DType, std::string(op) + ": " + dtypeName(dtype) +
                                 " tensors are not supported here (convert with .to('float32'))");
  }
  fail(ErrorKind::DType, std::string(op) + ": unsupported dtype code " + std::to_string(static_cast<int>(dtype)));
}

template <typename Fn>
void dispatchWithHalf(DType dtype, const char* op, Fn&& fn) {
  if (dtype == DType::Float16) return fn(Half{});
  if (dtype == DType::BFloat16) return fn(BFloat16{});
  dispatchDType(dtype, op, fn);
}

}  // namespace neocog::kernels
