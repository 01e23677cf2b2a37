// cumsum / cumprod (math in kernels/scan.h): one line per iteration, lines spread over the
// thread pool, each walked sequentially along the scanned dim. O(n), where the composed
// version multiplied by an n x n triangle.
#include <string>

#include "cpu/cpu_backend.h"
#include "kernels/scan.h"
#include "kernels/strided.h"
#include "neocog/error.h"

namespace neocog::cpu {

namespace {

template <typename T, typename Acc>
void scanLines(ScanOp op, const TensorRef& out, const TensorRef& in, int dim, bool reverse) {
  const Layout outStarts = kernels::lineStarts(out.layout, dim), inStarts = kernels::lineStarts(in.layout, dim);
  const int64_t lines = inStarts.numel(), n = in.layout.shape[dim];
  const int64_t outStride = out.layout.strides[dim], inStride = in.layout.strides[dim];
  T* dst = out.as<T>();
  const T* src = in.as<T>();
  // Parallel once the work, not the line count, is worth a region: few long lines still
  // split by line, many short ones by chunks of lines.
#pragma omp parallel for schedule(static) if (lines > 1 && lines * n > 32768)
  for (int64_t line = 0; line < lines; ++line) {
    kernels::scanLine<T, Acc>(op, dst + kernels::stridedOffset(outStarts, line), outStride,
                              src + kernels::stridedOffset(inStarts, line), inStride, n, reverse);
  }
}

}  // namespace

void scan(ScanOp op, const TensorRef& out, const TensorRef& in, int dim, bool reverse) {
  if (in.numel() == 0) return;
  if (in.dtype == DType::Float32) return scanLines<float, double>(op, out, in, dim, reverse);
  if (in.dtype == DType::Int32) return scanLines<int32_t, int64_t>(op, out, in, dim, reverse);
  fail(ErrorKind::DType, std::string(op == ScanOp::Prod ? "cumprod" : "cumsum") + ": expected float32 or int32, got " +
                             dtypeName(in.dtype));
}

// The primitives this file implements (neocog/primitives.def).
void CpuBackend::scan(ScanOp code, Out out, In input, int32_t dim, bool reverse) {
  cpu::scan(code, out, input, dim, reverse);
}

}  // namespace neocog::cpu
