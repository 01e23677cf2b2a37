// Boxes reach the kernels as contiguous float32 [K, 4].
#include "core/backstops.h"

namespace neocog::backstop {

namespace {

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

void nms(const char* op, Out keep, In boxes, double) {
  checkBoxes(op, boxes);
  const Layout& k = keep.layout;
  if (keep.dtype != DType::UInt8 || k.ndim != 1 || !k.isContiguous() || k.shape[0] != boxes.layout.shape[0]) {
    reject(op, "nms keep must be a contiguous uint8 [N]");
  }
}

}  // namespace neocog::backstop
