// RoI Align (Mask R-CNN), with torchvision.ops.roi_align's sampling and bilinear rules:
// one copy of the math for the CPU loops and the CUDA kernels, forward and backward.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/host_device.h"
#include "kernels/rois.h"
#include "neocog/op_params.h"

namespace neocog::kernels {

// Bilinear sampling point (y, x) of an H x W plane: up to four (offset, weight) pairs;
// false when the point lies beyond one pixel outside the plane (contributes nothing).
struct BilinearTaps {
  int64_t offset[4];
  float weight[4];
};

NC_HOST_DEVICE bool bilinearTaps(int64_t h, int64_t w, int64_t strideH, int64_t strideW, float y, float x,
                                 BilinearTaps* taps) {
  if (y < -1.0f || y > static_cast<float>(h) || x < -1.0f || x > static_cast<float>(w)) return false;
  if (y <= 0.0f) y = 0.0f;
  if (x <= 0.0f) x = 0.0f;
  int64_t y0 = static_cast<int64_t>(y), x0 = static_cast<int64_t>(x), y1, x1;
  if (y0 >= h - 1) {
    y1 = y0 = h - 1;
    y = static_cast<float>(y0);
  } else {
    y1 = y0 + 1;
  }
  if (x0 >= w - 1) {
    x1 = x0 = w - 1;
    x = static_cast<float>(x0);
  } else {
    x1 = x0 + 1;
  }
  const float ly = y - static_cast<float>(y0), lx = x - static_cast<float>(x0), hy = 1.0f - ly, hx = 1.0f - lx;
  taps->offset[0] = y0 * strideH + x0 * strideW;
  taps->offset[1] = y0 * strideH + x1 * strideW;
  taps->offset[2] = y1 * strideH + x0 * strideW;
  taps->offset[3] = y1 * strideH + x1 * strideW;
  taps->weight[0] = hy * hx;
  taps->weight[1] = hy * lx;
  taps->weight[2] = ly * hx;
  taps->weight[3] = ly * lx;
  return true;
}

// Calls visit(offset, weight) for every bilinear tap of output bin (ph, pw) of `roi`
// [batch, x1, y1, x2, y2]; weights already include the 1 / samples averaging.
template <typename Visit>
NC_HOST_DEVICE void bilinearBinTaps(const RoiAlignParams& p, const float* roi, int64_t h, int64_t w, int64_t strideH,
                                    int64_t strideW, int64_t ph, int64_t pw, Visit& visit) {
  const float offset = p.aligned ? 0.5f : 0.0f;
  const float startW = roi[1] * p.spatialScale - offset, startH = roi[2] * p.spatialScale - offset;
  float roiW = roi[3] * p.spatialScale - offset - startW, roiH = roi[4] * p.spatialScale - offset - startH;
  if (!p.aligned) {  // torchvision's legacy behaviour: boxes are at least one pixel
    roiW = roiW > 1.0f ? roiW : 1.0f;
    roiH = roiH > 1.0f ? roiH : 1.0f;
  }
  const float binH = roiH / static_cast<float>(p.pooledH), binW = roiW / static_cast<float>(p.pooledW);
  const int64_t gridH = p.samplingRatio > 0 ? p.samplingRatio : static_cast<int64_t>(ceilf(roiH / static_cast<float>(p.pooledH)));
  const int64_t gridW = p.samplingRatio > 0 ? p.samplingRatio : static_cast<int64_t>(ceilf(roiW / static_cast<float>(p.pooledW)));
  const int64_t samples = gridH * gridW > 1 ? gridH * gridW : 1;
  const float scale = 1.0f / static_cast<float>(samples);
  for (int64_t iy = 0; iy < gridH; ++iy) {
    const float y = startH + ph * binH + (iy + 0.5f) * binH / static_cast<float>(gridH);
    for (int64_t ix = 0; ix < gridW; ++ix) {
      const float x = startW + pw * binW + (ix + 0.5f) * binW / static_cast<float>(gridW);
      BilinearTaps taps;
      if (!bilinearTaps(h, w, strideH, strideW, y, x, &taps)) continue;
      for (int k = 0; k < 4; ++k) visit(taps.offset[k], taps.weight[k] * scale);
    }
  }
}

// Sums plane[offset] * weight: the forward value of one bin.
struct GatherTaps {
  const float* plane;
  float sum = 0.0f;
  NC_HOST_DEVICE void operator()(int64_t offset, float weight) { sum += plane[offset] * weight; }
};

}  // namespace neocog::kernels
