// Rois as torchvision's roi ops take them, [K, 5] float32 rows (batch index, x1, y1, x2,
// y2): the batch-index rule every roi kernel (roi_align.h, roi_pool.h) applies.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "kernels/host_device.h"

namespace neocog::kernels {

// A roi naming no image of the batch reads and writes nothing: the backends' forward
// refuses such rois with an IndexError (roiBatchError) before any bin is computed.
NC_HOST_DEVICE bool roiBatchInRange(const float* roi, int64_t batch) {
  return roi[0] >= 0.0f && roi[0] < static_cast<float>(batch);
}

// The error for the first roi of `rois` [count, 5] whose batch index names no image of the
// batch, or an empty string; forwards raise it (checked on the host: rois are few).
inline std::string roiBatchError(const char* op, const float* rois, int64_t count, int64_t batch) {
  for (int64_t k = 0; k < count; ++k) {
    const float index = rois[k * 5];
    if (!roiBatchInRange(rois + k * 5, batch) || index != static_cast<float>(static_cast<int64_t>(index))) {
      char value[32];
      std::snprintf(value, sizeof(value), "%g", static_cast<double>(index));
      return std::string(op) + ": box batch index " + value + " is not an image of the batch of " + std::to_string(batch);
    }
  }
  return {};
}

}  // namespace neocog::kernels
