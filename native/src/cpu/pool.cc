// Max / average / adaptive pooling (math in kernels/pool.h). Our own kernels rather than
// oneDNN's pooling: PyTorch's returnIndices and maxUnpool need explicit argmax indices
// (oneDNN keeps them in an opaque workspace), PyTorch's ceil-mode, count_include_pad,
// divisor_override and adaptive windows must match exactly, and the same math then runs
// on CUDA. Pooling is memory-bound, so a direct loop loses little.
#include "cpu/ops.h"
#include "cpu/parallel.h"
#include "kernels/pool.h"
#include "kernels/strided.h"

namespace neocog::cpu {

void poolForward(const PoolParams& p, const TensorRef& out, const TensorRef& indices, const TensorRef& input) {
  float* dst = out.as<float>();
  int32_t* idx = indices.data ? indices.as<int32_t>() : nullptr;
  const float* src = input.as<float>();
  parallelFor(out.numel(), [&](int64_t i) {
    int32_t argmax = 0;
    dst[kernels::stridedOffset(out.layout, i)] = kernels::poolValue(p, out.layout, input.layout, src, i, &argmax);
    if (idx) idx[kernels::stridedOffset(indices.layout, i)] = argmax;
  });
}

void poolBackward(const PoolParams& p, const TensorRef& gradInput, const TensorRef& gradOutput, const TensorRef& indices) {
  float* dst = gradInput.as<float>();
  const float* g = gradOutput.as<float>();
  const int32_t* idx = indices.data ? indices.as<int32_t>() : nullptr;
  parallelFor(gradInput.numel(), [&](int64_t i) {
    dst[kernels::stridedOffset(gradInput.layout, i)] =
        kernels::poolGrad(p, gradInput.layout, gradOutput.layout, g, idx, indices.layout, i);
  });
}

}  // namespace neocog::cpu
