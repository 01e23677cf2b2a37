// Stream compaction (nonzero) on CUB's DeviceSelect::Flagged (part of the CUDA toolkit):
// the items are the positions 0..n-1, the flags the mask's values (nonzero is true).
#include <cub/device/device_select.cuh>
#include <thrust/iterator/counting_iterator.h>

#include "cuda/check.h"
#include "cuda/cuda_backend.h"
#include "cuda/cudnn_desc.h"
#include "kernels/dispatch.h"

namespace neocog::cuda {

void nonzero(DeviceHandles& h, const TensorRef& positions, const TensorRef& count, const TensorRef& mask) {
  const int64_t n = mask.numel();
  if (n == 0) {
    check(cudaMemsetAsync(count.data, 0, sizeof(int32_t), h.stream()), "nonzero");
    return;
  }
  kernels::dispatchDType(mask.dtype, "nonzero", [&](auto tag) {
    using T = decltype(tag);
    const thrust::counting_iterator<int32_t> items(0);
    const auto run = [&](void* temp, size_t& bytes) {
      return cub::DeviceSelect::Flagged(temp, bytes, items, mask.as<T>(), positions.as<int32_t>(), count.as<int32_t>(),
                                        static_cast<int>(n), h.stream());
    };
    size_t bytes = 0;
    check(run(nullptr, bytes), "nonzero (cub temporary size)");
    StreamBuffer temp(bytes, h.stream());
    check(run(temp.get(), bytes), "nonzero (cub::DeviceSelect::Flagged)");
  });
}

// The primitive this file implements (neocog/primitives.def).
void CudaBackend::nonzero(Out positions, Out count, In mask) { cuda::nonzero(handles_, positions, count, mask); }

}  // namespace neocog::cuda
