// Binary elementwise ops with broadcasting (inputs arrive with stride 0 on broadcast dims).
// Our own loop rather than oneDNN's binary primitive: the per-element math must be the
// shared kernels/elementwise.h that the CUDA kernels run (so CPU tests check it), oneDNN's
// binary takes no arbitrary (e.g. transposed) strides, and creating its primitive per
// shape costs more than the whole op on small tensors.
#include "cpu/ops.h"
#include "cpu/parallel.h"
#include "kernels/dispatch.h"
#include "kernels/elementwise.h"
#include "cpu/strided_loop.h"

namespace neocog::cpu {

void binary(BinaryOp op, const TensorRef& out, const TensorRef& a, const TensorRef& b) {
  const int64_t n = out.numel();
  kernels::dispatchDType(out.dtype, "binary", [&](auto tag) {
    using T = decltype(tag);
    T* dst = out.as<T>();
    const T* x = a.as<T>();
    const T* y = b.as<T>();
    if (out.layout.isContiguous() && a.layout.isContiguous() && b.layout.isContiguous()) {
      // Switch outside the loop so each case is a plain loop the compiler vectorises.
      switch (op) {
#define NC_CASE(name)                                                                            \
  case BinaryOp::name:                                                                           \
    parallelFor(n, [&](int64_t i) { dst[i] = kernels::binaryOp<T>(BinaryOp::name, x[i], y[i]); }); \
    return;
        NC_CASE(Add)
        NC_CASE(Sub)
        NC_CASE(Mul)
        NC_CASE(Div)
        NC_CASE(Maximum)
        NC_CASE(Minimum)
        NC_CASE(Pow)
#undef NC_CASE
      }
    }
    forEachRow<3>(out.layout, {&out.layout, &a.layout, &b.layout}, [&](auto base, auto step, int64_t count) {
      T* d = dst + base[0];
      const T* p = x + base[1];
      const T* q = y + base[2];
      for (int64_t j = 0; j < count; ++j) d[j * step[0]] = kernels::binaryOp<T>(op, p[j * step[1]], q[j * step[2]]);
    });
  });
}

void compare(CompareOp op, const TensorRef& out, const TensorRef& a, const TensorRef& b) {
  bool* dst = out.as<bool>();
  kernels::dispatchDType(a.dtype, "compare", [&](auto tag) {
    using T = decltype(tag);
    const T* x = a.as<T>();
    const T* y = b.as<T>();
    forEachRow<3>(out.layout, {&out.layout, &a.layout, &b.layout}, [&](auto base, auto step, int64_t count) {
      for (int64_t j = 0; j < count; ++j) {
        dst[base[0] + j * step[0]] = kernels::compareOp<T>(op, x[base[1] + j * step[1]], y[base[2] + j * step[2]]);
      }
    });
  });
}

void where(const TensorRef& out, const TensorRef& cond, const TensorRef& a, const TensorRef& b) {
  const bool* c = cond.as<bool>();
  kernels::dispatchDType(out.dtype, "where", [&](auto tag) {
    using T = decltype(tag);
    T* dst = out.as<T>();
    const T* x = a.as<T>();
    const T* y = b.as<T>();
    forEachRow<4>(out.layout, {&out.layout, &cond.layout, &a.layout, &b.layout},
                  [&](auto base, auto step, int64_t count) {
                    for (int64_t j = 0; j < count; ++j) {
                      dst[base[0] + j * step[0]] =
                          c[base[1] + j * step[1]] ? x[base[2] + j * step[2]] : y[base[3] + j * step[3]];
                    }
                  });
  });
}

}  // namespace neocog::cpu
