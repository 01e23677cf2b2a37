// Strided copy with dtype conversion: contiguous(), clone(), to(dtype) and every view that
// must be materialised go through here. Our own loop, not a oneDNN reorder: reorders have
// no bool type and PyTorch's cast rules (kernels/elementwise.h castValue) are shared with
// the CUDA copy kernel.
#include <cstring>

#include "cpu/ops.h"
#include "cpu/parallel.h"
#include "kernels/dispatch.h"
#include "kernels/elementwise.h"
#include "cpu/strided_loop.h"

namespace neocog::cpu {

void copy(const TensorRef& out, const TensorRef& in) {
  const int64_t n = out.numel();
  if (n == 0) return;
  const bool contiguous = out.layout.isContiguous() && in.layout.isContiguous();
  if (contiguous && out.dtype == in.dtype) {
    std::memcpy(out.data, in.data, static_cast<size_t>(n) * dtypeSize(out.dtype));
    return;
  }
  kernels::dispatchDType(out.dtype, "copy", [&](auto outTag) {
    using To = decltype(outTag);
    kernels::dispatchDType(in.dtype, "copy", [&](auto inTag) {
      using From = decltype(inTag);
      To* dst = out.as<To>();
      const From* src = in.as<From>();
      if (contiguous) {
        parallelFor(n, [&](int64_t i) { dst[i] = kernels::castValue<To>(src[i]); });
      } else {
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

}  // namespace neocog::cpu
