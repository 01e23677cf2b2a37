// RoI max pooling (Fast R-CNN), with torchvision.ops.roi_pool's rounding and bin rules: one
// copy of the math for the CPU loops and the CUDA kernels.
#pragma once

#include <cfloat>
#include <cmath>
#include <cstdint>

#include "kernels/host_device.h"
#include "kernels/rois.h"
#include "neocog/op_params.h"

namespace neocog::kernels {

// The input rows [hStart, hEnd) x columns [wStart, wEnd) that bin (ph, pw) of `roi` covers
// on an h x w plane; empty when the bin lies outside the plane.
struct RoiPoolBin {
  int64_t hStart, hEnd, wStart, wEnd;
  NC_HOST_DEVICE bool empty() const { return hEnd <= hStart || wEnd <= wStart; }
};

NC_HOST_DEVICE int64_t clampTo(int64_t v, int64_t hi) { return v < 0 ? 0 : (v > hi ? hi : v); }

NC_HOST_DEVICE RoiPoolBin roiPoolBin(const RoiPoolParams& p, const float* roi, int64_t h, int64_t w, int64_t ph,
                                     int64_t pw) {
  // Corners round half away from zero to input pixels (std::round); a box is >= 1 pixel.
  const int64_t startW = static_cast<int64_t>(roundf(roi[1] * p.spatialScale));
  const int64_t startH = static_cast<int64_t>(roundf(roi[2] * p.spatialScale));
  const int64_t endW = static_cast<int64_t>(roundf(roi[3] * p.spatialScale));
  const int64_t endH = static_cast<int64_t>(roundf(roi[4] * p.spatialScale));
  const int64_t roiW = endW - startW + 1 > 1 ? endW - startW + 1 : 1;
  const int64_t roiH = endH - startH + 1 > 1 ? endH - startH + 1 : 1;
  const float binH = static_cast<float>(roiH) / static_cast<float>(p.pooledH);
  const float binW = static_cast<float>(roiW) / static_cast<float>(p.pooledW);
  RoiPoolBin bin;
  bin.hStart = clampTo(static_cast<int64_t>(floorf(static_cast<float>(ph) * binH)) + startH, h);
  bin.hEnd = clampTo(static_cast<int64_t>(ceilf(static_cast<float>(ph + 1) * binH)) + startH, h);
  bin.wStart = clampTo(static_cast<int64_t>(floorf(static_cast<float>(pw) * binW)) + startW, w);
  bin.wEnd = clampTo(static_cast<int64_t>(ceilf(static_cast<float>(pw + 1) * binW)) + startW, w);
  return bin;
}

// The maximum of a bin of `plane` (strides strideH, strideW) and its flat position
// row * w + column (the first in row-major order on ties); 0 and -1 for an empty bin.
NC_HOST_DEVICE float roiPoolMax(const RoiPoolBin& bin, const float* plane, int64_t w, int64_t strideH,
                                int64_t strideW, int32_t* argmax) {
  if (bin.empty()) {
    *argmax = -1;
    return 0.0f;
  }
  float best = -FLT_MAX;
  int32_t at = -1;
  for (int64_t y = bin.hStart; y < bin.hEnd; ++y) {
    for (int64_t x = bin.wStart; x < bin.wEnd; ++x) {
      const float v = plane[y * strideH + x * strideW];
      if (v > best) {  // NaN never wins, as in torchvision
        best = v;
        at = static_cast<int32_t>(y * w + x);
      }
    }
  }
  *argmax = at;
  return best;
}

}  // namespace neocog::kernels
