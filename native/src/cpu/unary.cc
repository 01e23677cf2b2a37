// Unary elementwise ops and their backward (math in kernels/unary.h).
#include "cpu/ops.h"
#include "cpu/strided_loop.h"
#include "kernels/dispatch.h"
#include "kernels/unary.h"

namespace neocog::cpu {

void unary(UnaryOp op, const TensorRef& out, const TensorRef& in, double alpha) {
  const float a = static_cast<float>(alpha);
  kernels::dispatchDType(out.dtype, "unary", [&](auto tag) {
    using T = decltype(tag);
    T* dst = out.as<T>();
    const T* src = in.as<T>();
    forEachRow<2>(out.layout, {&out.layout, &in.layout}, [&](auto base, auto step, int64_t count) {
      T* d = dst + base[0];
      const T* s = src + base[1];
      for (int64_t j = 0; j < count; ++j) d[j * step[0]] = kernels::unaryOp<T>(op, s[j * step[1]], a);
    });
  });
}

void unaryBackward(UnaryOp op, const TensorRef& gradIn, const TensorRef& gradOut, const TensorRef& input,
                   double alpha) {
  const float a = static_cast<float>(alpha);
  float* dst = gradIn.as<float>();
  const float* g = gradOut.as<float>();
  const float* x = input.as<float>();
  forEachRow<3>(gradIn.layout, {&gradIn.layout, &gradOut.layout, &input.layout},
                [&](auto base, auto step, int64_t count) {
                  for (int64_t j = 0; j < count; ++j) {
                    dst[base[0] + j * step[0]] =
                        g[base[1] + j * step[1]] * kernels::unaryDerivative(op, x[base[2] + j * step[2]], a);
                  }
                });
}

}  // namespace neocog::cpu
