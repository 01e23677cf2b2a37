// Batch normalization. Dense float32 tensors (contiguous, channels-last, any dense
// permutation) whose operands share one layout take our own kernels below, except the
// channels-last backward; everything else goes to oneDNN's batch_normalization primitives,
// cached per layout. A ReLU after the normalization (training's conv → BN → ReLU blocks)
// can be fused: applied as the output is written, its gradient mask recomputed from the
// input in the backward (no pass over a saved output or a mask).
//
// Hand-written because oneDNN 2.6 measured slower on a training step's shapes
// ([32, 64, 56, 56], one thread, CPU time, min of 31 alternating calls, bench/kernels/ab.sh):
// training forward channels-last 4.7 ms (oneDNN) vs 2.9 ms (ours, 1.65x), NCHW forward
// 12.2 vs 4.8 ms (2.6x), NCHW backward 14.6 vs 6.6 ms (2.2x). Our channels-last backward
// measured 0.85-0.97x oneDNN's, so that one stays on oneDNN unless a ReLU is fused: then
// ours saves the ReLU's own backward pass (three passes over the activations).

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <string>
#include <vector>

#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"
#include "cpu/vector_clones.h"
#include "kernels/batch_norm.h"

// Vec16 below is a 64-byte vector type; GCC notes that passing one by value changes the
// ABI without AVX-512. It is never passed between functions, only used inside one.
#pragma GCC diagnostic ignored "-Wpsabi"

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
  return dnnl::batch_normalization_forward::primitive_desc(desc, dnnl.attr(), dnnl.engine);
}

memory channelVector(DnnlContext& dnnl, const TensorRef& t) {
  return memory(memory::desc({t.layout.shape[0]}, memory::data_type::f32, memory::format_tag::a), dnnl.engine, t.data);
}

void forwardDnnl(DnnlContext& dnnl, const TensorRef& out, const TensorRef& input, const TensorRef& weight,
                 const TensorRef& bias, const TensorRef& mean, const TensorRef& var, bool training, double eps) {
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
  dnnl.execute(entry.primitive, entry.pd, args);
}

void backwardDnnl(DnnlContext& dnnl, const TensorRef& gradInput, const TensorRef& gradWeight,
                  const TensorRef& gradBias, const TensorRef& gradOutput, const TensorRef& input,
                  const TensorRef& weight, const TensorRef& mean, const TensorRef& var, double eps) {
  const bool affine = weight.data != nullptr;
  const std::string key = std::string("bn_bwd|") + (affine ? "a" : "") + '|' + std::to_string(eps) + '|' +
                          layoutKey(input) + '|' + layoutKey(gradOutput);
  auto& entry = dnnl.cache<dnnl::batch_normalization_backward>(key, [&] {
    const auto hint = forwardDesc(dnnl, strided(input), eps, affine, true);
    const dnnl::batch_normalization_backward::desc desc(dnnl::prop_kind::backward, strided(gradOutput), strided(input),
                                                        static_cast<float>(eps), flagsFor(affine, false));
    return dnnl::batch_normalization_backward::primitive_desc(desc, dnnl.attr(), dnnl.engine, hint);
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
  dnnl.execute(entry.primitive, entry.pd, args);
}

// ---- Our own kernels --------------------------------------------------------------------

// The operands as memory blocks [outer][channels][inner]: in a dense layout the dims with a
// smaller stride than the channel dim's fill exactly inner = stride[1] elements, so the
// element at offset m has channel (m / inner) % channels whatever the dim order.
// Channels-last is inner = 1 (rows of channels), NCHW is inner = H * W.
struct Blocks {
  int64_t outer = 0, channels = 0, inner = 0;
};

bool sameLayout(const Layout& a, const Layout& b) {
  if (a.ndim != b.ndim) return false;
  for (int d = 0; d < a.ndim; ++d) {
    if (a.shape[d] != b.shape[d] || (a.shape[d] != 1 && a.strides[d] != b.strides[d])) return false;
  }
  return true;
}

// False (oneDNN takes the call) unless every operand is float32, dense and laid out as the first.
bool blocksOf(std::initializer_list<const TensorRef*> operands, Blocks* out) {
  const TensorRef& x = **operands.begin();
  if (x.layout.ndim < 2 || !x.layout.isDense()) return false;
  for (const TensorRef* t : operands) {
    if (t->dtype != DType::Float32 || !sameLayout(t->layout, x.layout)) return false;
  }
  const int64_t n = x.numel();
  out->channels = x.layout.shape[1];
  out->inner = out->channels == 1 ? n : x.layout.strides[1];
  out->outer = n / (out->channels * out->inner);
  return true;
}

// A [C] vector's values (or C copies of `absent` when it has no data).
std::vector<float> channelValues(const TensorRef& t, int64_t channels, float absent) {
  std::vector<float> values(channels, absent);
  if (t.data == nullptr) return values;
  const int64_t stride = t.layout.ndim > 0 ? t.layout.strides[0] : 1;
  for (int64_t c = 0; c < channels; ++c) values[c] = t.as<float>()[c * stride];
  return values;
}

// The arithmetic loops are compiled for AVX-512, AVX2 and baseline x86-64 (NC_VECTOR_CLONES).

// Statistics are sums of float lanes over a block of at most kRowBlock rows (channels-
// last) or kChunk elements (plain layout), each block then added in double: a million
// rows lose no more precision than one block does. The lanes are local arrays so that they
// live in vector registers, not in memory, across the block.
constexpr int64_t kRowBlock = 64, kLanes = 16, kChunk = 1024;

// 16 floats as one value (GCC vector extension): one AVX-512 register, two AVX2 ones or
// four SSE ones, whichever the clone being compiled has. Loads and stores are unaligned.
typedef float Vec16 __attribute__((vector_size(64)));
typedef float Vec16Unaligned __attribute__((vector_size(64), aligned(4), may_alias));
#define NC_LOAD16(p) (*reinterpret_cast<const Vec16Unaligned*>(p))
#define NC_STORE16(p, v) (*reinterpret_cast<Vec16Unaligned*>(p) = (v))

// Channels-last: per channel c, sum += sum(x - shift[c]) and sumSq += sum((x - shift[c])^2)
// over `rows` rows of `channels` values; 16 channels at a time, then the rest one by one.
NC_VECTOR_CLONES void shiftedSumRows(const float* x, int64_t rows, int64_t channels, const float* shift, double* sum,
                                     double* sumSq) {
  int64_t c0 = 0;
  // 64 channels at a time first: each row's 256 bytes are read in one sequential sweep.
  for (; c0 + 4 * kLanes <= channels; c0 += 4 * kLanes) {
    const Vec16 k0 = NC_LOAD16(shift + c0), k1 = NC_LOAD16(shift + c0 + 16), k2 = NC_LOAD16(shift + c0 + 32),
                k3 = NC_LOAD16(shift + c0 + 48);
    Vec16 s0 = {}, s1 = {}, s2 = {}, s3 = {}, q0 = {}, q1 = {}, q2 = {}, q3 = {};
    for (int64_t r = 0; r < rows; ++r) {
      const float* row = x + r * channels + c0;
      const Vec16 d0 = NC_LOAD16(row) - k0, d1 = NC_LOAD16(row + 16) - k1, d2 = NC_LOAD16(row + 32) - k2,
                  d3 = NC_LOAD16(row + 48) - k3;
      s0 += d0;
      s1 += d1;
      s2 += d2;
      s3 += d3;
      q0 += d0 * d0;
      q1 += d1 * d1;
      q2 += d2 * d2;
      q3 += d3 * d3;
    }
    for (int l = 0; l < kLanes; ++l) {
      sum[c0 + l] += s0[l];
      sum[c0 + 16 + l] += s1[l];
      sum[c0 + 32 + l] += s2[l];
      sum[c0 + 48 + l] += s3[l];
      sumSq[c0 + l] += q0[l];
      sumSq[c0 + 16 + l] += q1[l];
      sumSq[c0 + 32 + l] += q2[l];
      sumSq[c0 + 48 + l] += q3[l];
    }
  }
  for (; c0 + kLanes <= channels; c0 += kLanes) {
    const Vec16 k = NC_LOAD16(shift + c0);
    Vec16 s = {}, q = {};
    for (int64_t r = 0; r < rows; ++r) {
      const Vec16 d = NC_LOAD16(x + r * channels + c0) - k;
      s += d;
      q += d * d;
    }
    for (int l = 0; l < kLanes; ++l) {
      sum[c0 + l] += s[l];
      sumSq[c0 + l] += q[l];
    }
  }
  for (; c0 < channels; ++c0) {
    float s = 0.0f, q = 0.0f;
    for (int64_t r = 0; r < rows; ++r) {
      const float d = x[r * channels + c0] - shift[c0];
      s += d;
      q += d * d;
    }
    sum[c0] += s;
    sumSq[c0] += q;
  }
}

// Plain layout, one run of one channel: sum += sum(x - shift), sumSq += sum((x - shift)^2).
NC_VECTOR_CLONES void shiftedSumRun(const float* x, int64_t n, float shift, double* sum, double* sumSq) {
  for (int64_t begin = 0; begin < n; begin += kChunk) {
    const int64_t end = std::min(n, begin + kChunk);
    float s[kLanes] = {}, q[kLanes] = {};
    int64_t i = begin;
    for (; i + kLanes <= end; i += kLanes) {
      for (int64_t l = 0; l < kLanes; ++l) {
        const float d = x[i + l] - shift;
        s[l] += d;
        q[l] += d * d;
      }
    }
    for (; i < end; ++i) {
      const float d = x[i] - shift;
      s[0] += d;
      q[0] += d * d;
    }
    for (int64_t l = 0; l < kLanes; ++l) {
      *sum += s[l];
      *sumSq += q[l];
    }
  }
}

// Plain layout, one run of one channel: sumG += sum(g), sumGX += sum(g * (x - mean)), with
// `relu` of g passed back through the fused ReLU (kernels::reluGradientThrough).
NC_VECTOR_CLONES void gradientSumRun(const float* g, const float* x, int64_t n, float mean, float scale, float shift,
                                     bool relu, double* sumG, double* sumGX) {
  for (int64_t begin = 0; begin < n; begin += kChunk) {
    const int64_t end = std::min(n, begin + kChunk);
    float s[kLanes] = {}, q[kLanes] = {};
    int64_t i = begin;
    if (relu) {
      for (; i + kLanes <= end; i += kLanes) {
        for (int64_t l = 0; l < kLanes; ++l) {
          const float gi = kernels::reluGradientThrough(g[i + l], x[i + l], mean, scale, shift);
          s[l] += gi;
          q[l] += gi * (x[i + l] - mean);
        }
      }
    } else {
      for (; i + kLanes <= end; i += kLanes) {
        for (int64_t l = 0; l < kLanes; ++l) {
          s[l] += g[i + l];
          q[l] += g[i + l] * (x[i + l] - mean);
        }
      }
    }
    for (; i < end; ++i) {
      const float gi = relu ? kernels::reluGradientThrough(g[i], x[i], mean, scale, shift) : g[i];
      s[0] += gi;
      q[0] += gi * (x[i] - mean);
    }
    for (int64_t l = 0; l < kLanes; ++l) {
      *sumG += s[l];
      *sumGX += q[l];
    }
  }
}

// Channels-last, the fused ReLU's backward: per channel c, sumG += sum(g') and sumGX +=
// sum(g' * (x - mean[c])) over `rows` rows, g' = g where the normalized value is positive.
NC_VECTOR_CLONES void reluGradientSumRows(const float* g, const float* x, int64_t rows, int64_t channels,
                                          const float* mean, const float* scale, const float* shift, double* sumG,
                                          double* sumGX) {
  int64_t c0 = 0;
  for (; c0 + kLanes <= channels; c0 += kLanes) {
    const Vec16 m = NC_LOAD16(mean + c0), k = NC_LOAD16(scale + c0), b = NC_LOAD16(shift + c0);
    Vec16 s = {}, q = {};
    for (int64_t r = 0; r < rows; ++r) {
      const Vec16 d = NC_LOAD16(x + r * channels + c0) - m;
      const Vec16 gi = d * k + b > Vec16{} ? NC_LOAD16(g + r * channels + c0) : Vec16{};
      s += gi;
      q += gi * d;
    }
    for (int l = 0; l < kLanes; ++l) {
      sumG[c0 + l] += s[l];
      sumGX[c0 + l] += q[l];
    }
  }
  for (; c0 < channels; ++c0) {
    float s = 0.0f, q = 0.0f;
    for (int64_t r = 0; r < rows; ++r) {
      const float xv = x[r * channels + c0];
      const float gi = kernels::reluGradientThrough(g[r * channels + c0], xv, mean[c0], scale[c0], shift[c0]);
      s += gi;
      q += gi * (xv - mean[c0]);
    }
    sumG[c0] += s;
    sumGX[c0] += q;
  }
}

// ReLU of 16 values, NaN kept (as torch.relu): v <= 0 is false for NaN.
#define NC_RELU16(v) ((v) <= Vec16{} ? Vec16{} : (v))

// y = (x - mean) * scale + shift (kernels::normalizedValue), then max(y, 0) with `relu`.
// Not x * scale + (shift - mean * scale), which loses the digits of a small spread around
// a large mean (x * scale is then large).
NC_VECTOR_CLONES void normalizeRows(const float* x, float* y, int64_t rows, int64_t channels, const float* mean,
                                    const float* scale, const float* shift, bool relu) {
  const int64_t vectorChannels = channels / kLanes * kLanes;
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * channels;
    float* yr = y + r * channels;
    for (int64_t c = 0; c < vectorChannels; c += kLanes) {
      const Vec16 v = (NC_LOAD16(xr + c) - NC_LOAD16(mean + c)) * NC_LOAD16(scale + c) + NC_LOAD16(shift + c);
      NC_STORE16(yr + c, relu ? NC_RELU16(v) : v);
    }
    for (int64_t c = vectorChannels; c < channels; ++c) {
      const float v = kernels::normalizedValue(xr[c], mean[c], scale[c], shift[c]);
      yr[c] = relu && v <= 0.0f ? 0.0f : v;
    }
  }
}

NC_VECTOR_CLONES void normalizeRun(const float* x, float* y, int64_t n, float mean, float scale, float shift, bool relu) {
  if (relu) {
    for (int64_t i = 0; i < n; ++i) {
      const float v = kernels::normalizedValue(x[i], mean, scale, shift);
      y[i] = v <= 0.0f ? 0.0f : v;
    }
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = kernels::normalizedValue(x[i], mean, scale, shift);
  }
}

// gradInput = k * (g' - gMean - (x - mean) * xk), g' = g (or passed through the fused ReLU).
NC_VECTOR_CLONES void inputGradientRun(const float* g, const float* x, float* gi, int64_t n, float mean, float k,
                                       float gMean, float xk, float scale, float shift, bool relu) {
  if (relu) {
    for (int64_t i = 0; i < n; ++i) {
      gi[i] = k * (kernels::reluGradientThrough(g[i], x[i], mean, scale, shift) - gMean - (x[i] - mean) * xk);
    }
  } else {
    for (int64_t i = 0; i < n; ++i) gi[i] = k * (g[i] - gMean - (x[i] - mean) * xk);
  }
}

// The same over channels-last rows, through the fused ReLU.
NC_VECTOR_CLONES void reluInputGradientRows(const float* g, const float* x, float* gi, int64_t rows, int64_t channels,
                                            const float* mean, const float* k, const float* gMean, const float* xk,
                                            const float* scale, const float* shift) {
  const int64_t vectorChannels = channels / kLanes * kLanes;
  for (int64_t r = 0; r < rows; ++r) {
    const float* gr = g + r * channels;
    const float* xr = x + r * channels;
    float* out = gi + r * channels;
    for (int64_t c = 0; c < vectorChannels; c += kLanes) {
      const Vec16 d = NC_LOAD16(xr + c) - NC_LOAD16(mean + c);
      const Vec16 gv = d * NC_LOAD16(scale + c) + NC_LOAD16(shift + c) > Vec16{} ? NC_LOAD16(gr + c) : Vec16{};
      NC_STORE16(out + c, NC_LOAD16(k + c) * (gv - NC_LOAD16(gMean + c) - d * NC_LOAD16(xk + c)));
    }
    for (int64_t c = vectorChannels; c < channels; ++c) {
      const float gv = kernels::reluGradientThrough(gr[c], xr[c], mean[c], scale[c], shift[c]);
      out[c] = k[c] * (gv - gMean[c] - (xr[c] - mean[c]) * xk[c]);
    }
  }
}

// Elementwise passes: fn(offset, channel, rows) per piece of work, in parallel. Channels-
// last pieces are kRowBlock rows of all channels (channel unused); plain-layout pieces are
// one channel's run of `inner` elements (rows unused).
template <typename Fn>
void forEachBlock(const Blocks& b, Fn&& fn) {
  const int64_t n = b.outer * b.channels * b.inner;
  if (b.inner == 1) {
    const int64_t pieces = (b.outer + kRowBlock - 1) / kRowBlock;
#pragma omp parallel for schedule(static) if (n > kParallelGrain)
    for (int64_t p = 0; p < pieces; ++p) {
      const int64_t r0 = p * kRowBlock;
      fn(r0 * b.channels, int64_t{0}, std::min(kRowBlock, b.outer - r0));
    }
    return;
  }
  const int64_t pieces = b.outer * b.channels;
#pragma omp parallel for schedule(static) if (n > kParallelGrain)
  for (int64_t p = 0; p < pieces; ++p) fn(p * b.inner, p % b.channels, int64_t{1});
}

// Reductions: each thread sums its share of the pieces into its own row of `partials`
// (threads x width doubles, via add(piece, partial)); the rows are then added in thread
// order, so a given thread count always gives the same bits.
template <typename Add>
std::vector<double> reduceBlocks(const Blocks& b, int64_t width, Add&& add) {
  const int64_t n = b.outer * b.channels * b.inner;
  const int64_t pieces = b.inner == 1 ? (b.outer + kRowBlock - 1) / kRowBlock : b.outer * b.channels;
  const int threads = n > kParallelGrain ? omp_get_max_threads() : 1;
  std::vector<double> partials(static_cast<size_t>(threads) * width, 0.0);
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    const int t = omp_get_thread_num(), used = omp_get_num_threads();
    const int64_t begin = pieces * t / used, end = pieces * (t + 1) / used;
    for (int64_t p = begin; p < end; ++p) add(p, partials.data() + static_cast<size_t>(t) * width);
  }
  std::vector<double> total(width, 0.0);
  for (int t = 0; t < threads; ++t) {
    for (int64_t i = 0; i < width; ++i) total[i] += partials[static_cast<size_t>(t) * width + i];
  }
  return total;
}

// Batch mean and biased variance per channel, in one pass: sums of x - shift and of its
// square, with shift = the channel's first value, so var = E[(x - shift)^2] - E[x - shift]^2
// does not cancel catastrophically when the mean is large compared with the spread.
void batchStatistics(const Blocks& b, const float* x, float* mean, float* var) {
  const int64_t channels = b.channels;
  std::vector<float> shift(channels);
  for (int64_t c = 0; c < channels; ++c) shift[c] = x[b.inner == 1 ? c : c * b.inner];
  const std::vector<double> sums = reduceBlocks(b, 2 * channels, [&](int64_t p, double* partial) {
    if (b.inner == 1) {
      const int64_t r0 = p * kRowBlock;
      shiftedSumRows(x + r0 * channels, std::min(kRowBlock, b.outer - r0), channels, shift.data(), partial,
                     partial + channels);
    } else {
      const int64_t c = p % channels;
      shiftedSumRun(x + p * b.inner, b.inner, shift[c], partial + c, partial + channels + c);
    }
  });
  const double count = static_cast<double>(b.outer * b.inner);
  for (int64_t c = 0; c < channels; ++c) {
    const double m = sums[c] / count;
    mean[c] = static_cast<float>(shift[c] + m);
    var[c] = static_cast<float>(std::max(0.0, sums[channels + c] / count - m * m));
  }
}

// Per channel: sumG = sum(g'), sumGX = sum(g' * (x - mean)), g' = g or, with `relu`, g
// passed through the fused ReLU. Channels-last only with `relu` (oneDNN has the rest).
void gradientSums(const Blocks& b, const float* g, const float* x, const float* mean, const float* scale,
                  const float* shift, bool relu, double* sumG, double* sumGX) {
  const int64_t channels = b.channels;
  const std::vector<double> sums = reduceBlocks(b, 2 * channels, [&](int64_t p, double* partial) {
    if (b.inner == 1) {
      const int64_t r0 = p * kRowBlock;
      reluGradientSumRows(g + r0 * channels, x + r0 * channels, std::min(kRowBlock, b.outer - r0), channels, mean,
                          scale, shift, partial, partial + channels);
    } else {
      const int64_t c = p % channels;
      gradientSumRun(g + p * b.inner, x + p * b.inner, b.inner, mean[c], scale[c], shift[c], relu, partial + c,
                     partial + channels + c);
    }
  });
  for (int64_t c = 0; c < channels; ++c) {
    sumG[c] = sums[c];
    sumGX[c] = sums[channels + c];
  }
}

// running = (1 - momentum) * running + momentum * batch statistic, per channel.
void updateRunning(const TensorRef& mean, const TensorRef& var, const TensorRef& runningMean,
                   const TensorRef& runningVar, double count, double momentum) {
  const int64_t channels = mean.layout.shape[0];
  std::vector<float> absent(runningMean.data && runningVar.data ? 0 : 2 * channels);
  float* rm = runningMean.data ? runningMean.as<float>() : absent.data();
  float* rv = runningVar.data ? runningVar.as<float>() : absent.data() + channels;
  for (int64_t c = 0; c < channels; ++c) {
    kernels::updateRunningStatistics(rm + c, rv + c, mean.as<float>()[c], var.as<float>()[c], count, momentum);
  }
}

// The per-channel scale of the forward's normalization, weight / sqrt(var + eps), computed
// the same way in the backward so that a fused ReLU's mask is recomputed exactly.
std::vector<float> normalizationScale(const std::vector<float>& w, const std::vector<float>& v, double eps) {
  std::vector<float> scale(v.size());
  for (size_t c = 0; c < v.size(); ++c) scale[c] = static_cast<float>(w[c] / std::sqrt(static_cast<double>(v[c]) + eps));
  return scale;
}

}  // namespace

void batchNormForward(DnnlContext& dnnl, const TensorRef& out, const TensorRef& input, const TensorRef& weight,
                      const TensorRef& bias, const TensorRef& mean, const TensorRef& var, const TensorRef& runningMean,
                      const TensorRef& runningVar, bool training, double eps, double momentum, bool relu) {
  if (input.numel() == 0) return;
  const int64_t channels = input.layout.shape[1];
  const double count = static_cast<double>(input.numel() / channels);
  Blocks b;
  // A fused ReLU comes with dense operands (the backstop's rule), which are always ours.
  if (!blocksOf({&input, &out}, &b)) {
    forwardDnnl(dnnl, out, input, weight, bias, mean, var, training, eps);
    if (training && (runningMean.data || runningVar.data)) updateRunning(mean, var, runningMean, runningVar, count, momentum);
    return;
  }
  std::vector<float> m = training ? std::vector<float>(channels) : channelValues(mean, channels, 0.0f);
  std::vector<float> v = training ? std::vector<float>(channels) : channelValues(var, channels, 1.0f);
  if (training) {
    batchStatistics(b, input.as<float>(), m.data(), v.data());
    std::copy(m.begin(), m.end(), mean.as<float>());
    std::copy(v.begin(), v.end(), var.as<float>());
    if (runningMean.data || runningVar.data) updateRunning(mean, var, runningMean, runningVar, count, momentum);
  }
  // out = (x - mean) * scale + bias, with scale = weight / sqrt(var + eps).
  const std::vector<float> sh = channelValues(bias, channels, 0.0f);
  const std::vector<float> scale = normalizationScale(channelValues(weight, channels, 1.0f), v, eps);
  const float* x = input.as<float>();
  float* y = out.as<float>();
  forEachBlock(b, [&](int64_t offset, int64_t c, int64_t rows) {
    if (b.inner == 1) {
      normalizeRows(x + offset, y + offset, rows, channels, m.data(), scale.data(), sh.data(), relu);
    } else {
      normalizeRun(x + offset, y + offset, b.inner, m[c], scale[c], sh[c], relu);
    }
  });
}

void batchNormBackward(DnnlContext& dnnl, const TensorRef& gradInput, const TensorRef& gradWeight,
                       const TensorRef& gradBias, const TensorRef& gradOutput, const TensorRef& input,
                       const TensorRef& weight, const TensorRef& bias, const TensorRef& mean, const TensorRef& var,
                       double eps, bool relu) {
  if (input.numel() == 0) return;
  Blocks b;
  // Channels-last backward without a fused ReLU stays on oneDNN: ours measured 0.85-0.97x
  // its speed there (bench/kernels/ab.sh bn_bwd, one thread); the plain layout is ours (2.1x).
  // A fused ReLU comes with dense operands (the backstop's rule), which are always ours.
  if (!blocksOf({&input, &gradInput, &gradOutput}, &b) || (b.inner == 1 && !relu)) {
    return backwardDnnl(dnnl, gradInput, gradWeight, gradBias, gradOutput, input, weight, mean, var, eps);
  }
  const int64_t channels = b.channels;
  const std::vector<float> m = channelValues(mean, channels, 0.0f), v = channelValues(var, channels, 1.0f);
  const std::vector<float> w = channelValues(weight, channels, 1.0f), sh = channelValues(bias, channels, 0.0f);
  const std::vector<float> scale = normalizationScale(w, v, eps);
  std::vector<double> sumG(channels), sumGX(channels);
  gradientSums(b, gradOutput.as<float>(), input.as<float>(), m.data(), scale.data(), sh.data(), relu, sumG.data(),
               sumGX.data());
  // gradInput = w * invStd * (g - mean(g) - (x - mean) * invStd^2 * mean(g * (x - mean))).
  const double count = static_cast<double>(b.outer * b.inner);
  std::vector<float> k(channels), gMean(channels), xk(channels);
  for (int64_t c = 0; c < channels; ++c) {
    const double invStd = 1.0 / std::sqrt(static_cast<double>(v[c]) + eps);
    k[c] = static_cast<float>(w[c] * invStd);
    gMean[c] = static_cast<float>(sumG[c] / count);
    xk[c] = static_cast<float>(invStd * invStd * sumGX[c] / count);
    if (gradWeight.data) gradWeight.as<float>()[c] = static_cast<float>(sumGX[c] * invStd);
    if (gradBias.data) gradBias.as<float>()[c] = static_cast<float>(sumG[c]);
  }
  const float* g = gradOutput.as<float>();
  const float* x = input.as<float>();
  float* gi = gradInput.as<float>();
  forEachBlock(b, [&](int64_t offset, int64_t c, int64_t rows) {
    if (b.inner == 1) {
      reluInputGradientRows(g + offset, x + offset, gi + offset, rows, channels, m.data(), k.data(), gMean.data(),
                            xk.data(), scale.data(), sh.data());
    } else {
      inputGradientRun(g + offset, x + offset, gi + offset, b.inner, m[c], k[c], gMean[c], xk[c], scale[c], sh[c], relu);
    }
  });
}

// The primitives this file implements (neocog/primitives.def).
void CpuBackend::batchNormForward(Out out, In input, OptIn weight, OptIn bias, InOut mean, InOut variance,
                                  OptInOut runningMean, OptInOut runningVar, bool training, double eps, double momentum,
                                  bool relu) {
  cpu::batchNormForward(dnnl_, out, input, weight, bias, mean, variance, runningMean, runningVar, training, eps,
                        momentum, relu);
}
void CpuBackend::batchNormBackward(Out gradInput, OptOut gradWeight, OptOut gradBias, In gradOutput, In input,
                                   OptIn weight, OptIn bias, In mean, In variance, double eps, bool relu) {
  cpu::batchNormBackward(dnnl_, gradInput, gradWeight, gradBias, gradOutput, input, weight, bias, mean, variance, eps,
                         relu);
}

}  // namespace neocog::cpu
