// index_select and its backward, index_add; gather and scatter_add. The index values are only known when the kernel
// runs, so an out-of-range index is reported from here (as PyTorch's device-side check does) and poisons the output.
#include <algorithm>
#include <string>

#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"
#include "kernels/dispatch.h"
#include "kernels/indexing.h"

namespace neocog::cpu {

namespace {

// Index values are only known when the kernel runs: report the first bad one by value.
void checkIndexRange(const char* op, const TensorRef& index, int dim, int64_t size) {
  const int32_t* idx = index.as<int32_t>();
  for (int64_t k = 0; k < index.numel(); ++k) {
    const int32_t v = idx[kernels::stridedOffset(index.layout, k)];
    if (!kernels::indexInRange(v, size)) {
      fail(ErrorKind::Index, std::string(op) + ": index " + std::to_string(v) + " is out of range for dimension " +
                                 std::to_string(dim) + " with size " + std::to_string(size));
    }
  }
}

// The elements index_select can copy as one run: the dims other than `dim` that are laid
// out end to end in memory, the same way in `out` and in `in` (the stride-1 dim, then each
// dim whose stride is the run so far, in both). `length` is 1 when no dim qualifies.
struct Run {
  int64_t length = 1;
  bool member[kMaxDims] = {};
};

Run copyRun(const Layout& out, const Layout& in, int dim) {
  Run run;
  for (bool grew = true; grew;) {
    grew = false;
    for (int d = 0; d < out.ndim; ++d) {
      if (d == dim || run.member[d] || out.shape[d] == 1) continue;
      if (out.strides[d] == run.length && in.strides[d] == run.length) {
        run.member[d] = true;
        run.length *= out.shape[d];
        grew = true;
      }
    }
  }
  return run;
}

}  // namespace

void indexSelect(const TensorRef& out, const TensorRef& in, int dim, const TensorRef& index) {
  checkIndexRange("indexSelect", index, dim, in.layout.shape[dim]);
  const int32_t* idx = index.as<int32_t>();
  const Layout &o = out.layout, &x = in.layout;
  const Run run = copyRun(o, x, dim);
  kernels::dispatchDType(out.dtype, "indexSelect", [&](auto tag) {
    using T = decltype(tag);
    T* dst = out.as<T>();
    const T* src = in.as<T>();
    if (run.length >= 8) {
      // Whole runs (a channels-last pixel's channels, an RoI's C x 7 x 7 block): the
      // coordinates are worked out once per run, not per element, which made the per-element
      // loop below ~50x slower on detection's [1000, 256, 7, 7] RoI reorder (MultiScaleRoIAlign).
      const int64_t runs = out.numel() / run.length;
      const int64_t grain = std::max<int64_t>(1, kParallelGrain / run.length);
#pragma omp parallel for schedule(static) if (runs > grain)
      for (int64_t r = 0; r < runs; ++r) {
        int64_t rest = r, outOffset = 0, inOffset = 0;
        for (int d = o.ndim - 1; d >= 0; --d) {
          if (run.member[d]) continue;
          int64_t coord = rest % o.shape[d];
          rest /= o.shape[d];
          outOffset += coord * o.strides[d];
          if (d == dim) coord = idx[kernels::stridedOffset(index.layout, coord)];
          inOffset += coord * x.strides[d];
        }
        std::copy_n(src + inOffset, run.length, dst + outOffset);
      }
      return;
    }
    parallelFor(out.numel(), [&](int64_t i) {
      dst[kernels::stridedOffset(out.layout, i)] =
          src[kernels::indexSelectSource(out.layout, in.layout, dim, idx, index.layout, i)];
    });
  });
}

void gather(const TensorRef& out, const TensorRef& input, int dim, const TensorRef& index) {
  checkIndexRange("gather", index, dim, input.layout.shape[dim]);
  const int32_t* idx = index.as<int32_t>();
  kernels::dispatchDType(out.dtype, "gather", [&](auto tag) {
    using T = decltype(tag);
    T* dst = out.as<T>();
    const T* src = input.as<T>();
    parallelFor(out.numel(), [&](int64_t i) {
      const int32_t v = idx[kernels::stridedOffset(index.layout, i)];
      dst[kernels::stridedOffset(out.layout, i)] = src[kernels::gatherOffset(index.layout, input.layout, dim, v, i)];
    });
  });
}

void scatterAdd(const TensorRef& out, int dim, const TensorRef& index, const TensorRef& source) {
  // An index outside the target would write past the storage: refuse it as gather does.
  checkIndexRange("scatterAdd", index, dim, out.layout.shape[dim]);
  // One thread per line along `dim`: the elements of a line may hit the same target, the
  // lines never share one, so no two threads write the same element.
  const int32_t* idx = index.as<int32_t>();
  const int64_t length = index.layout.shape[dim];
  Layout lines = index.layout;
  lines.shape[dim] = 1;
  kernels::dispatchDType(out.dtype, "scatterAdd", [&](auto tag) {
    using T = decltype(tag);
    T* dst = out.as<T>();
    const T* src = source.as<T>();
    parallelFor(lines.numel(), [&](int64_t line) {
      int64_t rest = line, indexBase = 0, sourceBase = 0, outBase = 0;
      for (int d = lines.ndim - 1; d >= 0; --d) {
        const int64_t coord = rest % lines.shape[d];
        rest /= lines.shape[d];
        indexBase += coord * index.layout.strides[d];
        sourceBase += coord * source.layout.strides[d];
        outBase += coord * out.layout.strides[d];
      }
      for (int64_t j = 0; j < length; ++j) {
        const int32_t v = idx[indexBase + j * index.layout.strides[dim]];
        T& target = dst[outBase + v * out.layout.strides[dim]];
        target = static_cast<T>(target + src[sourceBase + j * source.layout.strides[dim]]);
      }
    });
  });
}

void indexAdd(const TensorRef& out, int dim, const TensorRef& index, const TensorRef& source) {
  // Slices of `source` are added one after another so that repeated indices accumulate
  // without races; each slice is spread over the threads.
  Layout slice = source.layout;
  slice.shape[dim] = 1;
  const int64_t sliceSize = slice.numel();
  const int32_t* idx = index.as<int32_t>();
  kernels::dispatchDType(out.dtype, "indexAdd", [&](auto tag) {
    using T = decltype(tag);
    T* dst = out.as<T>();
    const T* src = source.as<T>();
    // Runs laid out alike in both (as in indexSelect): coordinates once per run, not per element.
    const Run run = copyRun(out.layout, source.layout, dim);
    for (int64_t i = 0; i < index.numel(); ++i) {
      const int64_t target = idx[kernels::stridedOffset(index.layout, i)];
      T* outSlice = dst + target * out.layout.strides[dim];
      const T* srcSlice = src + i * source.layout.strides[dim];
      if (run.length >= 8) {
        const int64_t runs = sliceSize / run.length;
#pragma omp parallel for schedule(static) if (sliceSize > kParallelGrain)
        for (int64_t r = 0; r < runs; ++r) {
          int64_t rest = r, outOffset = 0, srcOffset = 0;
          for (int d = slice.ndim - 1; d >= 0; --d) {
            if (run.member[d] || d == dim) continue;
            const int64_t coord = rest % slice.shape[d];
            rest /= slice.shape[d];
            outOffset += coord * out.layout.strides[d];
            srcOffset += coord * source.layout.strides[d];
          }
          T* to = outSlice + outOffset;
          const T* from = srcSlice + srcOffset;
          for (int64_t k = 0; k < run.length; ++k) to[k] = static_cast<T>(to[k] + from[k]);
        }
        continue;
      }
      parallelFor(sliceSize, [&](int64_t e) {
        int64_t rest = e, outOffset = 0, srcOffset = 0;
        for (int d = slice.ndim - 1; d >= 0; --d) {
          const int64_t coord = rest % slice.shape[d];
          rest /= slice.shape[d];
          outOffset += coord * out.layout.strides[d];
          srcOffset += coord * source.layout.strides[d];
        }
        outSlice[outOffset] = static_cast<T>(outSlice[outOffset] + srcSlice[srcOffset]);
      });
    }
  });
}

// The primitives this file implements (neocog/primitives.def).
void CpuBackend::indexSelect(Out out, In input, int32_t dim, In index) { cpu::indexSelect(out, input, dim, index); }
void CpuBackend::indexAdd(InOut out, int32_t dim, In index, In source) { cpu::indexAdd(out, dim, index, source); }
void CpuBackend::gather(Out out, In input, int32_t dim, In index) { cpu::gather(out, input, dim, index); }
void CpuBackend::scatterAdd(InOut out, int32_t dim, In index, In source) { cpu::scatterAdd(out, dim, index, source); }

}  // namespace neocog::cpu
