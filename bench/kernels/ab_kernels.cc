// One side of the A/B kernel bench: compiled once against the working tree's native/src
// (AB_SIDE=newKernels) and once against the base commit's, with -Dneocog=neocog_old so
// both sets of kernels link into one program without clashing.
#include "ab_api.h"
#include "cpu/ops.h"

namespace {

neocog::TensorRef ref(const AbTensor& t) {
  neocog::TensorRef r;
  r.data = t.data;
  r.dtype = static_cast<neocog::DType>(t.dtype);
  r.layout.ndim = t.ndim;
  for (int d = 0; d < t.ndim; ++d) {
    r.layout.shape[d] = t.shape[d];
    r.layout.strides[d] = t.strides[d];
  }
  return r;
}

neocog::cpu::DnnlContext& context() {
  static neocog::cpu::DnnlContext dnnl;
  return dnnl;
}

neocog::PoolParams maxPool(const AbPool& a) {
  neocog::PoolParams p;
  p.spatial = 2;
  p.mode = neocog::PoolMode::Max;
  for (int d = 0; d < 2; ++d) {
    p.kernel[d] = a.kernel;
    p.stride[d] = a.stride;
    p.padding[d] = a.padding;
  }
  return p;
}

}  // namespace

AbKernels AB_SIDE() {
  AbKernels k;
  k.copy = [](const AbTensor& out, const AbTensor& in) { neocog::cpu::copy(ref(out), ref(in)); };
  k.binaryAdd = [](const AbTensor& out, const AbTensor& a, const AbTensor& b) {
    neocog::cpu::binary(neocog::BinaryOp::Add, ref(out), ref(a), ref(b));
  };
  k.normal = [](const AbTensor& out, uint64_t seed, uint64_t offset) {
    neocog::cpu::normal(ref(out), neocog::RandomState{seed, offset}, 0.0, 1.0);
  };
  k.batchNormForward = [](const AbTensor& out, const AbTensor& input, const AbTensor& weight, const AbTensor& bias,
                          const AbTensor& mean, const AbTensor& var) {
    neocog::cpu::batchNormForward(context(), ref(out), ref(input), ref(weight), ref(bias), ref(mean), ref(var), true,
                                  1e-5);
  };
  k.batchNormBackward = [](const AbTensor& gradInput, const AbTensor& gradWeight, const AbTensor& gradBias,
                           const AbTensor& gradOutput, const AbTensor& input, const AbTensor& weight,
                           const AbTensor& mean, const AbTensor& var) {
    neocog::cpu::batchNormBackward(context(), ref(gradInput), ref(gradWeight), ref(gradBias), ref(gradOutput),
                                   ref(input), ref(weight), ref(mean), ref(var), 1e-5);
  };
  k.maxPoolForward = [](const AbPool& p, const AbTensor& out, const AbTensor& indices, const AbTensor& input) {
    neocog::cpu::poolForward(maxPool(p), ref(out), ref(indices), ref(input));
  };
  k.maxPoolBackward = [](const AbPool& p, const AbTensor& gradInput, const AbTensor& gradOutput,
                         const AbTensor& indices) {
    neocog::cpu::poolBackward(maxPool(p), ref(gradInput), ref(gradOutput), ref(indices));
  };
  return k;
}
