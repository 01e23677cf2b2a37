#include "core/backstops.h"

namespace neocog::backstop {

void connectedComponents(const char* op, Out labels, Out counts, In mask, int32_t connectivity) {
  const bool planar = connectivity == 4 || connectivity == 8;
  const bool volumetric = connectivity == 6 || connectivity == 18 || connectivity == 26;
  bool ok = (planar || volumetric) && mask.layout.ndim == 4 && mask.layout.isContiguous() &&
            labels.dtype == DType::Int32 && labels.layout.isContiguous() && sameShape(labels, mask) &&
            counts.dtype == DType::Int32 && counts.layout.isContiguous() && counts.numel() == mask.layout.shape[0] &&
            mask.numel() / (mask.layout.shape[0] > 0 ? mask.layout.shape[0] : 1) < (int64_t{1} << 31) - 1;
  ok = ok && (volumetric || mask.layout.shape[1] == 1);
  if (!ok) {
    reject(op, "connectedComponents needs a contiguous mask [B, D, H, W] (D = 1 for connectivity 4/8), int32 labels of "
               "its shape, int32 counts [B] and connectivity 4, 8, 6, 18 or 26");
  }
}

}  // namespace neocog::backstop
