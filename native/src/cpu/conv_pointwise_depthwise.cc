// A pointwise (1x1) convolution and the 3x3 depthwise one that reads its output, as one op:
// MobileNetV2's expansion and depthwise layers. Run apart, the expansion writes its whole
// output (6x the block's input channels, e.g. [32, 96, 112, 112], 154 MB) to memory and the
// depthwise layer reads it back; both are bound by memory bandwidth there. Here each image's
// expanded rows are computed as the depthwise rows need them, into a ring of three rows that
// stays in cache, and never written out.
//
// Hand-written because the library's version of this fusion is unusable: oneDNN 2.6 offers it
// (post_ops::append_dw, jit_1x1 + depthwise), but on channels-last operands its results were
// wrong (every output of [2, 16, 112, 112] -> 96 with a stride-2 depthwise off by up to 6, the
// ReLU6 bound), and on 16-channel blocks too with 24 input channels (off by up to 3.96),
// checked against the two convolutions run apart. Float32 on dense channels-last operands, a
// 3x3 depthwise kernel padded by 1 with stride 1 or 2, ReLU, ReLU6 or no activation; anything
// else runs the two convolutions one after the other.
#include <omp.h>

// The 16-float vectors are passed only between functions inlined into the clones (NC_INLINE).
#pragma GCC diagnostic ignored "-Wpsabi"

#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu/cpu_backend.h"
#include "cpu/vector_clones.h"
#include "kernels/conv.h"

namespace neocog::cpu {

namespace {

// 16 floats as one value (GCC vector extension): one AVX-512 register, two AVX2 ones or four
// SSE ones, whichever the clone being compiled has. Loads and stores are unaligned.
typedef float Vec16 __attribute__((vector_size(64)));
typedef float Vec16Unaligned __attribute__((vector_size(64), aligned(4), may_alias));
#define NC_LOAD16(p) (*reinterpret_cast<const Vec16Unaligned*>(p))
#define NC_STORE16(p, v) (*reinterpret_cast<Vec16Unaligned*>(p) = (v))
constexpr int64_t kLanes = 16;
// The helpers of the vector clones below are inlined into each clone, so that they compile
// for its instruction set (a call would pass 16-float vectors through memory).
#define NC_INLINE inline __attribute__((always_inline))

// The operands repacked once per call, channels padded with zeros to a multiple of 16 lanes.
// The pointwise weight is cut into groups of up to kGroupBlocks 16-channel blocks, each
// stored [inChannels][its channels], so that a tile of outputs reads its weights in one
// sequential sweep (read with the stride of a whole row of channels, the 96 -> 576 expansion
// ran at a third of peak).
constexpr int64_t kGroupBlocks = 4;

struct Packed {
  int64_t inChannels = 0, channels = 0, padded = 0;
  std::vector<float> pointwise;      // groups of kGroupBlocks blocks: [inChannels][blocks * 16] each
  std::vector<float> pointwiseBias;  // [padded]
  std::vector<float> depthwise;      // [9][padded], tap (i, j) at i * 3 + j
  std::vector<float> depthwiseBias;  // [padded]
  ConvActivation pointwiseActivation = ConvActivation::None, depthwiseActivation = ConvActivation::None;
};

Packed pack(const ConvParams& pw, const ConvParams& dw, const TensorRef& weight, const TensorRef& bias,
            const TensorRef& dwWeight, const TensorRef& dwBias) {
  Packed p;
  p.channels = weight.layout.shape[0];
  p.inChannels = weight.layout.shape[1];
  p.padded = (p.channels + kLanes - 1) / kLanes * kLanes;
  p.pointwise.assign(p.inChannels * p.padded, 0.0f);
  p.pointwiseBias.assign(p.padded, 0.0f);
  p.depthwise.assign(9 * p.padded, 0.0f);
  p.depthwiseBias.assign(p.padded, 0.0f);
  const float* w = weight.as<float>();
  const float* d = dwWeight.as<float>();
  const int64_t* ws = weight.layout.strides;
  const int64_t* ds = dwWeight.layout.strides;
  for (int64_t c = 0; c < p.channels; ++c) {
    // Channel c's group starts at channel first, with width channels of its own.
    const int64_t first = c / (kGroupBlocks * kLanes) * kGroupBlocks * kLanes;
    const int64_t width = std::min(kGroupBlocks * kLanes, p.padded - first);
    for (int64_t k = 0; k < p.inChannels; ++k) {
      p.pointwise[first * p.inChannels + k * width + (c - first)] = w[c * ws[0] + k * ws[1]];
    }
    for (int64_t i = 0; i < 3; ++i) {
      for (int64_t j = 0; j < 3; ++j) p.depthwise[(i * 3 + j) * p.padded + c] = d[c * ds[0] + i * ds[2] + j * ds[3]];
    }
    if (bias.data) p.pointwiseBias[c] = bias.as<float>()[c * bias.layout.strides[0]];
    if (dwBias.data) p.depthwiseBias[c] = dwBias.as<float>()[c * dwBias.layout.strides[0]];
  }
  p.pointwiseActivation = pw.activation;
  p.depthwiseActivation = dw.activation;
  return p;
}

// The activation on 16 lanes; NaN stays NaN (comparisons with it are false), as the unfused ops.
NC_INLINE Vec16 activate(Vec16 v, ConvActivation activation) {
  if (activation == ConvActivation::None) return v;
  const Vec16 zero = {};
  v = v < zero ? zero : v;
  if (activation == ConvActivation::Relu6) {
    const Vec16 six = zero + 6.0f;
    v = v > six ? six : v;
  }
  return v;
}

// P pixels by B 16-channel blocks of an expanded row, the P * B sums in registers: out[p][c]
// = act(bias[c] + sum_k x[p][k] * w[k][c]); x is channels-last (cin apart), w one packed
// group ([cin][B * 16]), out `padded` apart.
template <int P, int B>
NC_INLINE void expandTile(const float* x, int64_t cin, const float* w, const float* bias, ConvActivation act, float* out,
                       int64_t padded) {
  Vec16 sums[P][B];
#pragma GCC unroll 16
  for (int p = 0; p < P; ++p) {
#pragma GCC unroll 16
    for (int b = 0; b < B; ++b) sums[p][b] = NC_LOAD16(bias + b * kLanes);
  }
  for (int64_t k = 0; k < cin; ++k) {
    Vec16 wk[B];
#pragma GCC unroll 16
    for (int b = 0; b < B; ++b) wk[b] = NC_LOAD16(w + (k * B + b) * kLanes);
#pragma GCC unroll 16
    for (int p = 0; p < P; ++p) {
      const float a = x[p * cin + k];
#pragma GCC unroll 16
      for (int b = 0; b < B; ++b) sums[p][b] += a * wk[b];
    }
  }
#pragma GCC unroll 16
  for (int p = 0; p < P; ++p) {
#pragma GCC unroll 16
    for (int b = 0; b < B; ++b) NC_STORE16(out + p * padded + b * kLanes, activate(sums[p][b], act));
  }
}

// The pixels of a row for one group of B blocks: P at a time (P * B >= 8 independent sums,
// enough to keep both FMA units busy through their latency), then one at a time.
template <int P, int B>
NC_INLINE void expandGroup(const float* x, int64_t width, int64_t cin, const float* w, const float* bias,
                        ConvActivation act, float* row, int64_t padded) {
  int64_t i = 0;
  for (; i + P <= width; i += P) expandTile<P, B>(x + i * cin, cin, w, bias, act, row + i * padded, padded);
  for (; i < width; ++i) expandTile<1, B>(x + i * cin, cin, w, bias, act, row + i * padded, padded);
}

// One expanded row: row[w][c] = act(b[c] + sum_k x[w][k] * W[k][c]) for the `width` pixels of
// input row x (channels-last, inChannels apart), `padded` apart in row.
NC_VECTOR_CLONES void expandRow(const float* x, int64_t width, const Packed& p, float* row) {
  const int64_t cin = p.inChannels, blocks = p.padded / kLanes;
  const ConvActivation act = p.pointwiseActivation;
  for (int64_t b0 = 0; b0 < blocks; b0 += kGroupBlocks) {
    const float* w = p.pointwise.data() + b0 * kLanes * cin;
    const float* bias = p.pointwiseBias.data() + b0 * kLanes;
    float* out = row + b0 * kLanes;
    switch (std::min(kGroupBlocks, blocks - b0)) {
      case 4: expandGroup<4, 4>(x, width, cin, w, bias, act, out, p.padded); break;
      case 3: expandGroup<4, 3>(x, width, cin, w, bias, act, out, p.padded); break;
      case 2: expandGroup<4, 2>(x, width, cin, w, bias, act, out, p.padded); break;
      default: expandGroup<8, 1>(x, width, cin, w, bias, act, out, p.padded); break;
    }
  }
}

// P output pixels of one 16-channel block: y = act(b + sum_ij D[i * 3 + j] * e_i[stride * c
// + j]); the nine taps stay in registers across the pixels, and the P sums are independent.
template <int P>
NC_INLINE void depthwiseTile(const float* const* e, const Vec16* taps, Vec16 bias, int64_t stride, int64_t padded,
                          ConvActivation act, int64_t channels, int64_t lane, float* y) {
  Vec16 sums[P];
#pragma GCC unroll 16
  for (int p = 0; p < P; ++p) sums[p] = bias;
#pragma GCC unroll 3
  for (int i = 0; i < 3; ++i) {
#pragma GCC unroll 3
    for (int j = 0; j < 3; ++j) {
#pragma GCC unroll 16
      for (int p = 0; p < P; ++p) sums[p] += NC_LOAD16(e[i] + (stride * p + j) * padded) * taps[i * 3 + j];
    }
  }
#pragma GCC unroll 16
  for (int p = 0; p < P; ++p) {
    const Vec16 v = activate(sums[p], act);
    float* out = y + p * channels;
    if (lane + kLanes <= channels) {
      NC_STORE16(out, v);
    } else {  // the last, partial block: only the real channels
      float lanes[kLanes];
      NC_STORE16(lanes, v);
      std::memcpy(out, lanes, sizeof(float) * (channels - lane));
    }
  }
}

// One output row: y[c][ch] = act(b[ch] + sum_ij D[i * 3 + j][ch] * e_i[stride * c + j][ch])
// from the three expanded rows e_i it reads, each stored with a zero column on either side
// (column 0 is input column -1). y is channels-last, `channels` apart. Pixels outside, blocks
// inside: a tile's few input columns stay in L1 across its blocks (blocks outside swept the
// three rows, 130 KB for 96 channels at 112 wide, from L2 once per block: 4.8 ms of the 8.5
// of [32, 16, 112, 112] -> 96 with a stride-2 depthwise).
template <int P>
NC_INLINE void depthwiseTiles(const float* const* e, int64_t c, int64_t stride, const Packed& p, float* y) {
  const int64_t padded = p.padded, channels = p.channels;
  for (int64_t lane = 0; lane < padded; lane += kLanes) {
    Vec16 taps[9];
#pragma GCC unroll 9
    for (int t = 0; t < 9; ++t) taps[t] = NC_LOAD16(p.depthwise.data() + t * padded + lane);
    const float* at[3] = {e[0] + stride * c * padded + lane, e[1] + stride * c * padded + lane,
                          e[2] + stride * c * padded + lane};
    depthwiseTile<P>(at, taps, NC_LOAD16(p.depthwiseBias.data() + lane), stride, padded, p.depthwiseActivation,
                     channels, lane, y + c * channels + lane);
  }
}

NC_VECTOR_CLONES void depthwiseRow(const float* const* e, int64_t outWidth, int64_t stride, const Packed& p, float* y) {
  int64_t c = 0;
  for (; c + 4 <= outWidth; c += 4) depthwiseTiles<4>(e, c, stride, p, y);
  for (; c < outWidth; ++c) depthwiseTiles<1>(e, c, stride, p, y);
}

// Whether `t` [N, C, H, W] is dense channels-last.
bool denseChannelsLast(const TensorRef& t) {
  const Layout& l = t.layout;
  return l.ndim == 4 && l.strides[1] == 1 && l.strides[3] == l.shape[1] && l.strides[2] == l.shape[3] * l.shape[1] &&
         (l.shape[0] == 1 || l.strides[0] == l.shape[2] * l.strides[2]);
}

// Maps of fewer pixels run the two convolutions: oneDNN's 1x1 kernels are faster on them,
// whose rows are too short for the expanded rows to matter. MobileNetV2's pairs at batch 32
// (2 threads, 2-vCPU AVX-512 EPYC, medians of 11, ms, apart -> fused, one run): 16 -> 96 at
// 112x112 with a stride-2 depthwise 16.2 -> 8.2, 24 -> 144 at 56x56 8.0 -> 6.1 (stride 2: 5.4
// -> 3.5), 32 -> 192 at 28x28 2.84 -> 2.16; at 14x14 64 -> 384 1.44 -> 1.51 and 96 -> 576
// 2.92 -> 2.95, and at 7x7 160 -> 960 1.72 -> 2.82.
constexpr int64_t kMinFusedPixels = 20 * 20;

// Whether the fused kernel applies (see top).
bool fusable(const ConvParams& dw, const TensorRef& out, const TensorRef& input, const TensorRef& dwWeight) {
  if (out.dtype != DType::Float32 || !denseChannelsLast(out) || !denseChannelsLast(input)) return false;
  if (input.layout.shape[2] * input.layout.shape[3] < kMinFusedPixels) return false;
  if (dwWeight.layout.shape[2] != 3 || dwWeight.layout.shape[3] != 3) return false;
  const int64_t stride = dw.stride[0];
  if ((stride != 1 && stride != 2) || dw.stride[1] != stride) return false;
  for (int i = 0; i < 2; ++i) {
    if (dw.padBegin[i] != 1 || dw.padEnd[i] != 1 || dw.dilation[i] != 1) return false;
  }
  return true;
}

// Scratch slots of DnnlContext (cpu/conv.cc's convolutions use slots 0-3 for their own
// reorders): the fused kernel's rows, and the pointwise output when the two convolutions
// run apart. Persistent buffers: the rows of a 96-channel, 112-wide map are 131 KB a thread,
// which malloc maps afresh (and faults in) on every call.
constexpr size_t kRowsSlot = 8, kMiddleSlot = 9;

// The floats of an expanded row with its zero columns.
int64_t rowFloats(const Packed& p, const TensorRef& input) { return (input.layout.shape[3] + 2) * p.padded; }

// `rows`: a zero row (the padding above and below the map), then a ring of three expanded rows
// per thread of the team, rowFloats() each.
void fused(const Packed& p, int64_t stride, const TensorRef& out, const TensorRef& input, float* rows) {
  const Layout &x = input.layout, &o = out.layout;
  const int64_t batch = x.shape[0], height = x.shape[2], width = x.shape[3];
  const int64_t outHeight = o.shape[2], outWidth = o.shape[3];
  const int64_t row = rowFloats(p, input);
  const float* zeroRow = rows;
  std::fill(rows, rows + row, 0.0f);
  // Tasks of whole images, or bands of rows where the batch is smaller than twice the team
  // (each band recomputes at most two expanded rows of the one above).
  const int64_t threads = omp_get_max_threads();
  const int64_t bands = std::min(outHeight, std::max<int64_t>(1, (2 * threads + batch - 1) / batch));
  const int64_t tasks = batch * bands;
  const float* src = input.as<float>();
  float* dst = out.as<float>();
#pragma omp parallel if (tasks > 1)
  {
    // Expanded row e at slot e mod 3; the columns either side of the map stay zero.
    float* ring = rows + (1 + 3 * omp_get_thread_num()) * row;
    for (int slot = 0; slot < 3; ++slot) {
      std::fill(ring + slot * row, ring + slot * row + p.padded, 0.0f);
      std::fill(ring + (slot + 1) * row - p.padded, ring + (slot + 1) * row, 0.0f);
    }
#pragma omp for schedule(static)
    for (int64_t task = 0; task < tasks; ++task) {
      const int64_t n = task / bands, band = task % bands;
      const int64_t r0 = band * outHeight / bands, r1 = (band + 1) * outHeight / bands;
      int64_t next = stride * r0 - 1;  // the first expanded row not yet in the ring
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t top = stride * r - 1;
        for (; next <= top + 2; ++next) {
          if (next < 0 || next >= height) continue;
          expandRow(src + n * x.strides[0] + next * x.strides[2], width, p, ring + (next % 3) * row + p.padded);
        }
        const float* three[3];
        for (int i = 0; i < 3; ++i) {
          const int64_t e = top + i;
          three[i] = e < 0 || e >= height ? zeroRow : ring + (e % 3) * row;
        }
        depthwiseRow(three, outWidth, stride, p, dst + n * o.strides[0] + r * o.strides[2]);
      }
    }
  }
}

}  // namespace

// The primitive this file implements (neocog/primitives.def).
void CpuBackend::convPointwiseDepthwise(const ConvParams& pointwise, const ConvParams& depthwise, Out out, In input,
                                        In weight, OptIn bias, In depthwiseWeight, OptIn depthwiseBias,
                                        const MathOptions& math) {
  if (out.numel() == 0) return;
  if (fusable(depthwise, out, input, depthwiseWeight)) {
    const Packed p = pack(pointwise, depthwise, weight, bias, depthwiseWeight, depthwiseBias);
    const size_t floats = static_cast<size_t>((1 + 3 * omp_get_max_threads()) * rowFloats(p, input));
    fused(p, depthwise.stride[0], out, input, static_cast<float*>(dnnl_.scratch(kRowsSlot, floats * sizeof(float))));
    return;
  }
  // The two convolutions one after the other, the pointwise output dense channels-last.
  OutputTensor middle{{nullptr, out.dtype, kernels::pointwiseOutputLayout(input.layout, weight.layout.shape[0])}};
  middle.data = dnnl_.scratch(kMiddleSlot, static_cast<size_t>(middle.numel()) * dtypeSize(out.dtype));
  convForward(pointwise, middle, input, weight, bias, math);
  convForward(depthwise, out, InputTensor{middle}, depthwiseWeight, depthwiseBias, math);
}

}  // namespace neocog::cpu
