// Batched matmul on oneDNN's matmul primitive. oneDNN takes arbitrary plain strides, so
// transposed views need no copy; a batch stride of 0 (broadcast) maps to oneDNN's batch 1.
// oneDNN's primitive cache makes re-creating the primitive for a seen shape cheap.
#include "cpu/ops.h"

namespace neocog::cpu {

namespace {

dnnl::memory::desc describe(const TensorRef& t) {
  const Layout& l = t.layout;
  const bool broadcastBatch = l.strides[0] == 0;
  dnnl::memory::dims dims{broadcastBatch ? 1 : l.shape[0], l.shape[1], l.shape[2]};
  dnnl::memory::dims strides{broadcastBatch ? l.shape[1] * l.shape[2] : l.strides[0], l.strides[1], l.strides[2]};
  return dnnl::memory::desc(dims, dnnl::memory::data_type::f32, strides);
}

}  // namespace

void matmul(DnnlContext& dnnl, const TensorRef& out, const TensorRef& a, const TensorRef& b) {
  if (out.numel() == 0) return;
  const auto aDesc = describe(a), bDesc = describe(b), outDesc = describe(out);
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(aDesc, bDesc, outDesc), dnnl.engine);
  dnnl::memory aMem(aDesc, dnnl.engine, a.data), bMem(bDesc, dnnl.engine, b.data),
      outMem(outDesc, dnnl.engine, out.data);
  dnnl::matmul(pd).execute(dnnl.stream,
                           {{DNNL_ARG_SRC, aMem}, {DNNL_ARG_WEIGHTS, bMem}, {DNNL_ARG_DST, outMem}});
  dnnl.stream.wait();
}

}  // namespace neocog::cpu
