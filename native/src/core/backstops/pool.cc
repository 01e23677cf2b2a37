// Operands of one pooling call must agree on N, C and rank.
#include "core/backstops.h"

namespace neocog::backstop {

namespace {

void checkPoolShapes(const char* op, const PoolParams& p, const TensorRef& input, const TensorRef& output,
                     const TensorRef& indices) {
  const Layout &i = input.layout, &o = output.layout;
  bool ok = i.ndim == p.spatial + 2 && o.ndim == i.ndim && i.shape[0] == o.shape[0] && i.shape[1] == o.shape[1] &&
            input.dtype == DType::Float32 && output.dtype == DType::Float32;
  for (int d = 0; ok && d < p.spatial; ++d) ok = i.shape[2 + d] > 0 || o.shape[2 + d] == 0;
  if (indices.data) ok = ok && indices.dtype == DType::Int32 && sameShape(indices, output);
  if (!ok) reject(op, "pooling operands do not fit together");
}

}  // namespace

void poolForward(const char* op, const PoolParams& params, Out out, OptOut indices, In input) {
  checkPoolShapes(op, params, input, out, indices);
}

void poolBackward(const char* op, const PoolParams& params, Out gradInput, In gradOutput, OptIn indices) {
  checkPoolShapes(op, params, gradInput, gradOutput, indices);
  if (params.mode == PoolMode::Max && !indices.data) reject(op, "max pooling backward needs indices");
}

}  // namespace neocog::backstop
