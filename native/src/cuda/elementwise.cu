// Strided copy with dtype conversion and binary ops with broadcasting; the per-element math
// is kernels/elementwise.h, the same functions the CPU backend runs.
#include "cuda/check.h"
#include "cuda/launch.h"
#include "cuda/cuda_backend.h"
#include "kernels/dispatch.h"
#include "kernels/elementwise.h"
#include "kernels/strided.h"

namespace neocog::cuda {

namespace {

template <typename To, typename From>
__global__ void copyKernel(To* dst, Layout dstLayout, const From* src, Layout srcLayout, int64_t n) {
  NC_GRID_STRIDE_LOOP(i, n) {
    dst[kernels::stridedOffset(dstLayout, i)] = kernels::castValue<To>(src[kernels::stridedOffset(srcLayout, i)]);
  }
}

template <typename T>
__global__ void binaryKernel(BinaryOp op, T* out, Layout outLayout, const T* a, Layout aLayout, const T* b,
                             Layout bLayout, int64_t n) {
  NC_GRID_STRIDE_LOOP(i, n) {
    out[kernels::stridedOffset(outLayout, i)] =
        kernels::binaryOp<T>(op, a[kernels::stridedOffset(aLayout, i)], b[kernels::stridedOffset(bLayout, i)]);
  }
}

template <typename T>
__global__ void compareKernel(CompareOp op, bool* out, Layout outLayout, const T* a, Layout aLayout, const T* b,
                              Layout bLayout, int64_t n) {
  NC_GRID_STRIDE_LOOP(i, n) {
    out[kernels::stridedOffset(outLayout, i)] =
        kernels::compareOp<T>(op, a[kernels::stridedOffset(aLayout, i)], b[kernels::stridedOffset(bLayout, i)]);
  }
}

template <typename T>
__global__ void whereKernel(T* out, Layout outLayout, const bool* cond, Layout condLayout, const T* a, Layout aLayout,
                            const T* b, Layout bLayout, int64_t n) {
  NC_GRID_STRIDE_LOOP(i, n) {
    out[kernels::stridedOffset(outLayout, i)] = cond[kernels::stridedOffset(condLayout, i)]
                                                    ? a[kernels::stridedOffset(aLayout, i)]
                                                    : b[kernels::stridedOffset(bLayout, i)];
  }
}

}  // namespace

void copy(DeviceHandles& h, const TensorRef& out, const TensorRef& in) {
  const int64_t n = out.numel();
  if (n == 0) return;
  if (out.dtype == in.dtype && out.layout.isContiguous() && in.layout.isContiguous()) {
    check(cudaMemcpyAsync(out.data, in.data, static_cast<size_t>(n) * dtypeSize(out.dtype), cudaMemcpyDeviceToDevice,
                          h.stream()),
          "copy");
    return;
  }
  kernels::dispatchWithHalf(out.dtype, "copy", [&](auto outTag) {
    using To = decltype(outTag);
    kernels::dispatchWithHalf(in.dtype, "copy", [&](auto inTag) {
      using From = decltype(inTag);
      copyKernel<To, From><<<gridFor(n), kBlockSize, 0, h.stream()>>>(out.as<To>(), out.layout, in.as<From>(),
                                                                      in.layout, n);
    });
  });
  checkLaunch("copy");
}

void binary(DeviceHandles& h, BinaryOp op, const TensorRef& out, const TensorRef& a, const TensorRef& b) {
  const int64_t n = out.numel();
  if (n == 0) return;
  kernels::dispatchWithHalf(out.dtype, "binary", [&](auto tag) {
    using T = decltype(tag);
    binaryKernel<T><<<gridFor(n), kBlockSize, 0, h.stream()>>>(op, out.as<T>(), out.layout, a.as<T>(), a.layout,
                                                               b.as<T>(), b.layout, n);
  });
  checkLaunch("binary");
}

void compare(DeviceHandles& h, CompareOp op, const TensorRef& out, const TensorRef& a, const TensorRef& b) {
  const int64_t n = out.numel();
  if (n == 0) return;
  kernels::dispatchWithHalf(a.dtype, "compare", [&](auto tag) {
    using T = decltype(tag);
    compareKernel<T><<<gridFor(n), kBlockSize, 0, h.stream()>>>(op, out.as<bool>(), out.layout, a.as<T>(), a.layout,
                                                                b.as<T>(), b.layout, n);
  });
  checkLaunch("compare");
}

void where(DeviceHandles& h, const TensorRef& out, const TensorRef& cond, const TensorRef& a, const TensorRef& b) {
  const int64_t n = out.numel();
  if (n == 0) return;
  kernels::dispatchWithHalf(out.dtype, "where", [&](auto tag) {
    using T = decltype(tag);
    whereKernel<T><<<gridFor(n), kBlockSize, 0, h.stream()>>>(out.as<T>(), out.layout, cond.as<bool>(), cond.layout,
                                                              a.as<T>(), a.layout, b.as<T>(), b.layout, n);
  });
  checkLaunch("where");
}

// The primitives this file implements (neocog/primitives.def).
void CudaBackend::copy(Out out, In input) { cuda::copy(handles_, out, input); }
void CudaBackend::binary(BinaryOp code, Out out, In a, In b) { cuda::binary(handles_, code, out, a, b); }
void CudaBackend::compare(CompareOp code, Out out, In a, In b) { cuda::compare(handles_, code, out, a, b); }
void CudaBackend::where(Out out, In condition, In a, In b) { cuda::where(handles_, out, condition, a, b); }

}  // namespace neocog::cuda
