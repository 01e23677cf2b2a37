// Logical (row-major) element index -> element offset in a strided view.
#pragma once

#include <cstdint>

#include "kernels/host_device.h"
#include "neocog/layout.h"

namespace neocog::kernels {

NC_HOST_DEVICE int64_t stridedOffset(const Layout& layout, int64_t linear) {
  int64_t offset = 0;
  for (int d = layout.ndim - 1; d >= 0; --d) {
    const int64_t size = layout.shape[d];
    offset += (linear % size) * layout.strides[d];
    linear /= size;
  }
  return offset;
}

}  // namespace neocog::kernels
