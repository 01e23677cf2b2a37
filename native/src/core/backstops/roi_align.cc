// rois contiguous float32 [K, 5]; maps float32 rank 4; pooled maps [K, C, ph, pw]; what the
// kernel writes is contiguous.
#include "core/backstops.h"

namespace neocog::backstop {

namespace {

void checkRoiAlign(const char* op, const RoiAlignParams& p, const TensorRef& image, const TensorRef& pooled,
                   const TensorRef& rois, const TensorRef& written) {
  if (p.pooledH < 1 || p.pooledW < 1) reject(op, "roiAlign output size must be >= 1");
  const Layout &x = image.layout, &y = pooled.layout, &r = rois.layout;
  const bool ok = image.dtype == DType::Float32 && pooled.dtype == DType::Float32 && rois.dtype == DType::Float32 &&
                  x.ndim == 4 && y.ndim == 4 && r.ndim == 2 && r.shape[1] == 5 && r.isContiguous() &&
                  y.shape[0] == r.shape[0] && y.shape[1] == x.shape[1] && y.shape[2] == p.pooledH &&
                  y.shape[3] == p.pooledW && written.layout.isContiguous();
  if (!ok) reject(op, "roiAlign operands have inconsistent shapes, dtypes or layouts");
}

}  // namespace

void roiAlignForward(const char* op, const RoiAlignParams& params, Out out, In input, In rois) {
  checkRoiAlign(op, params, input, out, rois, out);
}

void roiAlignBackward(const char* op, const RoiAlignParams& params, Out gradInput, In gradOutput, In rois) {
  checkRoiAlign(op, params, gradInput, gradOutput, rois, gradInput);
}

}  // namespace neocog::backstop
