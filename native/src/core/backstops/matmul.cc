#include "core/backstops.h"

namespace neocog::backstop {

// [B, M, K] x [B, K, N] -> [B, M, N], one float dtype.
void matmul(const char* op, Out out, In a, In b, const MathOptions&) {
  bool ok = true;
  for (const TensorRef* t : {static_cast<const TensorRef*>(&out), static_cast<const TensorRef*>(&a),
                             static_cast<const TensorRef*>(&b)}) {
    ok = ok && t->layout.ndim == 3 && isFloatingDType(t->dtype) && t->dtype == out.dtype;
  }
  const int64_t* o = out.layout.shape;
  ok = ok && a.layout.shape[0] == o[0] && b.layout.shape[0] == o[0] && a.layout.shape[1] == o[1] &&
       b.layout.shape[2] == o[2] && a.layout.shape[2] == b.layout.shape[1];
  if (!ok) reject(op, "matmul operands must share one float dtype, [B, M, K] x [B, K, N]");
}

}  // namespace neocog::backstop
