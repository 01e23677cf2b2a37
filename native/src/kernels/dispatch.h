// Calls fn with a value of the C++ type that stores `dtype` (float, int32_t, uint8_t, bool).
#pragma once

#include <cstdint>
#include <string>

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
  }
  fail(ErrorKind::DType, std::string(op) + ": unsupported dtype code " + std::to_string(static_cast<int>(dtype)));
}

}  // namespace neocog::kernels
