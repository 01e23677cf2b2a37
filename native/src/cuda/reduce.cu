// Reductions: one block per output element, threads stride over the reduced elements and
// combine in shared memory (tree order). The combine math is kernels/reduce.h.
#include <type_traits>

#include "cuda/check.h"
#include "cuda/launch.h"
#include "cuda/cuda_backend.h"
#include "kernels/dispatch.h"
#include "kernels/reduce.h"
#include "kernels/strided.h"

namespace neocog::cuda {

namespace {

template <typename T, typename Acc>
__global__ void reduceKernel(ReduceOp op, T* out, Layout outLayout, const T* in, kernels::ReducePlan plan,
                             int64_t outputs) {
  __shared__ Acc partial[kBlockSize];
  for (int64_t o = blockIdx.x; o < outputs; o += gridDim.x) {
    const T* base = in + kernels::stridedOffset(plan.kept, o);
    Acc acc = kernels::reduceIdentity<T, Acc>(op);
    for (int64_t r = threadIdx.x; r < plan.count; r += blockDim.x) {
      acc = kernels::reduceCombine<Acc>(op, acc, static_cast<Acc>(base[kernels::stridedOffset(plan.reduced, r)]));
    }
    partial[threadIdx.x] = acc;
    __syncthreads();
    for (int width = blockDim.x / 2; width > 0; width /= 2) {
      if (threadIdx.x < width) partial[threadIdx.x] = kernels::reduceCombine<Acc>(op, partial[threadIdx.x], partial[threadIdx.x + width]);
      __syncthreads();
    }
    if (threadIdx.x == 0) out[kernels::stridedOffset(outLayout, o)] = kernels::reduceFinish<T, Acc>(op, partial[0], plan.count);
    __syncthreads();  // partial[] is reused by the next output
  }
}

}  // namespace

void reduce(DeviceHandles& h, ReduceOp op, const TensorRef& out, const TensorRef& in) {
  const int64_t outputs = out.numel();
  if (outputs == 0) return;
  const kernels::ReducePlan plan = kernels::planReduce(out.layout, in.layout);
  const unsigned grid = static_cast<unsigned>(std::min<int64_t>(outputs, 65535));
  kernels::dispatchDType(out.dtype, "reduce", [&](auto tag) {
    using T = decltype(tag);
    using Acc = std::conditional_t<std::is_floating_point_v<T>, float, long long>;
    reduceKernel<T, Acc><<<grid, kBlockSize, 0, h.stream()>>>(op, out.as<T>(), out.layout, in.as<T>(), plan, outputs);
  });
  checkLaunch("reduce");
}

// The primitives this file implements (neocog/primitives.def).
void CudaBackend::reduce(ReduceOp code, Out out, In input) { cuda::reduce(handles_, code, out, input); }

}  // namespace neocog::cuda
