// Box IoU matrices, NMS and soft-NMS (math in kernels/boxes.h). Our own loops: neither
// oneDNN nor a BLAS has box ops.
#include <algorithm>
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

// The greedy scan torchvision's CPU kernel does, but over the boxes held column by column
// with their areas precomputed: each kept box tests every later box in one branch-free loop
// that the compiler vectorises (16 IoUs per AVX-512 instruction), instead of one box at a
// time behind a branch on whether it is already suppressed.
void nms(const TensorRef& keep, const TensorRef& boxes, const TensorRef& categories, const TensorRef& limit,
         double iouThreshold) {
  const int64_t all = boxes.layout.shape[0];
  const int64_t n = limit.data != nullptr ? std::clamp<int64_t>(*limit.as<int32_t>(), 0, all) : all;
  std::fill(keep.as<uint8_t>() + n, keep.as<uint8_t>() + all, 0);
  const float* b = boxes.as<float>();
  uint8_t* kept = keep.as<uint8_t>();
  const float threshold = static_cast<float>(iouThreshold);
  std::vector<float> columns(static_cast<size_t>(5 * n));
  float* x1 = columns.data();
  float *y1 = x1 + n, *x2 = y1 + n, *y2 = x2 + n, *area = y2 + n;
  for (int64_t j = 0; j < n; ++j) {
    x1[j] = b[j * 4], y1[j] = b[j * 4 + 1], x2[j] = b[j * 4 + 2], y2[j] = b[j * 4 + 3];
    area[j] = kernels::boxArea(b + j * 4);
  }
  // With categories, box i only meets the rest of its category's run: [i + 1, end[i]).
  std::vector<int64_t> end(static_cast<size_t>(n), n);
  if (categories.data != nullptr) {
    const int32_t* category = categories.as<int32_t>();
    for (int64_t i = n - 2; i >= 0; --i) end[i] = category[i] == category[i + 1] ? end[i + 1] : i + 1;
  }
  std::vector<uint8_t> suppressed(static_cast<size_t>(n), 0);
  uint8_t* gone = suppressed.data();
  for (int64_t i = 0; i < n; ++i) {
    kept[i] = gone[i] ? 0 : 1;
    if (gone[i]) continue;
    const float ax1 = x1[i], ay1 = y1[i], ax2 = x2[i], ay2 = y2[i], areaA = area[i];
#pragma omp simd
    for (int64_t j = i + 1; j < end[i]; ++j) {
      const float iou = kernels::boxIouOfAreas(ax1, ay1, ax2, ay2, areaA, x1[j], y1[j], x2[j], y2[j], area[j]);
      gone[j] |= static_cast<uint8_t>(iou > threshold);
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
void CpuBackend::nms(Out keep, In boxes, OptIn categories, OptIn limit, double iouThreshold) {
  cpu::nms(keep, boxes, categories, limit, iouThreshold);
}
void CpuBackend::softNms(const SoftNmsParams& params, Out order, Out selectedScores, Out count, In boxes, In scores) {
  cpu::softNms(params, order, selectedScores, count, boxes, scores);
}

}  // namespace neocog::cpu
