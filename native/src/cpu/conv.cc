// Convolution on oneDNN: forward, backward data and backward weights. Activations are
// described to oneDNN with their real strides; channels-last (what lib/ops/conv.ts
// allocates) needs no reorder, where oneDNN's channels-last kernels (brgconv) are fastest.
// The exception is the forward pass over small maps (at most 64 output pixels, e.g. the
// last stages of a ResNet on CIFAR-sized images): there oneDNN's blocked layouts ran
// ~1.4-1.9x faster, and reordering such small activations in and out costs little (the
// backward passes measured no gain, so they stay channels-last). 1x1 convolutions stay
// channels-last there too: without the reorders they ran 1.1-1.6x faster (2 threads, 2-vCPU
// AVX-512 EPYC, medians of 25, ms, blocked -> channels-last: MobileNetV2's 32x160x7x7 -> 960
// 1.79 -> 1.45, 960 -> 320 3.24 -> 2.62, 320 -> 1280 4.03 -> 3.70; ResNet's stride-2
// downsampling 64x128x16x16 -> 256 1.46 -> 0.93, 64x256x8x8 -> 512 1.43 -> 0.96, 16x256x14x14
// -> 512 0.97 -> 0.84; only 64x64x8x8 -> 64 lost, 0.23 -> 0.26). Depthwise (grouped)
// convolutions stay channels-last on small maps too: oneDNN 2.6's brdgmm_dw on nhwc beat
// jit_dw on blocked layouts plus the reorders in and out 1.2-4.7x (2 threads, 2-vCPU AVX-512
// EPYC, medians of 11: 3x3 960ch 7x7 at batch 1 / 32 0.016 vs 0.031 / 0.25 vs 1.18 ms, 5x5
// 1152ch 7x7 at batch 16 0.30-0.32 vs 0.40-0.51 ms, 5x5 stride-2 672ch 14->7 at batch 16 0.73 vs
// 1.72 ms, 3x3 256ch 4x4 at batch 64 0.035 vs 0.065 ms). Weights go through
// whatever blocked layout oneDNN prefers (format_tag::any). Primitives and reorders are
// cached per geometry and dtype; reordered copies live in reused scratch buffers. float16 and
// bfloat16 operands (mixed precision) run oneDNN's 16-bit kernels, which accumulate in
// float32.
//
// 3x3 stride-1 float32 convolutions with enough channels and output tiles run oneDNN's
// Winograd F(4x4, 3x3) kernels (jit_wino_4x3, AVX-512) instead, in blocked layouts with the
// activations converted in and out per call (winogradWins() below has the measured rule), and
// so do dilated ones padded by their dilation, over the input's sub-grids (subProblemOf()).
// Activations go between channels-last and oneDNN's 16-channel blocks through
// cpu/blocked_layout.cc's copies, other layouts through oneDNN's reorders.
#include <optional>
#include <sstream>
#include <string>

#include "cpu/blocked_layout.h"
#include "cpu/cpu_backend.h"
#include "cpu/silu.h"
#include "kernels/conv.h"
#include "neocog/error.h"

namespace neocog::cpu {

namespace {

using dnnl::memory;
using tag = memory::format_tag;

memory::dims dimsOf(const Layout& l) { return memory::dims(l.shape, l.shape + l.ndim); }
memory::dims stridesOf(const Layout& l) { return memory::dims(l.strides, l.strides + l.ndim); }

memory::desc strided(const TensorRef& t) { return memory::desc(dimsOf(t.layout), dnnlType(t.dtype), stridesOf(t.layout)); }

// [N, C, *spatial] channels-last.
memory::desc channelsLast(const TensorRef& t) {
  const Layout& l = t.layout;
  const tag format = l.ndim == 3 ? tag::nwc : (l.ndim == 4 ? tag::nhwc : tag::ndhwc);
  return memory::desc(dimsOf(l), dnnlType(t.dtype), format);
}

// The weight as oneDNN sees it: [G, O/G, C/G, *k] when grouped.
memory::desc weightDesc(const TensorRef& w, int64_t groups, bool any) {
  memory::dims dims = dimsOf(w.layout);
  memory::dims strides = stridesOf(w.layout);
  if (groups > 1) {
    dims[0] /= groups;
    dims.insert(dims.begin(), groups);
    strides.insert(strides.begin(), strides[0] * dims[1]);
  }
  if (any) return memory::desc(dims, dnnlType(w.dtype), tag::any);
  return memory::desc(dims, dnnlType(w.dtype), strides);
}

struct Geometry {
  memory::dims strides, dilates, padL, padR;
};

Geometry geometryOf(const ConvParams& p) {
  Geometry g;
  for (int i = 0; i < p.spatial; ++i) {
    g.strides.push_back(p.stride[i]);
    g.dilates.push_back(p.dilation[i] - 1);  // oneDNN counts the holes, not the step
    g.padL.push_back(p.padBegin[i]);
    g.padR.push_back(p.padEnd[i]);
  }
  return g;
}

std::string keyOf(const char* kind, const ConvParams& p, std::initializer_list<const TensorRef*> tensors) {
  std::ostringstream key;
  key << kind << '|' << p.spatial << '|' << p.groups << '|' << static_cast<int>(p.activation) << '|'
      << dtypeName(tensors.begin()[0]->dtype);
  for (int i = 0; i < p.spatial; ++i) {
    key << '|' << p.stride[i] << ',' << p.padBegin[i] << ',' << p.padEnd[i] << ',' << p.dilation[i];
  }
  for (const TensorRef* t : tensors) {
    key << "|";
    if (t->data == nullptr) continue;
    for (int d = 0; d < t->layout.ndim; ++d) key << t->layout.shape[d] << ':' << t->layout.strides[d] << ',';
  }
  return key.str();
}

// Scratch slots of DnnlContext for the reordered operands of one call.
enum Slot : size_t { kSrcSlot, kWeightSlot, kDiffDstSlot, kOutputSlot };

// A user buffer as `want`: the buffer itself when the layout already matches (or addresses
// the same bytes), else a reordered copy in scratch slot `slot`: cpu/blocked_layout.cc's
// copy from channels-last to 16-channel blocks, or oneDNN's reorder, cached under `key`.
// `have` describes `t` to oneDNN (its strides, or the grouped view of a weight).
memory asLayout(DnnlContext& dnnl, const std::string& key, const TensorRef& t, const memory::desc& have,
                const memory::desc& want, Slot slot) {
  memory user(have, dnnl.engine, t.data);
  if (have == want) return user;
  if (sameAsChannelsLast(t, want)) return memory(want, dnnl.engine, t.data);
  memory converted(want, dnnl.engine, dnnl.scratch(slot, want.get_size()));
  if (channelsLastToBlocked(t, want, converted.get_data_handle())) return converted;
  auto& entry = dnnl.cache<dnnl::reorder>(key + "|reorder" + std::to_string(slot), [&] {
    return dnnl::reorder::primitive_desc(dnnl.engine, have, dnnl.engine, want, dnnl.attr());
  });
  dnnl.execute(entry.primitive, entry.pd, {{DNNL_ARG_FROM, user}, {DNNL_ARG_TO, converted}});
  return converted;
}

// The primitive's output memory: the user's buffer when the layouts agree (or address the
// same bytes), else scratch that finish() reorders into the user's buffer.
struct Output {
  const TensorRef& tensor;
  memory user;
  bool direct;  // the primitive writes `t`'s buffer itself
  memory compute;

  // `userDesc` describes `t` to oneDNN, as asLayout's `have`.
  Output(DnnlContext& dnnl, const memory::desc& want, const TensorRef& t, const memory::desc& userDesc)
      : tensor(t),
        user(userDesc, dnnl.engine, t.data),
        direct(want == userDesc || sameAsChannelsLast(t, want)),
        compute(direct ? memory(want, dnnl.engine, t.data)
                       : memory(want, dnnl.engine, dnnl.scratch(kOutputSlot, want.get_size()))) {}

  void finish(DnnlContext& dnnl, const std::string& key) {
    if (direct || blockedToChannelsLast(compute.get_desc(), compute.get_data_handle(), tensor)) return;
    auto& back = dnnl.cache<dnnl::reorder>(key + "|reorder_out", [&] {
      return dnnl::reorder::primitive_desc(dnnl.engine, compute.get_desc(), dnnl.engine, user.get_desc(), dnnl.attr());
    });
    dnnl.execute(back.primitive, back.pd, {{DNNL_ARG_FROM, compute}, {DNNL_ARG_TO, user}});
  }
};

// Whether a convolution producing `out` [N, C, *spatial] runs in blocked layouts (see top).
bool smallMaps(const Layout& out) {
  int64_t pixels = 1;
  for (int d = 2; d < out.ndim; ++d) pixels *= out.shape[d];
  return pixels <= 64;
}

// A 1x1 (1, 1x1x1) kernel: a matrix product per pixel, which oneDNN runs as fast on
// channels-last operands as on blocked ones (see top), so small maps stay channels-last.
bool isPointwise(const Layout& weight) {
  for (int d = 2; d < weight.ndim; ++d) {
    if (weight.shape[d] != 1) return false;
  }
  return true;
}

// Whether a 3x3 convolution runs oneDNN's Winograd F(4x4, 3x3) kernels rather than direct
// ones. Measured on the 2-vCPU AVX-512 EPYC (one thread, thread CPU time, min of 3;
// forward / backward data / backward weights in ms, Winograd's figures including the
// reorders of its blocked activations from and to channels-last):
//   32x64x56x56 -> 64 (bench conv)   direct 38.0 / 40.3 / 48.0   winograd 28.2 / 27.7 / 43.1
//   64x64x32x32 -> 64 (ResNet CIFAR) direct 25.8 / 30.5 / 29.6   winograd 18.9 / 18.4 / 26.2
//   64x256x8x8 -> 256                direct 21.5 / 25.4 / 27.6   winograd 10.0 / 10.1 / 12.6
//   64x512x4x4 -> 512                direct 47.2 / 29.8 / 41.7   winograd 16.5 / 16.0 / 13.4
//   1x64x32x32 -> 64 (U-Net b1)      direct 0.35 / 0.40 / 0.38   winograd 0.27 / 0.27 / 0.32
//   4x128x16x16 -> 128 (U-Net b4)    direct 1.37 / 1.54 / 1.61   winograd 1.05 / 1.24 / 1.03
//   1x128x16x16 -> 128 (U-Net b1)    direct 0.32 / 0.36 / 0.36   winograd 0.57 / 0.53 / 0.35
//   1x64x64x64 -> 32 (U-Net b1)      direct 0.68 / 0.76 / 0.87   winograd 0.64 / 0.54 / 0.84
//   1x32x128x128 -> 16 (U-Net)       direct 0.94 / 0.82 / 0.94   winograd 1.12 / 1.32 / 1.14
//   4x16x128x128 -> 16 (U-Net b4)    direct 1.99 / 2.22 / 1.76   winograd 3.07 / 3.41 / 2.74
//   64x32x16x16 -> 64 (simpleCnn)    direct 3.37 / 3.86 / 4.09   winograd 2.98 / 4.67 / 4.47
//   64x32x32x32 -> 32                direct 6.85 / 8.66 / 8.04   winograd 6.60 / 7.55 / 10.1
// So Winograd wins from 64 channels in, 32 out and 64 output tiles of 4x4 (over the batch)
// up, and loses (or ties, on 32 channels in) below. Its results differ from direct ones by a few 1e-6 of the largest
// output (the transforms round differently), as other summation orders do. float32 only
// (oneDNN 2.6 has no 16-bit Winograd). oneDNN may still refuse a geometry (e.g. larger
// padding); the caller then falls back to direct.
bool winogradWins(const ConvParams& p, const TensorRef& input, const TensorRef& weight, const TensorRef& out) {
  if (p.spatial != 2 || p.groups != 1 || input.dtype != DType::Float32) return false;
  const Layout& w = weight.layout;
  if (w.shape[2] != 3 || w.shape[3] != 3) return false;
  for (int i = 0; i < 2; ++i) {
    if (p.stride[i] != 1 || p.dilation[i] != 1) return false;
  }
  const Layout& o = out.layout;
  const int64_t tiles = o.shape[0] * ((o.shape[2] + 3) / 4) * ((o.shape[3] + 3) / 4);
  return input.layout.shape[1] >= 64 && w.shape[0] >= 32 && tiles >= 64;
}

// make(winograd) where winogradWins() and oneDNN has a Winograd kernel for the operands,
// else make(direct).
template <typename Make>
auto withAlgorithm(bool winograd, Make&& make) -> decltype(make(dnnl::algorithm::convolution_direct)) {
  if (winograd) {
    try {
      return make(dnnl::algorithm::convolution_winograd);
    } catch (const dnnl::error&) {
      // unimplemented for this geometry: direct below
    }
  }
  return make(dnnl::algorithm::convolution_direct);
}

// Any layout oneDNN likes for an activation (small maps and Winograd, see top).
memory::desc anyLayout(const TensorRef& t) { return memory::desc(dimsOf(t.layout), dnnlType(t.dtype), tag::any); }

// Bias (and its gradient) in the operands' dtype.
memory::desc biasDesc(const TensorRef& weight) {
  return memory::desc({weight.layout.shape[0]}, dnnlType(weight.dtype), tag::a);
}

dnnl::convolution_forward::primitive_desc forwardDesc(DnnlContext& dnnl, const ConvParams& p, dnnl::algorithm algorithm,
                                                      const memory::desc& src, const TensorRef& weight, bool hasBias,
                                                      const memory::desc& dst) {
  const Geometry g = geometryOf(p);
  const memory::desc bias = hasBias ? biasDesc(weight) : memory::desc();
  const dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_training, algorithm, src,
                                             weightDesc(weight, p.groups, true), bias, dst, g.strides, g.dilates, g.padL,
                                             g.padR);
  if (p.activation == ConvActivation::None) {
    return createFor(weight.dtype, [&] { return dnnl::convolution_forward::primitive_desc(desc, dnnl.attr(), dnnl.engine); });
  }
  // The activation is applied to each output as it is written, saving its own pass over
  // memory; both keep NaN as NaN, as the unfused ops do (clip_v2, unlike bounded_relu and
  // clip, passes NaN through). A new attr: copies of dnnl.attr() would share (and change)
  // the one object.
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  dnnl::post_ops ops;
  if (p.activation == ConvActivation::Relu) ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
  else if (p.activation == ConvActivation::Relu6) ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip_v2, 0.0f, 6.0f);
  else ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_swish, 1.0f, 0.0f);  // x * sigmoid(1 * x)
  attr.set_post_ops(ops);
  return createFor(weight.dtype, [&] { return dnnl::convolution_forward::primitive_desc(desc, attr, dnnl.engine); });
}

// A dilated 3x3 stride-1 convolution padded by its dilation (the "same" atrous convolutions
// of DeepLabV3's layer3 and layer4) equals an undilated one, padded by 1, over each of the
// input's dilation_h x dilation_w interleaved sub-grids (TensorFlow's space-to-batch), and
// Winograd then applies, which oneDNN has no kernel for with dilation. Its gradients split
// the same way (the weight's summed over the sub-grids, as over a batch). The sub-grids are
// gathered into Winograd's blocked layout, and results scattered back, by the copies the
// undilated path uses (cpu/blocked_layout.cc). DeepLabV3-ResNet50's 64x64 maps, ms on 2
// threads (2-vCPU EPYC), forward / forward + backward: 256 -> 256 at dilation 2 10.5-11.1 /
// 29-32 against direct 21.4-21.9 / 73.5, 512 -> 512 at dilation 2 36.5 / 99 against 87.8 /
// 316, at dilation 4 34.4 / 118 against 84.3 / 312. On dense
// channels-last operands, where the map divides into the sub-grids and Winograd wins on the
// sub-problem (winogradWins()). (ASPP's dilations of 12-36 do not divide 64, and direct
// convolution skips their many taps that fall in the padding.)
struct SubProblem {
  SubGrids grids;
  ConvParams params;      // undilated, padded by 1
  TensorRef input, out;   // shapes only: [N * rows * cols, C, H / rows, W / cols]
};

std::optional<SubProblem> subProblemOf(const ConvParams& p, const TensorRef& input, const TensorRef& weight,
                                       const TensorRef& out) {
  if (p.spatial != 2 || p.dilation[0] * p.dilation[1] == 1) return std::nullopt;
  SubProblem sub{SubGrids{p.dilation[0], p.dilation[1]}, p, input, out};
  const Layout& w = weight.layout;
  if (w.shape[2] != 3 || w.shape[3] != 3) return std::nullopt;
  for (int i = 0; i < 2; ++i) {
    if (p.stride[i] != 1 || p.padBegin[i] != p.dilation[i] || p.padEnd[i] != p.dilation[i]) return std::nullopt;
  }
  if (input.layout.shape[2] % sub.grids.rows != 0 || input.layout.shape[3] % sub.grids.cols != 0) return std::nullopt;
  for (TensorRef* t : {&sub.input, &sub.out}) {
    t->data = nullptr;
    t->layout.shape[0] *= sub.grids.rows * sub.grids.cols;
    t->layout.shape[2] /= sub.grids.rows;
    t->layout.shape[3] /= sub.grids.cols;
  }
  for (int i = 0; i < 2; ++i) sub.params.dilation[i] = sub.params.padBegin[i] = sub.params.padEnd[i] = 1;
  if (!winogradWins(sub.params, sub.input, weight, sub.out)) return std::nullopt;
  return sub;
}

// `t` gathered by sub-grids into scratch `slot`, laid out as `want` (checked with blockedOf).
memory gathered(DnnlContext& dnnl, const TensorRef& t, const memory::desc& want, Slot slot, SubGrids grids) {
  memory m(want, dnnl.engine, dnnl.scratch(slot, want.get_size()));
  channelsLastToBlocked(t, want, m.get_data_handle(), grids);
  return m;
}

// convForward on the sub-grids; false, having done nothing, where that does not apply.
bool convForwardOnSubGrids(DnnlContext& dnnl, const ConvParams& p, const TensorRef& out, const TensorRef& input,
                           const TensorRef& weight, const TensorRef& bias) {
  const std::optional<SubProblem> sub = subProblemOf(p, input, weight, out);
  if (!sub) return false;
  const std::string key = keyOf("fwd_subgrids", p, {&out, &input, &weight, &bias});
  auto* entry = dnnl.cacheIfSupported<dnnl::convolution_forward>(key, [&] {
    return forwardDesc(dnnl, sub->params, dnnl::algorithm::convolution_winograd, anyLayout(sub->input), weight,
                       bias.data != nullptr, anyLayout(sub->out));
  });
  if (entry == nullptr) return false;
  const auto& pd = entry->pd;
  if (!blockedOf(input, pd.src_desc(), sub->grids) || !blockedOf(out, pd.dst_desc(), sub->grids)) return false;
  memory src = gathered(dnnl, input, pd.src_desc(), kSrcSlot, sub->grids);
  memory wt = asLayout(dnnl, key, weight, weightDesc(weight, p.groups, false), pd.weights_desc(), kWeightSlot);
  memory dst(pd.dst_desc(), dnnl.engine, dnnl.scratch(kOutputSlot, pd.dst_desc().get_size()));
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wt}, {DNNL_ARG_DST, dst}};
  if (bias.data != nullptr) args.emplace(DNNL_ARG_BIAS, memory(pd.bias_desc(), dnnl.engine, bias.data));
  dnnl.execute(entry->primitive, pd, args);
  blockedToChannelsLast(pd.dst_desc(), dst.get_data_handle(), out, sub->grids);
  return true;
}

// convBackwardInput on the sub-grids; false, having done nothing, where that does not apply.
bool convBackwardInputOnSubGrids(DnnlContext& dnnl, const ConvParams& p, const TensorRef& gradInput,
                                 const TensorRef& gradOutput, const TensorRef& weight) {
  const std::optional<SubProblem> sub = subProblemOf(p, gradInput, weight, gradOutput);
  if (!sub) return false;
  const std::string key = keyOf("bwd_data_subgrids", p, {&gradInput, &gradOutput, &weight});
  auto* entry = dnnl.cacheIfSupported<dnnl::convolution_backward_data>(key, [&] {
    const auto algorithm = dnnl::algorithm::convolution_winograd;
    const auto hint = forwardDesc(dnnl, sub->params, algorithm, anyLayout(sub->input), weight, false, anyLayout(sub->out));
    const Geometry g = geometryOf(sub->params);
    const dnnl::convolution_backward_data::desc desc(algorithm, anyLayout(sub->input), weightDesc(weight, 1, true),
                                                     anyLayout(sub->out), g.strides, g.dilates, g.padL, g.padR);
    return dnnl::convolution_backward_data::primitive_desc(desc, dnnl.attr(), dnnl.engine, hint);
  });
  if (entry == nullptr) return false;
  const auto& pd = entry->pd;
  if (!blockedOf(gradOutput, pd.diff_dst_desc(), sub->grids) || !blockedOf(gradInput, pd.diff_src_desc(), sub->grids)) {
    return false;
  }
  memory diffDst = gathered(dnnl, gradOutput, pd.diff_dst_desc(), kDiffDstSlot, sub->grids);
  memory wt = asLayout(dnnl, key, weight, weightDesc(weight, 1, false), pd.weights_desc(), kWeightSlot);
  memory diffSrc(pd.diff_src_desc(), dnnl.engine, dnnl.scratch(kOutputSlot, pd.diff_src_desc().get_size()));
  dnnl.execute(entry->primitive, pd, {{DNNL_ARG_DIFF_DST, diffDst}, {DNNL_ARG_WEIGHTS, wt}, {DNNL_ARG_DIFF_SRC, diffSrc}});
  blockedToChannelsLast(pd.diff_src_desc(), diffSrc.get_data_handle(), gradInput, sub->grids);
  return true;
}

// convBackwardWeight on the sub-grids; false, having done nothing, where that does not apply.
bool convBackwardWeightOnSubGrids(DnnlContext& dnnl, const ConvParams& p, const TensorRef& gradWeight,
                                  const TensorRef& gradBias, const TensorRef& gradOutput, const TensorRef& input) {
  const std::optional<SubProblem> sub = subProblemOf(p, input, gradWeight, gradOutput);
  if (!sub) return false;
  const bool hasBias = gradBias.data != nullptr;
  const std::string key = keyOf("bwd_weights_subgrids", p, {&gradWeight, &gradBias, &gradOutput, &input});
  auto* entry = dnnl.cacheIfSupported<dnnl::convolution_backward_weights>(key, [&] {
    const auto algorithm = dnnl::algorithm::convolution_winograd;
    const auto hint =
        forwardDesc(dnnl, sub->params, algorithm, anyLayout(sub->input), gradWeight, hasBias, anyLayout(sub->out));
    const Geometry g = geometryOf(sub->params);
    const dnnl::convolution_backward_weights::desc desc(algorithm, anyLayout(sub->input),
                                                        weightDesc(gradWeight, 1, true),
                                                        hasBias ? biasDesc(gradWeight) : memory::desc(),
                                                        anyLayout(sub->out), g.strides, g.dilates, g.padL, g.padR);
    return dnnl::convolution_backward_weights::primitive_desc(desc, dnnl.attr(), dnnl.engine, hint);
  });
  if (entry == nullptr) return false;
  const auto& pd = entry->pd;
  if (!blockedOf(input, pd.src_desc(), sub->grids) || !blockedOf(gradOutput, pd.diff_dst_desc(), sub->grids)) return false;
  memory src = gathered(dnnl, input, pd.src_desc(), kSrcSlot, sub->grids);
  memory diffDst = gathered(dnnl, gradOutput, pd.diff_dst_desc(), kDiffDstSlot, sub->grids);
  Output diffWeights(dnnl, pd.diff_weights_desc(), gradWeight, weightDesc(gradWeight, 1, false));
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, diffDst}, {DNNL_ARG_DIFF_WEIGHTS, diffWeights.compute}};
  if (hasBias) args.emplace(DNNL_ARG_DIFF_BIAS, memory(pd.diff_bias_desc(), dnnl.engine, gradBias.data));
  dnnl.execute(entry->primitive, pd, args);
  diffWeights.finish(dnnl, key);
  return true;
}

}  // namespace

void convForward(DnnlContext& dnnl, const ConvParams& fused, const TensorRef& out, const TensorRef& input,
                 const TensorRef& weight, const TensorRef& bias) {
  if (out.numel() == 0) return;
  // A SiLU after the convolution runs as a pass of its own over the output, in place, on
  // libmvec (cpu/silu.cc) where the CPU has AVX-512, not as oneDNN's eltwise_swish post-op:
  // that post-op is compute-bound. EfficientNet-B0's eval pass at batch 16 (2-vCPU EPYC, two
  // runs each): convolutions with the post-op 124-128 ms; without it 92-99 ms plus the SiLU
  // pass's 25-26 ms; the pass 150-154 -> 140-143 ms.
  const bool siluAfter = fused.activation == ConvActivation::Silu && out.dtype == DType::Float32 &&
                         out.layout.isDense() && siluDenseAvailable();
  ConvParams p = fused;
  if (siluAfter) p.activation = ConvActivation::None;
  if (convForwardOnSubGrids(dnnl, p, out, input, weight, bias)) {
    if (siluAfter) siluDense(out.as<float>(), out.as<float>(), out.numel());
    return;
  }
  const std::string key = keyOf("fwd", p, {&out, &input, &weight, &bias});
  auto& entry = dnnl.cache<dnnl::convolution_forward>(key, [&] {
    return withAlgorithm(winogradWins(p, input, weight, out), [&](dnnl::algorithm algorithm) {
      const bool blocked =
          algorithm == dnnl::algorithm::convolution_winograd || (smallMaps(out.layout) && p.groups == 1 && !isPointwise(weight.layout));  // see top
      return forwardDesc(dnnl, p, algorithm, blocked ? anyLayout(input) : channelsLast(input), weight,
                         bias.data != nullptr, blocked ? anyLayout(out) : strided(out));
    });
  });
  const auto& pd = entry.pd;
  memory src = asLayout(dnnl, key, input, strided(input), pd.src_desc(), kSrcSlot);
  memory w = asLayout(dnnl, key, weight, weightDesc(weight, p.groups, false), pd.weights_desc(), kWeightSlot);
  Output dst(dnnl, pd.dst_desc(), out, strided(out));
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, dst.compute}};
  if (bias.data != nullptr) args.emplace(DNNL_ARG_BIAS, memory(pd.bias_desc(), dnnl.engine, bias.data));
  dnnl.execute(entry.primitive, pd, args);
  dst.finish(dnnl, key);
  if (siluAfter) siluDense(out.as<float>(), out.as<float>(), out.numel());
}

void convBackwardInput(DnnlContext& dnnl, const ConvParams& p, const TensorRef& gradInput, const TensorRef& gradOutput,
                      const TensorRef& weight) {
  if (gradInput.numel() == 0) return;
  if (gradOutput.numel() == 0) {
    fill(gradInput, 0.0);
    return;
  }
  if (convBackwardInputOnSubGrids(dnnl, p, gradInput, gradOutput, weight)) return;
  const std::string key = keyOf("bwd_data", p, {&gradInput, &gradOutput, &weight});
  auto& entry = dnnl.cache<dnnl::convolution_backward_data>(key, [&] {
    return withAlgorithm(winogradWins(p, gradInput, weight, gradOutput), [&](dnnl::algorithm algorithm) {
      const bool winograd = algorithm == dnnl::algorithm::convolution_winograd;
      const memory::desc diffSrc = winograd ? anyLayout(gradInput) : strided(gradInput);
      const memory::desc diffDst = winograd ? anyLayout(gradOutput) : channelsLast(gradOutput);
      const auto hint = forwardDesc(dnnl, p, algorithm, diffSrc, weight, false, diffDst);
      const Geometry g = geometryOf(p);
      const dnnl::convolution_backward_data::desc desc(algorithm, diffSrc, weightDesc(weight, p.groups, true), diffDst,
                                                       g.strides, g.dilates, g.padL, g.padR);
      return createFor(weight.dtype,
                       [&] { return dnnl::convolution_backward_data::primitive_desc(desc, dnnl.attr(), dnnl.engine, hint); });
    });
  });
  const auto& pd = entry.pd;
  memory diffDst = asLayout(dnnl, key, gradOutput, strided(gradOutput), pd.diff_dst_desc(), kDiffDstSlot);
  memory w = asLayout(dnnl, key, weight, weightDesc(weight, p.groups, false), pd.weights_desc(), kWeightSlot);
  Output diffSrc(dnnl, pd.diff_src_desc(), gradInput, strided(gradInput));
  dnnl.execute(entry.primitive, pd, {{DNNL_ARG_DIFF_DST, diffDst}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DIFF_SRC, diffSrc.compute}});
  diffSrc.finish(dnnl, key);
}

void convBackwardWeight(DnnlContext& dnnl, const ConvParams& p, const TensorRef& gradWeight, const TensorRef& gradBias,
                        const TensorRef& gradOutput, const TensorRef& input) {
  if (gradOutput.numel() == 0 || input.numel() == 0) {
    fill(gradWeight, 0.0);
    if (gradBias.data != nullptr) fill(gradBias, 0.0);
    return;
  }
  if (convBackwardWeightOnSubGrids(dnnl, p, gradWeight, gradBias, gradOutput, input)) return;
  const bool hasBias = gradBias.data != nullptr;
  const std::string key = keyOf("bwd_weights", p, {&gradWeight, &gradBias, &gradOutput, &input});
  auto& entry = dnnl.cache<dnnl::convolution_backward_weights>(key, [&] {
    return withAlgorithm(winogradWins(p, input, gradWeight, gradOutput), [&](dnnl::algorithm algorithm) {
      const bool winograd = algorithm == dnnl::algorithm::convolution_winograd;
      const memory::desc src = winograd ? anyLayout(input) : channelsLast(input);
      const memory::desc diffDst = winograd ? anyLayout(gradOutput) : channelsLast(gradOutput);
      const auto hint = forwardDesc(dnnl, p, algorithm, src, gradWeight, hasBias, diffDst);
      const Geometry g = geometryOf(p);
      const memory::desc bias = hasBias ? biasDesc(gradWeight) : memory::desc();
      const dnnl::convolution_backward_weights::desc desc(algorithm, src, weightDesc(gradWeight, p.groups, true), bias,
                                                          diffDst, g.strides, g.dilates, g.padL, g.padR);
      return createFor(input.dtype,
                       [&] { return dnnl::convolution_backward_weights::primitive_desc(desc, dnnl.attr(), dnnl.engine, hint); });
    });
  });
  const auto& pd = entry.pd;
  memory src = asLayout(dnnl, key, input, strided(input), pd.src_desc(), kSrcSlot);
  memory diffDst = asLayout(dnnl, key, gradOutput, strided(gradOutput), pd.diff_dst_desc(), kDiffDstSlot);
  Output diffWeights(dnnl, pd.diff_weights_desc(), gradWeight, weightDesc(gradWeight, p.groups, false));
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, diffDst}, {DNNL_ARG_DIFF_WEIGHTS, diffWeights.compute}};
  if (hasBias) args.emplace(DNNL_ARG_DIFF_BIAS, memory(pd.diff_bias_desc(), dnnl.engine, gradBias.data));
  dnnl.execute(entry.primitive, pd, args);
  diffWeights.finish(dnnl, key);
}

// The primitives this file implements (neocog/primitives.def).
void CpuBackend::convForward(const ConvParams& params, Out out, In input, In weight, OptIn bias, const MathOptions&) {
  cpu::convForward(dnnl_, params, out, input, weight, bias);
}
void CpuBackend::convBackwardInput(const ConvParams& params, Out gradInput, In gradOutput, In weight,
                                   const MathOptions&) {
  cpu::convBackwardInput(dnnl_, params, gradInput, gradOutput, weight);
}
void CpuBackend::convBackwardWeight(const ConvParams& params, Out gradWeight, OptOut gradBias, In gradOutput, In input,
                                    const MathOptions&) {
  cpu::convBackwardWeight(dnnl_, params, gradWeight, gradBias, gradOutput, input);
}

}  // namespace neocog::cpu
