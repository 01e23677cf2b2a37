#include "core/backstops.h"

namespace neocog::backstop {

void argsort(const char* op, Out indices, In input, bool) {
  const bool ok = indices.dtype == DType::Int32 && input.layout.isContiguous() && indices.layout.isContiguous() &&
                  indices.numel() == input.numel() && input.layout.ndim >= 1 &&
                  (input.dtype == DType::Float32 || input.dtype == DType::Int32);
  if (!ok) reject(op, "argsort needs contiguous float32/int32 input and int32 indices");
}

}  // namespace neocog::backstop
