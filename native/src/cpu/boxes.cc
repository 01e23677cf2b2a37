// Box IoU matrices and NMS (math in kernels/boxes.h). Our own loops: neither oneDNN nor a
// BLAS has box ops. NMS is the greedy scan torchvision's CPU kernel does; its O(N^2) IoU
// checks stop at suppressed boxes.
#include <vector>

#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"
#include "kernels/boxes.h"

namespace neocog::cpu {

// Rows of the matrix over the thread pool; within a row, a contiguous loop over b's boxes
// laid out column by column with their areas precomputed, which the compiler vectorises
// (the flat pair loop it replaces divided k / m and k % m per element and ran ~5x slower).
void boxIou(const TensorRef& out, const TensorRef& a, const TensorRef& b) {
  const int64_t n = a.layout.shape[0], m = b.layout.shape[0];
  const float* x = a.as<float>();
  const float* y = b.as<float>();
  float* o = out.as<float>();
  std::vector<float> columns(static_cast<size_t>(5 * m));
  float* bx1 = columns.data();
  float *by1 = bx1 + m, *bx2 = by1 + m, *by2 = bx2 + m, *areaB = by2 + m;
  for (int64_t j = 0; j < m; ++j) {
    const float* box = y + j * 4;
    bx1[j] = box[0], by1[j] = box[1], bx2[j] = box[2], by2[j] = box[3];
    areaB[j] = kernels::boxArea(box);
  }
#pragma omp parallel for schedule(static) if (n * m > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) {
    const float* box = x + i * 4;
    const float ax1 = box[0], ay1 = box[1], ax2 = box[2], ay2 = box[3], areaA = kernels::boxArea(box);
    float* row = o + i * m;
#pragma omp simd
    for (int64_t j = 0; j < m; ++j) {
      row[j] = kernels::boxIouOfAreas(ax1, ay1, ax2, ay2, areaA, bx1[j], by1[j], bx2[j], by2[j], areaB[j]);
    }
  }
}

void nms(const TensorRef& keep, const TensorRef& boxes, double iouThreshold) {
  const int64_t n = boxes.layout.shape[0];
  const float* b = boxes.as<float>();
  uint8_t* kept = keep.as<uint8_t>();
  const float threshold = static_cast<float>(iouThreshold);
  std::vector<uint8_t> suppressed(static_cast<size_t>(n), 0);
  for (int64_t i = 0; i < n; ++i) {
    kept[i] = suppressed[i] ? 0 : 1;
    if (suppressed[i]) continue;
    for (int64_t j = i + 1; j < n; ++j) {
      if (!suppressed[j] && kernels::boxIou(b + i * 4, b + j * 4) > threshold) suppressed[j] = 1;
    }
  }
}

// The primitives this file implements (neocog/primitives.def).
void CpuBackend::boxIou(Out out, In a, In b) { cpu::boxIou(out, a, b); }
void CpuBackend::nms(Out keep, In boxes, double iouThreshold) { cpu::nms(keep, boxes, iouThreshold); }

}  // namespace neocog::cpu
