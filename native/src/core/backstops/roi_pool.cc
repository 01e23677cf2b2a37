// rois contiguous float32 [K, 5]; maps float32 rank 4; pooled maps and argmax [K, C, ph, pw]
// (argmax int32 and contiguous); what the kernel writes is contiguous.
#include "core/backstops.h"

namespace neocog::backstop {

namespace {

void checkRoiPool(const char* op, const RoiPoolParams& p, const TensorRef& image, const TensorRef& pooled,
                  const TensorRef& argmax, const TensorRef& rois, const TensorRef& written) {
  if (p.pooledH < 1 || p.pooledW < 1) reject(op, "roiPool output size must be >= 1");
  const Layout &x = image.layout, &y = pooled.layout, &r = rois.layout;
  const bool ok = image.dtype == DType::Float32 && pooled.dtype == DType::Float32 && rois.dtype == DType::Float32 &&
                  argmax.dtype == DType::Int32 && x.ndim == 4 && y.ndim == 4 && r.ndim == 2 && r.shape[1] == 5 &&
                  r.isContiguous() && y.shape[0] == r.shape[0] && y.shape[1] == x.shape[1] &&
                  y.shape[2] == p.pooledH && y.shape[3] == p.pooledW && sameShape(argmax, pooled) &&
                  argmax.layout.isContiguous() && written.layout.isContiguous();
  if (!ok) reject(op, "roiPool operands have inconsistent shapes, dtypes or layouts");
}

}  // namespace

void roiPoolForward(const char* op, const RoiPoolParams& params, Out out, Out argmax, In input, In rois) {
  checkRoiPool(op, params, input, out, argmax, rois, out);
}

void roiPoolBackward(const char* op, const RoiPoolParams& params, Out gradInput, In gradOutput, In argmax, In rois) {
  checkRoiPool(op, params, gradInput, gradOutput, argmax, rois, gradInput);
}

}  // namespace neocog::backstop
