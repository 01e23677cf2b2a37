// Unary elementwise ops and their backward (math in kernels/unary.h).
#include "cuda/check.h"
#include "cuda/launch.h"
#include "cuda/cuda_backend.h"
#include "kernels/dispatch.h"
#include "kernels/strided.h"
#include "kernels/unary.h"

namespace neocog::cuda {

namespace {

template <typename T>
__global__ void unaryKernel(UnaryOp op, T* out, Layout outLayout, const T* in, Layout inLayout, float alpha, int64_t n) {
  NC_GRID_STRIDE_LOOP(i, n) {
    out[kernels::stridedOffset(outLayout, i)] = kernels::unaryOp<T>(op, in[kernels::stridedOffset(inLayout, i)], alpha);
  }
}

__global__ void unaryBackwardKernel(UnaryOp op, float* gradIn, Layout gradInLayout, const float* gradOut,
                                    Layout gradOutLayout, const float* input, Layout inputLayout, float alpha, int64_t n) {
  NC_GRID_STRIDE_LOOP(i, n) {
    gradIn[kernels::stridedOffset(gradInLayout, i)] =
        gradOut[kernels::stridedOffset(gradOutLayout, i)] *
        kernels::unaryDerivative(op, input[kernels::stridedOffset(inputLayout, i)], alpha);
  }
}

}  // namespace

void unary(DeviceHandles& h, UnaryOp op, const TensorRef& out, const TensorRef& in, double alpha) {
  const int64_t n = out.numel();
  if (n == 0) return;
  kernels::dispatchWithHalf(out.dtype, "unary", [&](auto tag) {
    using T = decltype(tag);
    unaryKernel<T><<<gridFor(n), kBlockSize, 0, h.stream()>>>(op, out.as<T>(), out.layout, in.as<T>(), in.layout,
                                                              static_cast<float>(alpha), n);
  });
  checkLaunch("unary");
}

void unaryBackward(DeviceHandles& h, UnaryOp op, const TensorRef& gradIn, const TensorRef& gradOut,
                   const TensorRef& input, double alpha) {
  const int64_t n = gradIn.numel();
  if (n == 0) return;
  unaryBackwardKernel<<<gridFor(n), kBlockSize, 0, h.stream()>>>(op, gradIn.as<float>(), gradIn.layout,
                                                                  gradOut.as<float>(), gradOut.layout, input.as<float>(),
                                                                  input.layout, static_cast<float>(alpha), n);
  checkLaunch("unaryBackward");
}

// The primitives this file implements (neocog/primitives.def).
void CudaBackend::unary(UnaryOp code, Out out, In input, double alpha) {
  cuda::unary(handles_, code, out, input, alpha);
}
void CudaBackend::unaryBackward(UnaryOp code, Out gradInput, In gradOutput, In input, double alpha) {
  cuda::unaryBackward(handles_, code, gradInput, gradOutput, input, alpha);
}

}  // namespace neocog::cuda
