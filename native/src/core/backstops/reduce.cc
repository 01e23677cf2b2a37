#include "core/backstops.h"

namespace neocog::backstop {

void reduce(const char* op, ReduceOp, Out out, In input) {
  if (out.layout.ndim != input.layout.ndim || out.dtype != input.dtype) {
    reject(op, "reduce needs out of the input's rank and dtype");
  }
  for (int d = 0; d < input.layout.ndim; ++d) {
    if (out.layout.shape[d] != 1 && out.layout.shape[d] != input.layout.shape[d]) {
      reject(op, "reduce output shape does not match the input");
    }
  }
}

void scan(const char* op, ScanOp code, Out out, In input, int32_t dim, bool) {
  const bool ok = (code == ScanOp::Sum || code == ScanOp::Prod) && sameShape(out, input) && out.dtype == input.dtype &&
                  dim >= 0 && dim < input.layout.ndim;
  if (!ok) reject(op, "scan needs out of the input's shape and dtype and a dim in range");
}

}  // namespace neocog::backstop
