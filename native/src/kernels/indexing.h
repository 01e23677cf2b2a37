// Per-element index math of the gather family, one copy for CPU and CUDA.
#pragma once

#include <cstdint>

#include "kernels/host_device.h"
#include "kernels/strided.h"
#include "neocog/layout.h"

namespace neocog::kernels {

// Element offset in `in` that index_select(in, dim, index) reads for output element `linear`.
// `index` holds int32 values already checked to lie in [0, in.shape[dim]).
NC_HOST_DEVICE int64_t indexSelectSource(const Layout& out, const Layout& in, int dim, const int32_t* index,
                                         const Layout& indexLayout, int64_t linear) {
  int64_t offset = 0;
  for (int d = out.ndim - 1; d >= 0; --d) {
    int64_t coord = linear % out.shape[d];
    linear /= out.shape[d];
    if (d == dim) coord = index[stridedOffset(indexLayout, coord)];
    offset += coord * in.strides[d];
  }
  return offset;
}

// Offsets for gather/scatter element `linear` of the index layout: where it reads/writes
// in `data` (coordinates of the index, with `dim` replaced by the index value).
NC_HOST_DEVICE int64_t gatherOffset(const Layout& indexLayout, const Layout& data, int dim, int32_t value,
                                    int64_t linear) {
  int64_t offset = 0;
  for (int d = indexLayout.ndim - 1; d >= 0; --d) {
    const int64_t coord = linear % indexLayout.shape[d];
    linear /= indexLayout.shape[d];
    offset += (d == dim ? value : coord) * data.strides[d];
  }
  return offset;
}

NC_HOST_DEVICE bool indexInRange(int32_t value, int64_t size) { return value >= 0 && value < size; }

}  // namespace neocog::kernels
