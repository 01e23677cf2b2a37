// The CPU thread pool is OpenMP's (oneDNN runs on the same one), so our own kernels and
// oneDNN's share threads instead of oversubscribing the cores.
#pragma once

#include <cstdint>

namespace neocog::cpu {

// Below this many elements a parallel region costs more than it saves.
constexpr int64_t kParallelGrain = 32768;

// fn(i) for every i in [0, n): over the OpenMP team when `parallel`, otherwise a plain loop
// that never enters OpenMP. GCC compiles `#pragma omp parallel if (false)` to a
// GOMP_parallel call all the same, and libgomp made a futex call in it on every small
// kernel: most of the stream thread's time per 16-element add (issue 11).
template <typename Fn>
void parallelForIf(bool parallel, int64_t n, Fn&& fn) {
  if (!parallel) {
    for (int64_t i = 0; i < n; ++i) fn(i);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) fn(i);
}

template <typename Fn>
void parallelFor(int64_t n, Fn&& fn) {
  parallelForIf(n > kParallelGrain, n, fn);
}

}  // namespace neocog::cpu
