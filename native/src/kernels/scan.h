// Inclusive scans (cumsum, cumprod) along one dim: the walk along one line, one copy for
// CPU and CUDA. Each backend runs one line per thread; a line is every element that shares
// the other coordinates. Float sums and products accumulate in double on the CPU (PyTorch's
// CPU kernel, acc_type<float, false>) and in float on the GPU (PyTorch's CUDA scan); integer
// ones in int64, stored with the int32 wrap.
#pragma once

#include <cstdint>

#include "kernels/host_device.h"
#include "neocog/op_params.h"
#include "neocog/layout.h"

namespace neocog::kernels {

template <typename Acc>
NC_HOST_DEVICE Acc scanIdentity(ScanOp op) {
  return op == ScanOp::Prod ? Acc(1) : Acc(0);
}

template <typename Acc>
NC_HOST_DEVICE Acc scanCombine(ScanOp op, Acc acc, Acc v) {
  return op == ScanOp::Prod ? acc * v : acc + v;
}

// out[k] = in[0] (+|*) ... (+|*) in[k] for k < n (elements `inStride` / `outStride` apart);
// reversed, out[k] combines in[k..n-1], accumulated from the end.
template <typename T, typename Acc>
NC_HOST_DEVICE void scanLine(ScanOp op, T* out, int64_t outStride, const T* in, int64_t inStride, int64_t n,
                             bool reverse) {
  Acc acc = scanIdentity<Acc>(op);
  for (int64_t j = 0; j < n; ++j) {
    const int64_t k = reverse ? n - 1 - j : j;
    acc = scanCombine<Acc>(op, acc, static_cast<Acc>(in[k * inStride]));
    out[k * outStride] = static_cast<T>(acc);
  }
}

// The layout of the line starts: `layout` with size 1 along `dim`, so that
// stridedOffset(lineStarts(layout, dim), line) is where line `line` begins.
NC_HOST_DEVICE Layout lineStarts(Layout layout, int dim) {
  layout.shape[dim] = 1;
  return layout;
}

}  // namespace neocog::kernels
