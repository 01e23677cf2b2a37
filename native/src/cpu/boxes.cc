// Box IoU matrices and NMS (math in kernels/boxes.h). Our own loops: neither oneDNN nor a
// BLAS has box ops. NMS is the greedy scan torchvision's CPU kernel does; its O(N^2) IoU
// checks stop at suppressed boxes.
#include <vector>

#include "cpu/ops.h"
#include "cpu/parallel.h"
#include "kernels/boxes.h"

namespace neocog::cpu {

void boxIou(const TensorRef& out, const TensorRef& a, const TensorRef& b) {
  const int64_t n = a.layout.shape[0], m = b.layout.shape[0];
  const float* x = a.as<float>();
  const float* y = b.as<float>();
  float* o = out.as<float>();
  parallelFor(n * m, [&](int64_t k) { o[k] = kernels::boxIou(x + (k / m) * 4, y + (k % m) * 4); });
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

}  // namespace neocog::cpu
