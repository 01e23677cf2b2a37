// The CPU thread pool is OpenMP's (oneDNN runs on the same one), so our own kernels and
// oneDNN's share threads instead of oversubscribing the cores.
#pragma once

#include <cstdint>

namespace neocog::cpu {

// Below this many elements a parallel region costs more than it saves.
constexpr int64_t kParallelGrain = 32768;

template <typename Fn>
void parallelFor(int64_t n, Fn&& fn) {
#pragma omp parallel for schedule(static) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) fn(i);
}

}  // namespace neocog::cpu
