// Operands of one pooling call must agree on N, C and rank.
#include "core/backstops.h"

namespace neocog::backstop {

namespace {

// `halves`: 16-bit float operands allowed (the forward pass; its backward is float32's).
void checkPoolShapes(const char* op, const PoolParams& p, const TensorRef& input, const TensorRef& output,
                     const TensorRef& indices, bool halves) {
  bool valid = p.spatial >= 1 && p.spatial <= 3 && (p.mode == PoolMode::Max || p.mode == PoolMode::Avg) &&
               p.divisorOverride >= 0;
  for (int d = 0; valid && d < p.spatial; ++d) {
    valid = p.kernel[d] >= 1 && p.stride[d] >= 1 && p.dilation[d] >= 1 && p.padding[d] >= 0;
  }
  if (!valid) reject(op, "pooling geometry needs 1 to 3 spatial dims, a known mode, kernel/stride/dilation >= 1");
  const Layout &i = input.layout, &o = output.layout;
  bool ok = i.ndim == p.spatial + 2 && o.ndim == i.ndim && i.shape[0] == o.shape[0] && i.shape[1] == o.shape[1] &&
            input.dtype == output.dtype && (input.dtype == DType::Float32 || (halves && isHalfDType(input.dtype)));
  for (int d = 0; ok && d < p.spatial; ++d) ok = i.shape[2 + d] > 0 || o.shape[2 + d] == 0;
  if (indices.data) ok = ok && indices.dtype == DType::Int32 && sameShape(indices, output);
  if (!ok) reject(op, "pooling operands do not fit together");
}

}  // namespace

void poolForward(const char* op, const PoolParams& params, Out out, OptOut indices, In input) {
  checkPoolShapes(op, params, input, out, indices, true);
}

void poolBackward(const char* op, const PoolParams& params, Out gradInput, In gradOutput, OptIn indices) {
  checkPoolShapes(op, params, gradInput, gradOutput, indices, false);
  // An empty tensor may have no memory at all: only a non-empty gradient needs indices.
  if (params.mode == PoolMode::Max && !indices.data && gradOutput.numel() > 0) {
    reject(op, "max pooling backward needs indices");
  }
}

}  // namespace neocog::backstop
