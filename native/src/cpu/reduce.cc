// Reductions over any set of dims (sum, mean, max, min); float sums accumulate in double.
// Three loops, by where the input's unit-stride dim is:
//  - kept (a per-channel sum of a channels-last activation, amax over dim 0): rows of the
//    reduced dims are added into a chunk of accumulators, contiguous reads throughout. One
//    strided walk per output read a cache line per element: a RetinaNet training step spent
//    1.0 s of its 3.4 in sum kernels, mostly such per-channel sums (0.15 s with this loop);
//  - reduced, with fewer outputs than threads (a loss summed to a scalar): the reduced rows
//    are split between the threads and their partial results combined in thread order;
//  - otherwise one output per iteration, over the threads when the work is large.
#include <omp.h>

#include <algorithm>
#include <type_traits>
#include <vector>

#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"
#include "cpu/strided_loop.h"
#include "kernels/dispatch.h"
#include "kernels/reduce.h"
#include "kernels/strided.h"

namespace neocog::cpu {

namespace {

// Accumulators per task of the kept-unit-stride loop.
constexpr int64_t kColumnChunk = 256;

// The kept dim whose input stride is 1 (and size > 1), or -1.
int unitStrideKeptDim(const kernels::ReducePlan& plan) {
  for (int d = 0; d < plan.kept.ndim; ++d) {
    if (plan.kept.shape[d] > 1 && plan.kept.strides[d] == 1) return d;
  }
  return -1;
}

// Rows of the reduced dims per part when a per-channel sum has too few outputs to keep the
// threads busy: the rows are then split in parts, summed apart and combined in part order
// (the parts depend on the sizes only, so the result does not depend on the thread count).
// A U-Net's transposed-convolution bias gradients (channels-last [4, 16, 128, 128] summed
// over N, H, W) had run on one thread, computing each row's offset by divisions.
constexpr int64_t kRowsPerPart = 1024;
constexpr int64_t kMaxParts = 16;

template <typename T, typename Acc>
void reduceColumns(ReduceOp op, const TensorRef& out, const TensorRef& in, const kernels::ReducePlan& plan, int dim) {
  const int64_t columns = plan.kept.shape[dim], outStride = out.layout.strides[dim];
  Layout keptOther = plan.kept, outOther = out.layout;
  keptOther.shape[dim] = 1;
  outOther.shape[dim] = 1;
  const Layout reduced = detail::coalesce<1>(plan.reduced, {&plan.reduced})[0];  // memory order, merged
  const int64_t others = keptOther.numel(), rows = plan.count;
  const int64_t chunks = (columns + kColumnChunk - 1) / kColumnChunk;
  const int64_t tasks = others * chunks;
  const int64_t parts = tasks > 1 ? 1 : std::clamp<int64_t>(rows / kRowsPerPart, 1, kMaxParts);
  std::vector<Acc> partial(static_cast<size_t>(parts > 1 ? parts * columns : 0));  // one task: columns <= the chunk
  T* dst = out.as<T>();
  const T* src = in.as<T>();
  const bool sum = op == ReduceOp::Sum || op == ReduceOp::Mean;
  const auto write = [&](int64_t o, int64_t j0, int64_t width, const Acc* acc) {
    T* d = dst + kernels::stridedOffset(outOther, o) + j0 * outStride;
    for (int64_t j = 0; j < width; ++j) d[j * outStride] = kernels::reduceFinish<T, Acc>(op, acc[j], rows);
  };
  parallelForIf(others * columns * rows > kParallelGrain && tasks * parts > 1, tasks * parts, [&](int64_t job) {
    const int64_t task = job / parts, part = job % parts;
    const int64_t o = task / chunks, j0 = (task % chunks) * kColumnChunk;
    const int64_t width = std::min(kColumnChunk, columns - j0);
    const T* base = src + kernels::stridedOffset(keptOther, o) + j0;
    Acc acc[kColumnChunk];
    std::fill(acc, acc + width, kernels::reduceIdentity<T, Acc>(op));
    forEachIndex<1>(reduced.shape, reduced.ndim, {reduced.strides}, part * rows / parts, (part + 1) * rows / parts,
                    [&](const std::array<int64_t, 1>& offset) {
      const T* row = base + offset[0];
      if (sum) {
        for (int64_t j = 0; j < width; ++j) acc[j] += static_cast<Acc>(row[j]);
      } else {
        for (int64_t j = 0; j < width; ++j) acc[j] = kernels::reduceCombine<Acc>(op, acc[j], static_cast<Acc>(row[j]));
      }
    });
    if (parts == 1) write(o, j0, width, acc);
    else std::copy(acc, acc + width, partial.begin() + part * columns);
  });
  if (parts == 1) return;
  Acc* acc = partial.data();
  for (int64_t part = 1; part < parts; ++part) {
    const Acc* more = acc + part * columns;
    for (int64_t j = 0; j < columns; ++j) acc[j] = sum ? acc[j] + more[j] : kernels::reduceCombine<Acc>(op, acc[j], more[j]);
  }
  write(0, 0, columns, acc);
}

}  // namespace

void reduce(ReduceOp op, const TensorRef& out, const TensorRef& in) {
  const kernels::ReducePlan plan = kernels::planReduce(out.layout, in.layout);
  const int64_t outputs = out.numel();
  if (outputs == 0) return;
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
  const int keptUnit = unitStrideKeptDim(plan);

  kernels::dispatchDType(out.dtype, "reduce", [&](auto tag) {
    using T = decltype(tag);
    using Acc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;
    if (keptUnit >= 0 && plan.count > 1) {
      reduceColumns<T, Acc>(op, out, in, plan, keptUnit);
      return;
    }
    T* dst = out.as<T>();
    const T* src = in.as<T>();
    // Output o's reduction over outer rows [r0, r1).
    const auto partial = [&](int64_t o, int64_t r0, int64_t r1) {
      const T* base = src + kernels::stridedOffset(plan.kept, o);
      Acc acc = kernels::reduceIdentity<T, Acc>(op);
      for (int64_t r = r0; r < r1; ++r) {
        const T* row = base + kernels::stridedOffset(outer, r);
        for (int64_t j = 0; j < inner; ++j) acc = kernels::reduceCombine<Acc>(op, acc, static_cast<Acc>(row[j * innerStride]));
      }
      return acc;
    };
    const int threads = omp_get_max_threads();
    if (outputs < threads && plan.count > kParallelGrain && outerCount >= threads) {
      std::vector<Acc> partials(static_cast<size_t>(threads * outputs), kernels::reduceIdentity<T, Acc>(op));
#pragma omp parallel num_threads(threads)
      {
        const int t = omp_get_thread_num(), team = omp_get_num_threads();
        const int64_t r0 = outerCount * t / team, r1 = outerCount * (t + 1) / team;
        for (int64_t o = 0; o < outputs; ++o) partials[t * outputs + o] = partial(o, r0, r1);
      }
      for (int64_t o = 0; o < outputs; ++o) {
        Acc acc = kernels::reduceIdentity<T, Acc>(op);
        for (int t = 0; t < threads; ++t) acc = kernels::reduceCombine<Acc>(op, acc, partials[t * outputs + o]);
        dst[kernels::stridedOffset(out.layout, o)] = kernels::reduceFinish<T, Acc>(op, acc, plan.count);
      }
      return;
    }
    parallelForIf(outputs > 1 && outputs * plan.count > kParallelGrain, outputs, [&](int64_t o) {
      dst[kernels::stridedOffset(out.layout, o)] = kernels::reduceFinish<T, Acc>(op, partial(o, 0, outerCount), plan.count);
    });
  });
}

// The primitives this file implements (neocog/primitives.def).
void CpuBackend::reduce(ReduceOp code, Out out, In input) { cpu::reduce(code, out, input); }

}  // namespace neocog::cpu
