// Row-wise stable argsort with std::stable_sort (rows in parallel). oneDNN has no sort.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <type_traits>

#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"
#include "kernels/dispatch.h"

namespace neocog::cpu {

void argsort(const TensorRef& indices, const TensorRef& input, bool descending) {
  const int64_t n = input.layout.ndim == 0 ? 1 : input.layout.shape[input.layout.ndim - 1];
  if (n == 0) return;
  const int64_t rows = input.numel() / n;
  int32_t* out = indices.as<int32_t>();
  kernels::dispatchDType(input.dtype, "sort", [&](auto tag) {
    using T = decltype(tag);
    const T* values = input.as<T>();
    // NaN is the largest value: it goes last ascending and first descending.
    const auto less = [](T a, T b) {
      if constexpr (std::is_floating_point_v<T>) {
        if (std::isnan(a)) return false;
        if (std::isnan(b)) return true;
      }
      return a < b;
    };
#pragma omp parallel for schedule(dynamic, 1) if (rows > 1 && rows * n > kParallelGrain)
    for (int64_t r = 0; r < rows; ++r) {
      const T* row = values + r * n;
      int32_t* order = out + r * n;
      std::iota(order, order + n, 0);
      if (descending) {
        std::stable_sort(order, order + n, [&](int32_t a, int32_t b) { return less(row[b], row[a]); });
      } else {
        std::stable_sort(order, order + n, [&](int32_t a, int32_t b) { return less(row[a], row[b]); });
      }
    }
  });
}

// The primitives this file implements (neocog/primitives.def).
void CpuBackend::argsort(Out indices, In input, bool descending) { cpu::argsort(indices, input, descending); }

}  // namespace neocog::cpu
