// index_select: the index values are only known when the kernel runs, so an out-of-range
// index is reported from here (as PyTorch's device-side check does) and poisons the output.
#include <string>

#include "cpu/ops.h"
#include "cpu/parallel.h"
#include "kernels/dispatch.h"
#include "kernels/indexing.h"

namespace neocog::cpu {

void indexSelect(const TensorRef& out, const TensorRef& in, int dim, const TensorRef& index) {
  const int64_t size = in.layout.shape[dim];
  const int32_t* idx = index.as<int32_t>();
  for (int64_t k = 0; k < index.numel(); ++k) {
    const int32_t v = idx[kernels::stridedOffset(index.layout, k)];
    if (!kernels::indexInRange(v, size)) {
      fail(ErrorKind::Index, "indexSelect: index " + std::to_string(v) + " is out of range for dimension " +
                                 std::to_string(dim) + " with size " + std::to_string(size));
    }
  }
  kernels::dispatchDType(out.dtype, "indexSelect", [&](auto tag) {
    using T = decltype(tag);
    T* dst = out.as<T>();
    const T* src = in.as<T>();
    parallelFor(out.numel(), [&](int64_t i) {
      dst[kernels::stridedOffset(out.layout, i)] =
          src[kernels::indexSelectSource(out.layout, in.layout, dim, idx, index.layout, i)];
    });
  });
}

}  // namespace neocog::cpu
