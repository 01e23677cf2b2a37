// Boxes reach the kernels as contiguous float32 [K, 4].
#include "core/backstops.h"

namespace neocog::backstop {

namespace {

// A contiguous [n] vector of `dtype`.
bool isVector(const TensorRef& t, DType dtype, int64_t n) {
  return t.dtype == dtype && t.layout.ndim == 1 && t.layout.isContiguous() && t.layout.shape[0] == n;
}

void checkBoxes(const char* op, const TensorRef& t) {
  const Layout& l = t.layout;
  if (t.dtype != DType::Float32 || l.ndim != 2 || l.shape[1] != 4 || !l.isContiguous()) {
    reject(op, "boxes must be contiguous float32 [K, 4]");
  }
}

}  // namespace

void boxIou(const char* op, Out out, In a, In b) {
  checkBoxes(op, a);
  checkBoxes(op, b);
  const Layout& o = out.layout;
  if (out.dtype != DType::Float32 || o.ndim != 2 || !o.isContiguous() || o.shape[0] != a.layout.shape[0] ||
      o.shape[1] != b.layout.shape[0]) {
    reject(op, "boxIou out must be contiguous float32 [N, M]");
  }
}

void nms(const char* op, Out keep, In boxes, OptIn categories, OptIn limit, double) {
  checkBoxes(op, boxes);
  if (categories.data != nullptr && !isVector(categories, DType::Int32, boxes.layout.shape[0])) {
    reject(op, "nms categories must be a contiguous int32 [N]");
  }
  if (limit.data != nullptr && !isVector(limit, DType::Int32, 1)) reject(op, "nms limit must be a contiguous int32 [1]");
  if (!isVector(keep, DType::UInt8, boxes.layout.shape[0])) reject(op, "nms keep must be a contiguous uint8 [N]");
}

void softNms(const char* op, const SoftNmsParams& params, Out order, Out selectedScores, Out count, In boxes,
             In scores) {
  checkBoxes(op, boxes);
  const int64_t n = boxes.layout.shape[0];
  if (!isVector(scores, DType::Float32, n) || !isVector(order, DType::Int32, n) ||
      !isVector(selectedScores, DType::Float32, n) || !isVector(count, DType::Int32, 1)) {
    reject(op, "softNms operands must be contiguous: scores and selectedScores float32 [N], order int32 [N], count int32 [1]");
  }
  if (params.method != SoftNmsMethod::Linear && params.method != SoftNmsMethod::Gaussian) reject(op, "unknown soft-NMS method");
  if (!(params.sigma > 0.0f)) reject(op, "soft-NMS sigma must be > 0");
}

}  // namespace neocog::backstop
