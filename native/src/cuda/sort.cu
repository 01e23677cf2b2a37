// Row-wise stable argsort on CUB's segmented sort (part of the CUDA toolkit): keys are the
// row's values, payloads the positions 0..n-1.
#include <cub/device/device_segmented_sort.cuh>

#include "cuda/check.h"
#include "cuda/cudnn_desc.h"
#include "cuda/launch.h"
#include "cuda/cuda_backend.h"
#include "kernels/dispatch.h"

namespace neocog::cuda {

namespace {

__global__ void rowPositionsKernel(int32_t* positions, int64_t rowLength, int64_t n) {
  NC_GRID_STRIDE_LOOP(i, n) { positions[i] = static_cast<int32_t>(i % rowLength); }
}

__global__ void rowOffsetsKernel(int* offsets, int64_t rowLength, int64_t rows) {
  NC_GRID_STRIDE_LOOP(i, rows + 1) { offsets[i] = static_cast<int>(i * rowLength); }
}

}  // namespace

void argsort(DeviceHandles& h, const TensorRef& indices, const TensorRef& input, bool descending) {
  const int64_t n = input.layout.ndim == 0 ? 1 : input.layout.shape[input.layout.ndim - 1];
  const int64_t total = input.numel();
  if (n == 0 || total == 0) return;
  const int64_t rows = total / n;
  StreamBuffer positions(total * sizeof(int32_t), h.stream());
  StreamBuffer offsets((rows + 1) * sizeof(int), h.stream());
  rowPositionsKernel<<<gridFor(total), kBlockSize, 0, h.stream()>>>(static_cast<int32_t*>(positions.get()), n, total);
  rowOffsetsKernel<<<gridFor(rows + 1), kBlockSize, 0, h.stream()>>>(static_cast<int*>(offsets.get()), n, rows);
  checkLaunch("sort");
  const int* begin = static_cast<const int*>(offsets.get());
  kernels::dispatchDType(input.dtype, "sort", [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, int32_t>) {
      StreamBuffer sortedKeys(total * sizeof(T), h.stream());
      const auto run = [&](void* temp, size_t& bytes) {
        const T* keys = input.as<T>();
        T* keysOut = static_cast<T*>(sortedKeys.get());
        const int32_t* valuesIn = static_cast<const int32_t*>(positions.get());
        int32_t* valuesOut = indices.as<int32_t>();
        return descending ? cub::DeviceSegmentedSort::StableSortPairsDescending(
                                temp, bytes, keys, keysOut, valuesIn, valuesOut, static_cast<int>(total),
                                static_cast<int>(rows), begin, begin + 1, h.stream())
                          : cub::DeviceSegmentedSort::StableSortPairs(temp, bytes, keys, keysOut, valuesIn, valuesOut,
                                                                      static_cast<int>(total), static_cast<int>(rows),
                                                                      begin, begin + 1, h.stream());
      };
      size_t bytes = 0;
      check(run(nullptr, bytes), "sort (cub temporary size)");
      StreamBuffer temp(bytes, h.stream());
      check(run(temp.get(), bytes), "sort (cub::DeviceSegmentedSort)");
    } else {
      fail(ErrorKind::DType, std::string("sort: unsupported dtype ") + dtypeName(input.dtype) + " on CUDA");
    }
  });
}

// The primitives this file implements (neocog/primitives.def).
void CudaBackend::argsort(Out indices, In input, bool descending) {
  cuda::argsort(handles_, indices, input, descending);
}

}  // namespace neocog::cuda
