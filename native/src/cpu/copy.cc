// Strided copy with dtype conversion: contiguous(), clone(), to(dtype) and every view that
// must be materialised go through here. Our own loop, not a oneDNN reorder: reorders have
// no bool type and PyTorch's cast rules (kernels/elementwise.h castValue) are shared with
// the CUDA copy kernel.
#include <algorithm>
#include <cstring>

#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"
#include "kernels/dispatch.h"
#include "kernels/elementwise.h"
#include "cpu/strided_loop.h"

namespace neocog::cpu {

namespace {

// A copy whose output walks its innermost dim while the input walks another one (a
// transpose, e.g. channels-last -> NCHW): row-by-row it would read the input with a large
// stride, one cache line per element. Instead it goes tile by tile (32 x 32 elements of the
// two swapped dims) so both sides stay in L1. Returns false when the layouts are not such
// a transpose.
template <typename To, typename From>
bool tiledTranspose(const TensorRef& out, const TensorRef& in) {
  const auto dims = detail::coalesce<2>(out.layout, {&out.layout, &in.layout});
  const Layout &o = dims[0], &x = dims[1];
  const int nd = o.ndim;
  if (nd < 2 || o.strides[nd - 1] != 1 || x.strides[nd - 1] == 1) return false;
  int t = -1;  // the dim the input walks contiguously
  for (int d = 0; d < nd - 1; ++d) {
    if (x.strides[d] == 1) t = d;
  }
  if (t < 0) return false;
  constexpr int64_t kTile = 32;
  const int64_t rows = o.shape[t], cols = o.shape[nd - 1];
  int64_t batch = 1;
  for (int d = 0; d < nd - 1; ++d) {
    if (d != t) batch *= o.shape[d];
  }
  const int64_t rowTiles = (rows + kTile - 1) / kTile, colTiles = (cols + kTile - 1) / kTile;
  const int64_t work = batch * rowTiles * colTiles;
  To* dst = out.as<To>();
  const From* src = in.as<From>();
#pragma omp parallel for schedule(static) if (o.numel() > kParallelGrain)
  for (int64_t w = 0; w < work; ++w) {
    const int64_t colTile = w % colTiles, rowTile = (w / colTiles) % rowTiles;
    int64_t rest = w / (colTiles * rowTiles), ob = 0, ib = 0;
    for (int d = nd - 2; d >= 0; --d) {  // offsets of the batch dims
      if (d == t) continue;
      ob += (rest % o.shape[d]) * o.strides[d];
      ib += (rest % o.shape[d]) * x.strides[d];
      rest /= o.shape[d];
    }
    const int64_t r0 = rowTile * kTile, r1 = std::min(rows, r0 + kTile);
    const int64_t c0 = colTile * kTile, c1 = std::min(cols, c0 + kTile);
    for (int64_t c = c0; c < c1; ++c) {
      for (int64_t r = r0; r < r1; ++r) {
        dst[ob + r * o.strides[t] + c] = kernels::castValue<To>(src[ib + r + c * x.strides[nd - 1]]);
      }
    }
  }
  return true;
}

}  // namespace

void copy(const TensorRef& out, const TensorRef& in) {
  const int64_t n = out.numel();
  if (n == 0) return;
  const bool contiguous = out.layout.isContiguous() && in.layout.isContiguous();
  if (contiguous && out.dtype == in.dtype) {
    std::memcpy(out.data, in.data, static_cast<size_t>(n) * dtypeSize(out.dtype));
    return;
  }
  kernels::dispatchWithHalf(out.dtype, "copy", [&](auto outTag) {
    using To = decltype(outTag);
    kernels::dispatchWithHalf(in.dtype, "copy", [&](auto inTag) {
      using From = decltype(inTag);
      To* dst = out.as<To>();
      const From* src = in.as<From>();
      if (contiguous) {
        parallelFor(n, [&](int64_t i) { dst[i] = kernels::castValue<To>(src[i]); });
      } else if (!tiledTranspose<To, From>(out, in)) {
        forEachRow<2>(out.layout, {&out.layout, &in.layout}, [&](auto base, auto step, int64_t count) {
          To* d = dst + base[0];
          const From* s = src + base[1];
          if (unitSteps(step)) {
            for (int64_t j = 0; j < count; ++j) d[j] = kernels::castValue<To>(s[j]);
          } else {
            for (int64_t j = 0; j < count; ++j) d[j * step[0]] = kernels::castValue<To>(s[j * step[1]]);
          }
        });
      }
    });
  });
}

// The primitives this file implements (neocog/primitives.def).
void CpuBackend::copy(Out out, In input) { cpu::copy(out, input); }

}  // namespace neocog::cpu
