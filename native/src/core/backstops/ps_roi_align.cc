// rois contiguous float32 [K, 5]; maps float32 rank 4 with C divisible by pooledH * pooledW;
// pooled maps [K, C / (pooledH * pooledW), ph, pw]; what the kernel writes is contiguous.
#include "core/backstops.h"

namespace neocog::backstop {

namespace {

void checkPsRoiAlign(const char* op, const PsRoiAlignParams& p, const TensorRef& image, const TensorRef& pooled,
                     const TensorRef& rois, const TensorRef& written) {
  if (p.pooledH < 1 || p.pooledW < 1) reject(op, "psRoiAlign output size must be >= 1");
  const Layout &x = image.layout, &y = pooled.layout, &r = rois.layout;
  const int64_t bins = p.pooledH * p.pooledW;
  const bool ok = image.dtype == DType::Float32 && pooled.dtype == DType::Float32 && rois.dtype == DType::Float32 &&
                  x.ndim == 4 && y.ndim == 4 && r.ndim == 2 && r.shape[1] == 5 && r.isContiguous() &&
                  x.shape[1] % bins == 0 && y.shape[0] == r.shape[0] && y.shape[1] * bins == x.shape[1] &&
                  y.shape[2] == p.pooledH && y.shape[3] == p.pooledW && written.layout.isContiguous();
  if (!ok) reject(op, "psRoiAlign operands have inconsistent shapes, dtypes or layouts");
}

}  // namespace

void psRoiAlignForward(const char* op, const PsRoiAlignParams& params, Out out, In input, In rois) {
  checkPsRoiAlign(op, params, input, out, rois, out);
}

void psRoiAlignBackward(const char* op, const PsRoiAlignParams& params, Out gradInput, In gradOutput, In rois) {
  checkPsRoiAlign(op, params, gradInput, gradOutput, rois, gradInput);
}

}  // namespace neocog::backstop
