// Stream compaction (nonzero): each thread counts the nonzero elements of its chunk, a
// prefix sum over the chunks gives each thread where its positions start, and a second pass
// writes them. Our own loop: neither oneDNN nor a BLAS compacts.
#include <omp.h>

#include <vector>

#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"
#include "kernels/dispatch.h"

namespace neocog::cpu {

void nonzero(const TensorRef& positions, const TensorRef& count, const TensorRef& mask) {
  const int64_t n = mask.numel();
  int32_t* out = positions.as<int32_t>();
  kernels::dispatchDType(mask.dtype, "nonzero", [&](auto tag) {
    using T = decltype(tag);
    const T* m = mask.as<T>();
    const int requested = n > kParallelGrain ? omp_get_max_threads() : 1;
    std::vector<int64_t> starts(static_cast<size_t>(requested) + 1, 0);
    int threads = 1;
#pragma omp parallel num_threads(requested)
    {
      // The team may be smaller than requested: chunk by the threads that actually run.
      const int t = omp_get_thread_num(), team = omp_get_num_threads();
      const int64_t begin = n * t / team, end = n * (t + 1) / team;
      int64_t found = 0;
      for (int64_t i = begin; i < end; ++i) found += m[i] != T(0);
      starts[t + 1] = found;
#pragma omp barrier
#pragma omp single
      {
        threads = team;
        for (int k = 0; k < team; ++k) starts[k + 1] += starts[k];
      }  // implicit barrier: every start is known
      int64_t k = starts[t];
      for (int64_t i = begin; i < end; ++i) {
        if (m[i] != T(0)) out[k++] = static_cast<int32_t>(i);
      }
    }
    *count.as<int32_t>() = static_cast<int32_t>(starts[threads]);
  });
}

// The primitive this file implements (neocog/primitives.def).
void CpuBackend::nonzero(Out positions, Out count, In mask) { cpu::nonzero(positions, count, mask); }

}  // namespace neocog::cpu
