// Max / average / adaptive pooling on the GPU, with the CPU backend's math (kernels/pool.h)
// rather than cuDNN pooling, which has no argmax indices, no dilation and no adaptive mode.
#include <type_traits>

#include "cuda/check.h"
#include "cuda/launch.h"
#include "cuda/cuda_backend.h"
#include "kernels/dispatch.h"
#include "kernels/pool.h"
#include "kernels/strided.h"

namespace neocog::cuda {

namespace {

// T: float or a 16-bit float (read as float; averages rounded once).
template <typename T>
__global__ void poolForwardKernel(PoolParams p, T* out, Layout outLayout, int32_t* indices, Layout indexLayout,
                                  const T* in, Layout inLayout, int64_t n) {
  NC_GRID_STRIDE_LOOP(i, n) {
    int32_t argmax = 0;
    out[kernels::stridedOffset(outLayout, i)] = kernels::fromFloat<T>(kernels::poolValue(p, outLayout, inLayout, in, i, &argmax));
    if (indices) indices[kernels::stridedOffset(indexLayout, i)] = argmax;
  }
}

__global__ void poolBackwardKernel(PoolParams p, float* gradIn, Layout inLayout, const float* gradOut, Layout outLayout,
                                   const int32_t* indices, Layout indexLayout, int64_t n) {
  NC_GRID_STRIDE_LOOP(i, n) {
    gradIn[kernels::stridedOffset(inLayout, i)] =
        kernels::poolGrad(p, inLayout, outLayout, gradOut, indices, indexLayout, i);
  }
}

}  // namespace

void poolForward(DeviceHandles& h, const PoolParams& p, const TensorRef& out, const TensorRef& indices,
                 const TensorRef& input) {
  const int64_t n = out.numel();
  if (n == 0) return;
  kernels::dispatchWithHalf(input.dtype, "pool", [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, float> || kernels::isHalfType<T>) {  // the only dtypes the backstop admits
      poolForwardKernel<T><<<gridFor(n), kBlockSize, 0, h.stream()>>>(p, out.as<T>(), out.layout,
                                                                       indices.data ? indices.as<int32_t>() : nullptr,
                                                                       indices.layout, input.as<const T>(), input.layout, n);
    }
  });
  checkLaunch("pool");
}

void poolBackward(DeviceHandles& h, const PoolParams& p, const TensorRef& gradInput, const TensorRef& gradOutput,
                  const TensorRef& indices) {
  const int64_t n = gradInput.numel();
  if (n == 0) return;
  poolBackwardKernel<<<gridFor(n), kBlockSize, 0, h.stream()>>>(
      p, gradInput.as<float>(), gradInput.layout, gradOutput.as<float>(), gradOutput.layout,
      indices.data ? indices.as<int32_t>() : nullptr, indices.layout, n);
  checkLaunch("pool backward");
}

// The primitives this file implements (neocog/primitives.def).
void CudaBackend::poolForward(const PoolParams& params, Out out, OptOut indices, In input) {
  cuda::poolForward(handles_, params, out, indices, input);
}
void CudaBackend::poolBackward(const PoolParams& params, Out gradInput, In gradOutput, OptIn indices) {
  cuda::poolBackward(handles_, params, gradInput, gradOutput, indices);
}

}  // namespace neocog::cuda
