// Batch normalization on oneDNN's batch_normalization primitives (forward training /
// inference and backward), cached per layout. Running statistics are updated by the
// caller (lib/ops/norm.ts) from the batch statistics written here.
#include <string>

#include "cpu/cpu_backend.h"

namespace neocog::cpu {

namespace {

using dnnl::memory;

memory::desc strided(const TensorRef& t) {
  return memory::desc(memory::dims(t.layout.shape, t.layout.shape + t.layout.ndim), memory::data_type::f32,
                      memory::dims(t.layout.strides, t.layout.strides + t.layout.ndim));
}

std::string layoutKey(const TensorRef& t) {
  std::string key;
  for (int d = 0; d < t.layout.ndim; ++d) key += std::to_string(t.layout.shape[d]) + ':' + std::to_string(t.layout.strides[d]) + ',';
  return key;
}

dnnl::normalization_flags flagsFor(bool affine, bool globalStats) {
  auto flags = dnnl::normalization_flags::none;
  if (affine) flags = flags | dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
  if (globalStats) flags = flags | dnnl::normalization_flags::use_global_stats;
  return flags;
}

dnnl::batch_normalization_forward::primitive_desc forwardDesc(DnnlContext& dnnl, const memory::desc& data, double eps,
                                                              bool affine, bool training) {
  const dnnl::batch_normalization_forward::desc desc(
      training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference, data,
      static_cast<float>(eps), flagsFor(affine, !training));
  return dnnl::batch_normalization_forward::primitive_desc(desc, dnnl.engine);
}

memory channelVector(DnnlContext& dnnl, const TensorRef& t) {
  return memory(memory::desc({t.layout.shape[0]}, memory::data_type::f32, memory::format_tag::a), dnnl.engine, t.data);
}

}  // namespace

void batchNormForward(DnnlContext& dnnl, const TensorRef& out, const TensorRef& input, const TensorRef& weight,
                      const TensorRef& bias, const TensorRef& mean, const TensorRef& var, bool training, double eps) {
  if (input.numel() == 0) return;
  const bool affine = weight.data != nullptr;
  const std::string key = std::string("bn_fwd|") + (training ? "t" : "i") + (affine ? "a" : "") + '|' +
                          std::to_string(eps) + '|' + layoutKey(input);
  auto& entry = dnnl.cache<dnnl::batch_normalization_forward>(
      key, [&] { return forwardDesc(dnnl, strided(input), eps, affine, training); });
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, memory(entry.pd.src_desc(), dnnl.engine, input.data)},
      {DNNL_ARG_DST, memory(entry.pd.dst_desc(), dnnl.engine, out.data)},
      {DNNL_ARG_MEAN, channelVector(dnnl, mean)},
      {DNNL_ARG_VARIANCE, channelVector(dnnl, var)},
  };
  if (affine) {
    args.emplace(DNNL_ARG_SCALE, channelVector(dnnl, weight));
    args.emplace(DNNL_ARG_SHIFT, channelVector(dnnl, bias));
  }
  entry.primitive.execute(dnnl.stream, args);
  dnnl.stream.wait();
}

void batchNormBackward(DnnlContext& dnnl, const TensorRef& gradInput, const TensorRef& gradWeight,
                       const TensorRef& gradBias, const TensorRef& gradOutput, const TensorRef& input,
                       const TensorRef& weight, const TensorRef& mean, const TensorRef& var, double eps) {
  if (input.numel() == 0) return;
  const bool affine = weight.data != nullptr;
  const std::string key = std::string("bn_bwd|") + (affine ? "a" : "") + '|' + std::to_string(eps) + '|' +
                          layoutKey(input) + '|' + layoutKey(gradOutput);
  auto& entry = dnnl.cache<dnnl::batch_normalization_backward>(key, [&] {
    const auto hint = forwardDesc(dnnl, strided(input), eps, affine, true);
    const dnnl::batch_normalization_backward::desc desc(dnnl::prop_kind::backward, strided(gradOutput), strided(input),
                                                        static_cast<float>(eps), flagsFor(affine, false));
    return dnnl::batch_normalization_backward::primitive_desc(desc, dnnl.engine, hint);
  });
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, memory(entry.pd.src_desc(), dnnl.engine, input.data)},
      {DNNL_ARG_DIFF_DST, memory(entry.pd.diff_dst_desc(), dnnl.engine, gradOutput.data)},
      {DNNL_ARG_DIFF_SRC, memory(entry.pd.diff_src_desc(), dnnl.engine, gradInput.data)},
      {DNNL_ARG_MEAN, channelVector(dnnl, mean)},
      {DNNL_ARG_VARIANCE, channelVector(dnnl, var)},
  };
  if (affine) {
    args.emplace(DNNL_ARG_SCALE, channelVector(dnnl, weight));
    // oneDNN 2.6 refuses to execute a use_shift backward without a SHIFT argument, although
    // the gradients do not depend on it; any [C] buffer satisfies the check.
    args.emplace(DNNL_ARG_SHIFT, channelVector(dnnl, weight));
    args.emplace(DNNL_ARG_DIFF_SCALE, channelVector(dnnl, gradWeight));
    args.emplace(DNNL_ARG_DIFF_SHIFT, channelVector(dnnl, gradBias));
  }
  entry.primitive.execute(dnnl.stream, args);
  dnnl.stream.wait();
}

// The primitives this file implements (neocog/primitives.def).
void CpuBackend::batchNormForward(Out out, In input, OptIn weight, OptIn bias, InOut mean, InOut variance,
                                  bool training, double eps) {
  cpu::batchNormForward(dnnl_, out, input, weight, bias, mean, variance, training, eps);
}
void CpuBackend::batchNormBackward(Out gradInput, OptOut gradWeight, OptOut gradBias, In gradOutput, In input,
                                   OptIn weight, In mean, In variance, double eps) {
  cpu::batchNormBackward(dnnl_, gradInput, gradWeight, gradBias, gradOutput, input, weight, mean, variance, eps);
}

}  // namespace neocog::cpu
