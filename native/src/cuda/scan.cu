// cumsum / cumprod on the GPU (math in kernels/scan.h): one thread per line, walking it
// sequentially. When the scanned dim is not the innermost, neighbouring threads read
// neighbouring elements, so the loads coalesce. Float accumulates in float, as PyTorch's
// CUDA scan does.
#include <string>

#include "cuda/check.h"
#include "cuda/launch.h"
#include "cuda/cuda_backend.h"
#include "kernels/scan.h"
#include "kernels/strided.h"
#include "neocog/error.h"

namespace neocog::cuda {

namespace {

template <typename T, typename Acc>
__global__ void scanKernel(ScanOp op, T* out, Layout outStarts, int64_t outStride, const T* in, Layout inStarts,
                           int64_t inStride, int64_t n, bool reverse, int64_t lines) {
  NC_GRID_STRIDE_LOOP(line, lines) {
    kernels::scanLine<T, Acc>(op, out + kernels::stridedOffset(outStarts, line), outStride,
                              in + kernels::stridedOffset(inStarts, line), inStride, n, reverse);
  }
}

template <typename T, typename Acc>
void launchScan(DeviceHandles& h, ScanOp op, const TensorRef& out, const TensorRef& in, int dim, bool reverse) {
  const Layout outStarts = kernels::lineStarts(out.layout, dim), inStarts = kernels::lineStarts(in.layout, dim);
  const int64_t lines = inStarts.numel();
  scanKernel<T, Acc><<<gridFor(lines), kBlockSize, 0, h.stream()>>>(op, out.as<T>(), outStarts, out.layout.strides[dim],
                                                                   in.as<T>(), inStarts, in.layout.strides[dim],
                                                                   in.layout.shape[dim], reverse, lines);
  checkLaunch(op == ScanOp::Prod ? "cumprod" : "cumsum");
}

}  // namespace

void scan(DeviceHandles& h, ScanOp op, const TensorRef& out, const TensorRef& in, int dim, bool reverse) {
  if (in.numel() == 0) return;
  if (in.dtype == DType::Float32) return launchScan<float, float>(h, op, out, in, dim, reverse);
  if (in.dtype == DType::Int32) return launchScan<int32_t, long long>(h, op, out, in, dim, reverse);
  fail(ErrorKind::DType, std::string(op == ScanOp::Prod ? "cumprod" : "cumsum") + ": expected float32 or int32, got " +
                             dtypeName(in.dtype));
}

// The primitives this file implements (neocog/primitives.def).
void CudaBackend::scan(ScanOp code, Out out, In input, int32_t dim, bool reverse) {
  cuda::scan(handles_, code, out, input, dim, reverse);
}

}  // namespace neocog::cuda
