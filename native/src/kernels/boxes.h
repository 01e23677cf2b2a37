// Box math shared by the CPU and CUDA kernels: boxes are xyxy float32 (x1 <= x2, y1 <= y2),
// as torchvision.ops. The only copy of area and IoU.
#pragma once

#include <cmath>

#include "kernels/host_device.h"
#include "neocog/op_params.h"

namespace neocog::kernels {

NC_HOST_DEVICE float boxArea(const float* b) { return (b[2] - b[0]) * (b[3] - b[1]); }

// Intersection over union of box a (ax1, ay1, ax2, ay2) of area areaA with box b of area
// areaB; 0 when the union is empty (two degenerate boxes), where torchvision would give NaN.
// Scalars in, no branches: callers pass areas computed once per box, and a loop over b's
// coordinates held column by column vectorises.
NC_HOST_DEVICE float boxIouOfAreas(float ax1, float ay1, float ax2, float ay2, float areaA, float bx1, float by1,
                                   float bx2, float by2, float areaB) {
  const float left = ax1 > bx1 ? ax1 : bx1;
  const float top = ay1 > by1 ? ay1 : by1;
  const float right = ax2 < bx2 ? ax2 : bx2;
  const float bottom = ay2 < by2 ? ay2 : by2;
  const float w = right - left > 0.0f ? right - left : 0.0f;
  const float h = bottom - top > 0.0f ? bottom - top : 0.0f;
  const float inter = w * h;
  const float uni = areaA + areaB - inter;
  return uni > 0.0f ? inter / uni : 0.0f;
}

NC_HOST_DEVICE float boxIou(const float* a, const float* b) {
  return boxIouOfAreas(a[0], a[1], a[2], a[3], boxArea(a), b[0], b[1], b[2], b[3], boxArea(b));
}

// Soft-NMS: the factor by which a box's score decays when it overlaps the selected box
// with `iou` (Bodla et al. 2017, eqs. 2 and 3).
NC_HOST_DEVICE float softNmsDecay(const SoftNmsParams& p, float iou) {
  if (p.method == SoftNmsMethod::Linear) return iou > p.iouThreshold ? 1.0f - iou : 1.0f;
  return expf(-(iou * iou) / p.sigma);
}

}  // namespace neocog::kernels
