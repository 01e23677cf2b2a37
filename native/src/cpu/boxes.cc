// Box IoU matrices, NMS and soft-NMS (math in kernels/boxes.h). Our own loops: neither
// oneDNN nor a BLAS has box ops. NMS is the greedy scan torchvision's CPU kernel does; its O(N^2) IoU
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

// The selection loop is sequential by nature; the boxes still in play are kept compact,
// in index order, so the argmax scan and the decay pass touch only them and ties go to
// the lower index (the CUDA kernel's rule).
void softNms(const SoftNmsParams& p, const TensorRef& order, const TensorRef& selectedScores, const TensorRef& count,
             const TensorRef& boxes, const TensorRef& scores) {
  const int64_t n = boxes.layout.shape[0];
  const float* b = boxes.as<float>();
  const float* given = scores.as<float>();
  int32_t* picked = order.as<int32_t>();
  float* pickedScores = selectedScores.as<float>();
  std::vector<float> s(given, given + n);
  std::vector<int32_t> remaining;
  for (int64_t j = 0; j < n; ++j) {
    if (s[j] >= p.scoreThreshold) remaining.push_back(static_cast<int32_t>(j));  // NaN never plays
  }
  int64_t k = 0;
  while (!remaining.empty()) {
    size_t best = 0;
    for (size_t r = 1; r < remaining.size(); ++r) {
      if (s[remaining[r]] > s[remaining[best]]) best = r;
    }
    const int32_t m = remaining[best];
    picked[k] = m;
    pickedScores[k++] = s[m];
    size_t kept = 0;
    for (const int32_t j : remaining) {
      if (j == m) continue;
      s[j] *= kernels::softNmsDecay(p, kernels::boxIou(b + m * 4, b + j * 4));
      if (s[j] >= p.scoreThreshold) remaining[kept++] = j;
    }
    remaining.resize(kept);
  }
  *count.as<int32_t>() = static_cast<int32_t>(k);
  for (int64_t j = k; j < n; ++j) picked[j] = -1, pickedScores[j] = 0.0f;
}

// The primitives this file implements (neocog/primitives.def).
void CpuBackend::boxIou(Out out, In a, In b) { cpu::boxIou(out, a, b); }
void CpuBackend::nms(Out keep, In boxes, double iouThreshold) { cpu::nms(keep, boxes, iouThreshold); }
void CpuBackend::softNms(const SoftNmsParams& params, Out order, Out selectedScores, Out count, In boxes, In scores) {
  cpu::softNms(params, order, selectedScores, count, boxes, scores);
}

}  // namespace neocog::cpu
