// Box math shared by the CPU and CUDA kernels: boxes are xyxy float32 (x1 <= x2, y1 <= y2),
// as torchvision.ops. The only copy of area and IoU.
#pragma once

#include "kernels/host_device.h"

namespace neocog::kernels {

NC_HOST_DEVICE float boxArea(const float* b) { return (b[2] - b[0]) * (b[3] - b[1]); }

// Intersection over union of two boxes; 0 when the union is empty (two degenerate boxes),
// where torchvision would give NaN.
NC_HOST_DEVICE float boxIou(const float* a, const float* b) {
  const float left = a[0] > b[0] ? a[0] : b[0];
  const float top = a[1] > b[1] ? a[1] : b[1];
  const float right = a[2] < b[2] ? a[2] : b[2];
  const float bottom = a[3] < b[3] ? a[3] : b[3];
  const float w = right - left > 0.0f ? right - left : 0.0f;
  const float h = bottom - top > 0.0f ? bottom - top : 0.0f;
  const float inter = w * h;
  const float uni = boxArea(a) + boxArea(b) - inter;
  return uni > 0.0f ? inter / uni : 0.0f;
}

}  // namespace neocog::kernels
