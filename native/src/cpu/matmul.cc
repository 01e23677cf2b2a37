// Batched matmul on oneDNN's matmul primitive. oneDNN takes arbitrary plain strides, so
// transposed views need no copy; a batch stride of 0 (broadcast) maps to oneDNN's batch 1.
// Primitives are cached per operand layout and dtype (DnnlContext::cache); 16-bit operands
// accumulate in float32 inside oneDNN.
#include <string>

#include "cpu/cpu_backend.h"

namespace neocog::cpu {

namespace {

dnnl::memory::desc describe(const TensorRef& t) {
  const Layout& l = t.layout;
  const bool broadcastBatch = l.strides[0] == 0;
  dnnl::memory::dims dims{broadcastBatch ? 1 : l.shape[0], l.shape[1], l.shape[2]};
  dnnl::memory::dims strides{broadcastBatch ? l.shape[1] * l.shape[2] : l.strides[0], l.strides[1], l.strides[2]};
  return dnnl::memory::desc(dims, dnnlType(t.dtype), strides);
}

}  // namespace

void matmul(DnnlContext& dnnl, const TensorRef& out, const TensorRef& a, const TensorRef& b) {
  if (out.numel() == 0) return;
  if (a.layout.shape[2] == 0) {
    fill(out, 0.0);  // an empty inner dimension sums nothing
    return;
  }
  const auto aDesc = describe(a), bDesc = describe(b), outDesc = describe(out);
  std::string key = std::string("matmul|") + dtypeName(out.dtype);
  for (const TensorRef* t : {&a, &b, &out}) {
    for (int d = 0; d < 3; ++d) key += '|' + std::to_string(t->layout.shape[d]) + ':' + std::to_string(t->layout.strides[d]);
  }
  auto& entry = dnnl.cache<dnnl::matmul>(key, [&] {
    return createFor(out.dtype,
                     [&] { return dnnl::matmul::primitive_desc(dnnl::matmul::desc(aDesc, bDesc, outDesc), dnnl.attr(), dnnl.engine); });
  });
  dnnl::memory aMem(aDesc, dnnl.engine, a.data), bMem(bDesc, dnnl.engine, b.data),
      outMem(outDesc, dnnl.engine, out.data);
  dnnl.execute(entry.primitive, entry.pd, {{DNNL_ARG_SRC, aMem}, {DNNL_ARG_WEIGHTS, bMem}, {DNNL_ARG_DST, outMem}});
}

// The primitives this file implements (neocog/primitives.def).
void CpuBackend::matmul(Out out, In a, In b, const MathOptions&) { cpu::matmul(dnnl_, out, a, b); }

}  // namespace neocog::cpu
