// Reductions over any set of dims (sum, mean, max, min); float sums accumulate in double.
#include <type_traits>

#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"
#include "kernels/dispatch.h"
#include "kernels/reduce.h"
#include "kernels/strided.h"

namespace neocog::cpu {

void reduce(ReduceOp op, const TensorRef& out, const TensorRef& in) {
  const kernels::ReducePlan plan = kernels::planReduce(out.layout, in.layout);
  // The reduced elements are walked row by row: the last reduced dim is a strided loop.
  int last = -1;
  for (int d = in.layout.ndim - 1; d >= 0 && last < 0; --d) {
    if (plan.reduced.shape[d] != 1) last = d;
  }
  const int64_t inner = last < 0 ? 1 : plan.reduced.shape[last];
  const int64_t innerStride = last < 0 ? 0 : plan.reduced.strides[last];
  Layout outer = plan.reduced;
  if (last >= 0) outer.shape[last] = 1;
  const int64_t outerCount = outer.numel();

  kernels::dispatchDType(out.dtype, "reduce", [&](auto tag) {
    using T = decltype(tag);
    using Acc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;
    T* dst = out.as<T>();
    const T* src = in.as<T>();
    parallelFor(out.numel(), [&](int64_t o) {
      const T* base = src + kernels::stridedOffset(plan.kept, o);
      Acc acc = kernels::reduceIdentity<T, Acc>(op);
      for (int64_t r = 0; r < outerCount; ++r) {
        const T* row = base + kernels::stridedOffset(outer, r);
        for (int64_t j = 0; j < inner; ++j) acc = kernels::reduceCombine<Acc>(op, acc, static_cast<Acc>(row[j * innerStride]));
      }
      dst[kernels::stridedOffset(out.layout, o)] = kernels::reduceFinish<T, Acc>(op, acc, plan.count);
    });
  });
}

// The primitives this file implements (neocog/primitives.def).
void CpuBackend::reduce(ReduceOp code, Out out, In input) { cpu::reduce(code, out, input); }

}  // namespace neocog::cpu
