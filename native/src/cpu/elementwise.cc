// Binary elementwise ops with broadcasting (inputs arrive with stride 0 on broadcast dims).
// Our own loop rather than oneDNN's binary primitive: the per-element math must be the
// shared kernels/elementwise.h that the CUDA kernels run (so CPU tests check it), oneDNN's
// binary takes no arbitrary (e.g. transposed) strides, and creating its primitive per
// shape costs more than the whole op on small tensors.
#include <type_traits>

#include "cpu/cpu_backend.h"
#include "cpu/strided_loop.h"
#include "cpu/vector_clones.h"
#include "kernels/dispatch.h"
#include "kernels/elementwise.h"

namespace neocog::cpu {

namespace {

// Calls fn with `op` as a compile-time constant, so each op's loop is its own plain loop
// that the compiler vectorises (a switch inside the loop blocks that).
template <typename Fn>
void withBinaryOp(BinaryOp op, Fn&& fn) {
  switch (op) {
#define NC_CASE(name) \
  case BinaryOp::name: return fn(std::integral_constant<BinaryOp, BinaryOp::name>{});
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

// d = op(p, q) over unit-stride rows, in vector clones (cpu/vector_clones.h): 16-bit operands
// convert to float and back in every lane (kernels/half.h's branch-free conversions
// vectorise). A bfloat16 add of two [32, 24, 56, 56] channels-last tensors (MobileNetV2's
// residual in a bfloat16 session; 2-vCPU AVX-512 EPYC, medians of 21) took 1.30 ms with the
// branchy conversion, 0.73 branch-free on baseline SSE, 0.40-0.44 in the clones (float32: 0.29).
template <typename T, BinaryOp kOp>
NC_VECTOR_CLONES void binaryRow(T* d, const T* p, const T* q, int64_t count) {
  for (int64_t j = 0; j < count; ++j) d[j] = kernels::binaryOp<T>(kOp, p[j], q[j]);
}

}  // namespace

void binary(BinaryOp op, const TensorRef& out, const TensorRef& a, const TensorRef& b) {
  kernels::dispatchWithHalf(out.dtype, "binary", [&](auto tag) {
    using T = decltype(tag);
    T* dst = out.as<T>();
    const T* x = a.as<T>();
    const T* y = b.as<T>();
    withBinaryOp(op, [&](auto opConstant) {
      constexpr BinaryOp kOp = decltype(opConstant)::value;
      forEachRow<3>(out.layout, {&out.layout, &a.layout, &b.layout}, [&](auto base, auto step, int64_t count) {
        T* d = dst + base[0];
        const T* p = x + base[1];
        const T* q = y + base[2];
        if (unitSteps(step)) {
          binaryRow<T, kOp>(d, p, q, count);
        } else if (step[0] == 1 && step[1] == 1 && step[2] == 0) {  // tensor op scalar (or row broadcast)
          const T v = q[0];
          for (int64_t j = 0; j < count; ++j) d[j] = kernels::binaryOp<T>(kOp, p[j], v);
        } else {
          for (int64_t j = 0; j < count; ++j) d[j * step[0]] = kernels::binaryOp<T>(kOp, p[j * step[1]], q[j * step[2]]);
        }
      });
    });
  });
}

void compare(CompareOp op, const TensorRef& out, const TensorRef& a, const TensorRef& b) {
  bool* dst = out.as<bool>();
  kernels::dispatchWithHalf(a.dtype, "compare", [&](auto tag) {
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
  kernels::dispatchWithHalf(out.dtype, "where", [&](auto tag) {
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

// The primitives this file implements (neocog/primitives.def).
void CpuBackend::binary(BinaryOp code, Out out, In a, In b) { cpu::binary(code, out, a, b); }
void CpuBackend::compare(CompareOp code, Out out, In a, In b) { cpu::compare(code, out, a, b); }
void CpuBackend::where(Out out, In condition, In a, In b) { cpu::where(out, condition, a, b); }

}  // namespace neocog::cpu
