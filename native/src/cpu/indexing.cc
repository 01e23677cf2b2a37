// index_select and its backward, index_add; gather and scatter_add. The index values are only known when the kernel
// runs, so an out-of-range index is reported from here (as PyTorch's device-side check does) and poisons the output.
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

}  // namespace

void indexSelect(const TensorRef& out, const TensorRef& in, int dim, const TensorRef& index) {
  checkIndexRange("indexSelect", index, dim, in.layout.shape[dim]);
  const int32_t* idx = index.as<int32_t>();
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
    for (int64_t i = 0; i < index.numel(); ++i) {
      const int64_t target = idx[kernels::stridedOffset(index.layout, i)];
      T* outSlice = dst + target * out.layout.strides[dim];
      const T* srcSlice = src + i * source.layout.strides[dim];
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
