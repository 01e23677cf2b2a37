// Creation kernels: fill, arange and the Philox draws (shared math in kernels/random.h).
#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"
#include "kernels/dispatch.h"
#include "kernels/elementwise.h"
#include "kernels/random.h"
#include "kernels/strided.h"

namespace neocog::cpu {

namespace {

// Calls fn(logicalIndex, elementOffset) for every element of `layout`.
template <typename Fn>
void forEachElement(const Layout& layout, Fn&& fn) {
  const int64_t n = layout.numel();
  if (layout.isContiguous()) {
    parallelFor(n, [&](int64_t i) { fn(i, i); });
  } else {
    parallelFor(n, [&](int64_t i) { fn(i, kernels::stridedOffset(layout, i)); });
  }
}

}  // namespace

void fill(const TensorRef& out, double value) {
  kernels::dispatchWithHalf(out.dtype, "fill", [&](auto tag) {
    using T = decltype(tag);
    const T v = kernels::castValue<T>(value);
    T* data = out.as<T>();
    forEachElement(out.layout, [&](int64_t, int64_t offset) { data[offset] = v; });
  });
}

void arange(const TensorRef& out, double start, double step) {
  kernels::dispatchDType(out.dtype, "arange", [&](auto tag) {
    using T = decltype(tag);
    T* data = out.as<T>();
    forEachElement(out.layout, [&](int64_t i, int64_t offset) {
      data[offset] = kernels::castValue<T>(start + static_cast<double>(i) * step);
    });
  });
}

void uniform(const TensorRef& out, RandomState rng, double low, double high) {
  float* data = out.as<float>();
  const float lo = static_cast<float>(low), hi = static_cast<float>(high);
  forEachElement(out.layout, [&](int64_t i, int64_t offset) {
    data[offset] = kernels::uniformAt(rng.seed, rng.offset + static_cast<uint64_t>(i), lo, hi);
  });
}

void normal(const TensorRef& out, RandomState rng, double mean, double stddev) {
  float* data = out.as<float>();
  const float m = static_cast<float>(mean), s = static_cast<float>(stddev);
  const int64_t n = out.numel();
  if (!out.layout.isContiguous() || n < 2) {
    forEachElement(out.layout, [&](int64_t i, int64_t offset) {
      data[offset] = kernels::normalAt(rng.seed, rng.offset + static_cast<uint64_t>(i), m, s);
    });
    return;
  }
  // Whole Box-Muller pairs: one Philox block and one log for two values. A draw starting
  // on an odd counter has a lone first element, and maybe a lone last one.
  const int64_t head = static_cast<int64_t>(rng.offset & 1);
  if (head) data[0] = kernels::normalAt(rng.seed, rng.offset, m, s);
  const int64_t pairs = (n - head) / 2;
  const uint64_t firstPair = (rng.offset + head) >> 1;
  parallelFor(pairs, [&](int64_t p) {
    float* slot = data + head + 2 * p;
    kernels::normalPair(rng.seed, firstPair + static_cast<uint64_t>(p), m, s, slot, slot + 1);
  });
  if (head + 2 * pairs < n) data[n - 1] = kernels::normalAt(rng.seed, rng.offset + static_cast<uint64_t>(n - 1), m, s);
}

// The primitives this file implements (neocog/primitives.def).
void CpuBackend::fill(Out out, double value) { cpu::fill(out, value); }
void CpuBackend::arange(Out out, double start, double step) { cpu::arange(out, start, step); }
void CpuBackend::uniform(Out out, RandomState rng, double low, double high) { cpu::uniform(out, rng, low, high); }
void CpuBackend::normal(Out out, RandomState rng, double mean, double stddev) { cpu::normal(out, rng, mean, stddev); }

}  // namespace neocog::cpu
