// A convolution, the 3x3 depthwise convolution that reads its output and, optionally, the 1x1
// projection of that, as one op: MobileNetV2's blocks (expansion, depthwise, projection; or
// the stem, the first depthwise and its projection). Run apart, each layer writes its whole
// output to memory and the next reads it back (the expansion of [32, 16, 112, 112] to 96
// channels is 154 MB); at the large maps all of them are bound by memory bandwidth. Here each
// image's rows go through the three stages as the next one needs them: the first
// convolution's rows into a ring of three that stays in cache, the depthwise row and its
// projection in per-thread buffers, and only the block's result is written out, with the
// residual added where there is one (MobileNetV2's x + block(x), one more pass saved).
//
// Hand-written because the library's version of this fusion is unusable: oneDNN 2.6 offers
// the first two stages (post_ops::append_dw, jit_1x1 + depthwise), but on channels-last
// operands its results were wrong (every output of [2, 16, 112, 112] -> 96 with a stride-2
// depthwise off by up to 6, the ReLU6 bound), and on 16-channel blocks too with 24 input
// channels (off by up to 3.96), checked against the two convolutions run apart. Float32 on
// dense channels-last operands, a 3x3 depthwise kernel padded by 1 with stride 1 or 2, ReLU,
// ReLU6 or no activation, a first convolution that is 1x1 or has few taps (the stem, through
// zero-padded input rows); anything else runs the convolutions one after the other.
#include <immintrin.h>
#include <omp.h>

// The 16-float vectors are passed only between functions inlined into the clones (NC_INLINE).
#pragma GCC diagnostic ignored "-Wpsabi"
// GCC 12's AVX-512 intrinsics pass an undefined vector as the unused merge operand, which its
// -Wmaybe-uninitialized reports from inside the header (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu/cpu_backend.h"
#include "cpu/vector_clones.h"
#include "kernels/conv.h"
#include "kernels/half.h"

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

// A stage that is a matrix product per pixel, row[p][c] = act(bias[c] + sum_k x[p][k] *
// W[k][c]): the first convolution (k over its taps and input channels, (i * kW + j) * C + ci)
// and the projection. Repacked once per call, channels padded with zeros to a multiple of 16
// lanes, the weight cut into groups of up to kGroupBlocks 16-channel blocks, each stored
// [inChannels][its channels], so that a tile of outputs reads its weights in one sequential
// sweep (read with the stride of a whole row of channels, the 96 -> 576 expansion ran at a
// third of peak). Groups are of even size where the blocks do not fill groups of four (96
// channels as 3 + 3 blocks, not 4 + 2: a tile of two blocks does fewer multiplies a load).
constexpr int64_t kGroupBlocks = 4;

struct Pointwise {
  int64_t inChannels = 0, channels = 0, padded = 0, groupBlocks = 0;
  std::vector<float> weight;  // groups of groupBlocks blocks (the last may be smaller): [inChannels][blocks * 16] each
  std::vector<float> bias;    // [padded]
  ConvActivation activation = ConvActivation::None;
  // The weight as bfloat16 pairs (pointwiseRowBf16), where the stage runs on them: each group
  // [inChannels / 2][its channels][2].
  std::vector<uint16_t> pairs;
};

int64_t padToLanes(int64_t n) { return (n + kLanes - 1) / kLanes * kLanes; }

// Element `offset` of a float32 or bfloat16 tensor, as a float (weights are packed in float32).
float valueAt(const TensorRef& t, int64_t offset) {
  if (t.dtype == DType::BFloat16) return kernels::toFloat(t.as<const kernels::BFloat16>()[offset]);
  return t.as<const float>()[offset];
}

// `weight` [C, Cin, kH, kW] as a stage of `inChannels` >= Cin * kH * kW inputs (the rest zero:
// the projection reads depthwise rows padded to whole blocks).
Pointwise packPointwise(const TensorRef& weight, const TensorRef& bias, ConvActivation activation,
                        int64_t inChannels) {
  Pointwise p;
  const int64_t* shape = weight.layout.shape;
  const int64_t* ws = weight.layout.strides;
  p.channels = shape[0];
  p.inChannels = inChannels;
  p.padded = padToLanes(p.channels);
  const int64_t blocks = p.padded / kLanes, groups = (blocks + kGroupBlocks - 1) / kGroupBlocks;
  p.groupBlocks = (blocks + groups - 1) / groups;
  p.weight.assign(p.inChannels * p.padded, 0.0f);
  p.bias.assign(p.padded, 0.0f);
  p.activation = activation;
  for (int64_t c = 0; c < p.channels; ++c) {
    // Channel c's group starts at channel first, with width channels of its own.
    const int64_t first = c / (p.groupBlocks * kLanes) * p.groupBlocks * kLanes;
    const int64_t width = std::min(p.groupBlocks * kLanes, p.padded - first);
    for (int64_t ci = 0; ci < shape[1]; ++ci) {
      for (int64_t i = 0; i < shape[2]; ++i) {
        for (int64_t j = 0; j < shape[3]; ++j) {
          const int64_t k = (i * shape[3] + j) * shape[1] + ci;
          p.weight[first * p.inChannels + k * width + (c - first)] = valueAt(weight, c * ws[0] + ci * ws[1] + i * ws[2] + j * ws[3]);
        }
      }
    }
    if (bias.data) p.bias[c] = valueAt(bias, c * bias.layout.strides[0]);
  }
  return p;
}

// Fills s.pairs from s.weight (bfloat16 values widened, so the narrowing is exact); an even
// number of inputs.
void packPairs(Pointwise& s) {
  s.pairs.assign(s.inChannels * s.padded, 0);
  const int64_t blocks = s.padded / kLanes;
  for (int64_t b0 = 0; b0 < blocks; b0 += s.groupBlocks) {
    const int64_t width = std::min(s.groupBlocks, blocks - b0) * kLanes;
    const float* w = s.weight.data() + b0 * kLanes * s.inChannels;  // [inChannels][width]
    uint16_t* to = s.pairs.data() + b0 * kLanes * s.inChannels;     // [inChannels / 2][width][2]
    for (int64_t k = 0; k < s.inChannels; ++k) {
      for (int64_t c = 0; c < width; ++c) to[(k / 2 * width + c) * 2 + k % 2] = kernels::toBFloat16(w[k * width + c]).bits;
    }
  }
}

// The block's three stages. `first` reads the input's rows as they are when it is 1x1 of
// stride 1 unpadded, else copies of them with zero columns either side (`paddedRows`).
struct Packed {
  Pointwise first;
  bool paddedRows = false;
  int64_t kernelH = 1, kernelW = 1;
  std::vector<float> depthwise;      // [9][first.padded], tap (i, j) at i * 3 + j
  std::vector<float> depthwiseBias;  // [first.padded]
  ConvActivation depthwiseActivation = ConvActivation::None;
  bool projects = false;
  Pointwise project;
};

// Whether the first convolution reads zero-padded copies of the input's rows.
bool readsPaddedRows(const ConvParams& first, const TensorRef& weight) {
  bool plain = weight.layout.shape[2] == 1 && weight.layout.shape[3] == 1;
  for (int i = 0; i < 2; ++i) plain = plain && first.stride[i] == 1 && first.padBegin[i] == 0 && first.padEnd[i] == 0;
  return !plain;
}

Packed pack(const ConvParams& first, const ConvParams& dw, const ConvParams& project, const TensorRef& weight,
            const TensorRef& bias, const TensorRef& dwWeight, const TensorRef& dwBias, const TensorRef& projectWeight,
            const TensorRef& projectBias) {
  Packed p;
  const int64_t* shape = weight.layout.shape;
  p.kernelH = shape[2];
  p.kernelW = shape[3];
  p.paddedRows = readsPaddedRows(first, weight);
  p.first = packPointwise(weight, bias, first.activation, shape[1] * shape[2] * shape[3]);
  const int64_t padded = p.first.padded;
  p.depthwise.assign(9 * padded, 0.0f);
  p.depthwiseBias.assign(padded, 0.0f);
  const int64_t* ds = dwWeight.layout.strides;
  for (int64_t c = 0; c < p.first.channels; ++c) {
    for (int64_t i = 0; i < 3; ++i) {
      for (int64_t j = 0; j < 3; ++j) p.depthwise[(i * 3 + j) * padded + c] = valueAt(dwWeight, c * ds[0] + i * ds[2] + j * ds[3]);
    }
    if (dwBias.data) p.depthwiseBias[c] = valueAt(dwBias, c * dwBias.layout.strides[0]);
  }
  p.depthwiseActivation = dw.activation;
  p.projects = projectWeight.data != nullptr;
  if (p.projects) p.project = packPointwise(projectWeight, projectBias, project.activation, padded);
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

// Where a stage's row reads its inputs: pixel p's k-th input (k = i * span + t) is
// rows[i][p * pixelStride + t]. A 1x1 stage reads one row, `span` = pixelStride = its input
// channels; the stem (3x3, stride 2, 3 channels) reads three zero-padded input rows, 9
// floats each at 6 apart, instead of patches gathered first (gathering them, 27 scalar
// copies a pixel, took a third of the stem block's time).
constexpr int kMaxTapRows = 7;
struct Source {
  const float* rows[kMaxTapRows] = {};
  int64_t taps = 1, span = 0, pixelStride = 0;
};

// P pixels (from `pixel`) by B 16-channel blocks of a stage's row, the P * B sums in
// registers: out[p][c] = act(bias[c] + sum_k x[p][k] * w[k][c]); w one packed group ([k][B *
// 16]), out `stride` apart.
template <int P, int B>
NC_INLINE void pointwiseTile(const Source& x, int64_t pixel, const float* w, const float* bias, ConvActivation act,
                             float* out, int64_t stride) {
  Vec16 sums[P][B];
#pragma GCC unroll 16
  for (int p = 0; p < P; ++p) {
#pragma GCC unroll 16
    for (int b = 0; b < B; ++b) sums[p][b] = NC_LOAD16(bias + b * kLanes);
  }
  for (int64_t i = 0; i < x.taps; ++i) {
    const float* in = x.rows[i] + pixel * x.pixelStride;
    for (int64_t t = 0; t < x.span; ++t, w += B * kLanes) {
      Vec16 wk[B];
#pragma GCC unroll 16
      for (int b = 0; b < B; ++b) wk[b] = NC_LOAD16(w + b * kLanes);
#pragma GCC unroll 16
      for (int p = 0; p < P; ++p) {
        const float a = in[p * x.pixelStride + t];
#pragma GCC unroll 16
        for (int b = 0; b < B; ++b) sums[p][b] += a * wk[b];
      }
    }
  }
#pragma GCC unroll 16
  for (int p = 0; p < P; ++p) {
#pragma GCC unroll 16
    for (int b = 0; b < B; ++b) NC_STORE16(out + p * stride + b * kLanes, activate(sums[p][b], act));
  }
}

// The pixels of a row for one group of B blocks: P at a time (P * B >= 8 independent sums,
// enough to keep both FMA units busy through their latency), then the rest in one tile (one
// pixel at a time, the last three of a 7-wide row ran at half speed).
template <int P, int B>
NC_INLINE void pointwiseGroup(const Source& x, int64_t width, const float* w, const float* bias, ConvActivation act,
                              float* row, int64_t stride) {
  int64_t i = 0;
  for (; i + P <= width; i += P) pointwiseTile<P, B>(x, i, w, bias, act, row + i * stride, stride);
  for (; i < width;) {
    const int64_t rest = std::min<int64_t>(width - i, 4);
    float* out = row + i * stride;
    switch (rest) {
      case 4: pointwiseTile<4, B>(x, i, w, bias, act, out, stride); break;
      case 3: pointwiseTile<3, B>(x, i, w, bias, act, out, stride); break;
      case 2: pointwiseTile<2, B>(x, i, w, bias, act, out, stride); break;
      default: pointwiseTile<1, B>(x, i, w, bias, act, out, stride); break;
    }
    i += rest;
  }
}

// One row of a stage: row[w][c] = act(b[c] + sum_k x[w][k] * W[k][c]) for `width` pixels,
// written `stride` apart (all s.padded channels).
NC_VECTOR_CLONES void pointwiseRow(const Source& x, int64_t width, const Pointwise& s, float* row, int64_t stride) {
  const int64_t blocks = s.padded / kLanes;
  for (int64_t b0 = 0; b0 < blocks; b0 += s.groupBlocks) {
    const float* w = s.weight.data() + b0 * kLanes * s.inChannels;
    const float* bias = s.bias.data() + b0 * kLanes;
    float* out = row + b0 * kLanes;
    switch (std::min(s.groupBlocks, blocks - b0)) {
      case 4: pointwiseGroup<4, 4>(x, width, w, bias, s.activation, out, stride); break;
      case 3: pointwiseGroup<4, 3>(x, width, w, bias, s.activation, out, stride); break;
      case 2: pointwiseGroup<8, 2>(x, width, w, bias, s.activation, out, stride); break;
      default: pointwiseGroup<8, 1>(x, width, w, bias, s.activation, out, stride); break;
    }
  }
}

// The same row from bfloat16 inputs on AVX512-BF16 (vdpbf16ps: two products of bfloat16
// pairs added to each float32 sum per instruction, twice the multiplies of a float32 FMA):
// `in` holds `pixelStride` values a pixel, the stage's inputs first, an even number of them.
// Hand-written as the float32 tiles above (oneDNN has no kernel for these fused rows). The
// instruction rounds to nearest even and flushes subnormals, as oneDNN's bfloat16 kernels do.
#define NC_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

template <int P, int B>
NC_BF16_TARGET inline __attribute__((always_inline)) void pointwiseTileBf16(const kernels::BFloat16* in,
                                                                            int64_t pixelStride, int64_t pairs,
                                                                            const uint16_t* w, const float* bias,
                                                                            ConvActivation act, float* out,
                                                                            int64_t stride) {
  __m512 sums[P][B];
#pragma GCC unroll 16
  for (int p = 0; p < P; ++p) {
#pragma GCC unroll 16
    for (int b = 0; b < B; ++b) sums[p][b] = _mm512_loadu_ps(bias + b * kLanes);
  }
  for (int64_t k = 0; k < pairs; ++k, w += B * 2 * kLanes) {
    __m512bh wk[B];
#pragma GCC unroll 16
    for (int b = 0; b < B; ++b) wk[b] = (__m512bh)_mm512_loadu_si512(w + b * 2 * kLanes);
#pragma GCC unroll 16
    for (int p = 0; p < P; ++p) {
      int32_t two;  // inputs 2k and 2k + 1 of pixel p, in every lane
      std::memcpy(&two, in + p * pixelStride + 2 * k, sizeof two);
      const __m512bh a = (__m512bh)_mm512_set1_epi32(two);
#pragma GCC unroll 16
      for (int b = 0; b < B; ++b) sums[p][b] = _mm512_dpbf16_ps(sums[p][b], a, wk[b]);
    }
  }
#pragma GCC unroll 16
  for (int p = 0; p < P; ++p) {
#pragma GCC unroll 16
    for (int b = 0; b < B; ++b) NC_STORE16(out + p * stride + b * kLanes, activate(Vec16(sums[p][b]), act));
  }
}

template <int P, int B>
NC_BF16_TARGET inline __attribute__((always_inline)) void pointwiseGroupBf16(const kernels::BFloat16* in,
                                                                             int64_t pixelStride, int64_t width,
                                                                             int64_t pairs, const uint16_t* w,
                                                                             const float* bias, ConvActivation act,
                                                                             float* row, int64_t stride) {
  int64_t i = 0;
  for (; i + P <= width; i += P) pointwiseTileBf16<P, B>(in + i * pixelStride, pixelStride, pairs, w, bias, act, row + i * stride, stride);
  for (; i < width;) {
    const int64_t rest = std::min<int64_t>(width - i, 4);
    const kernels::BFloat16* at = in + i * pixelStride;
    float* out = row + i * stride;
    switch (rest) {
      case 4: pointwiseTileBf16<4, B>(at, pixelStride, pairs, w, bias, act, out, stride); break;
      case 3: pointwiseTileBf16<3, B>(at, pixelStride, pairs, w, bias, act, out, stride); break;
      case 2: pointwiseTileBf16<2, B>(at, pixelStride, pairs, w, bias, act, out, stride); break;
      default: pointwiseTileBf16<1, B>(at, pixelStride, pairs, w, bias, act, out, stride); break;
    }
    i += rest;
  }
}

NC_BF16_TARGET void pointwiseRowBf16(const kernels::BFloat16* in, int64_t pixelStride, int64_t width,
                                     const Pointwise& s, float* row, int64_t stride) {
  const int64_t blocks = s.padded / kLanes, pairs = s.inChannels / 2;
  for (int64_t b0 = 0; b0 < blocks; b0 += s.groupBlocks) {
    const uint16_t* w = s.pairs.data() + b0 * kLanes * s.inChannels;
    const float* bias = s.bias.data() + b0 * kLanes;
    float* out = row + b0 * kLanes;
    switch (std::min(s.groupBlocks, blocks - b0)) {
      case 4: pointwiseGroupBf16<4, 4>(in, pixelStride, width, pairs, w, bias, s.activation, out, stride); break;
      case 3: pointwiseGroupBf16<4, 3>(in, pixelStride, width, pairs, w, bias, s.activation, out, stride); break;
      case 2: pointwiseGroupBf16<8, 2>(in, pixelStride, width, pairs, w, bias, s.activation, out, stride); break;
      default: pointwiseGroupBf16<8, 1>(in, pixelStride, width, pairs, w, bias, s.activation, out, stride); break;
    }
  }
}

// The conversions around those stages on the same CPUs, 16 values an instruction
// (vcvtneps2bf16 rounds to nearest even, NaN to a quiet NaN, and flushes subnormals, as
// vdpbf16ps reads them): `count` floats rounded into `to`;
NC_BF16_TARGET void narrowRowBf16(const float* from, int64_t count, kernels::BFloat16* to) {
  for (int64_t i = 0; i < count; i += kLanes) {
    const __mmask16 mask = count - i >= kLanes ? 0xffff : static_cast<__mmask16>((1u << (count - i)) - 1u);
    const __m256bh narrow = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(mask, from + i));
    _mm256_mask_storeu_epi16(to + i, mask, (__m256i)narrow);
  }
}

// and addRow's y[c][ch] = projected[c][ch] (+ residual[c][ch]) into bfloat16.
NC_BF16_TARGET void addRowNarrowingBf16(const float* projected, int64_t padded, const kernels::BFloat16* residual,
                                        int64_t width, int64_t channels, kernels::BFloat16* y) {
  for (int64_t c = 0; c < width; ++c) {
    for (int64_t ch = 0; ch < channels; ch += kLanes) {
      const __mmask16 mask = channels - ch >= kLanes ? 0xffff : static_cast<__mmask16>((1u << (channels - ch)) - 1u);
      __m512 v = _mm512_loadu_ps(projected + c * padded + ch);  // `padded` lanes: whole blocks
      if (residual) {
        const __m256i res = _mm256_maskz_loadu_epi16(mask, residual + c * channels + ch);
        v = _mm512_add_ps(v, _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(res), 16)));
      }
      _mm256_mask_storeu_epi16(y + c * channels + ch, mask, (__m256i)_mm512_cvtneps_pbh(v));
    }
  }
}

// Whether this CPU has AVX512-BF16 (checked once; immutable after).
bool hasBf16Dot() {
  static const bool has = __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512bw");
  return has;
}

// One row read as it is: `channels` inputs a pixel.
Source plainSource(const float* row, int64_t channels) {
  Source x;
  x.rows[0] = row;
  x.span = x.pixelStride = channels;
  return x;
}

// P output pixels of one 16-channel block: y = act(b + sum_ij D[i * 3 + j] * e_i[S * c +
// j]); the nine taps stay in registers across the pixels, the P sums are independent, and
// each input column is loaded once for the pixels that share it (S * (P - 1) + 3 a row
// instead of 3 * P).
template <int P, int S>
NC_INLINE void depthwiseTile(const float* const* e, const Vec16* taps, Vec16 bias, int64_t padded,
                             ConvActivation act, int64_t channels, int64_t lane, float* y) {
  constexpr int kColumns = S * (P - 1) + 3;
  Vec16 sums[P];
#pragma GCC unroll 16
  for (int p = 0; p < P; ++p) sums[p] = bias;
#pragma GCC unroll 3
  for (int i = 0; i < 3; ++i) {
    Vec16 columns[kColumns];
#pragma GCC unroll 16
    for (int k = 0; k < kColumns; ++k) columns[k] = NC_LOAD16(e[i] + k * padded);
#pragma GCC unroll 3
    for (int j = 0; j < 3; ++j) {
#pragma GCC unroll 16
      for (int p = 0; p < P; ++p) sums[p] += columns[S * p + j] * taps[i * 3 + j];
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
// (column 0 is input column -1). y is channels-last, `channels` apart (the real channels, or
// all padded ones into the projection's input row). Pixels outside, blocks
// inside: a tile's few input columns stay in L1 across its blocks (blocks outside swept the
// three rows, 130 KB for 96 channels at 112 wide, from L2 once per block: 4.8 ms of the 8.5
// of [32, 16, 112, 112] -> 96 with a stride-2 depthwise).
template <int P, int S>
NC_INLINE void depthwiseTiles(const float* const* e, int64_t c, const Packed& p, float* y, int64_t channels) {
  const int64_t padded = p.first.padded;
  for (int64_t lane = 0; lane < padded; lane += kLanes) {
    Vec16 taps[9];
#pragma GCC unroll 9
    for (int t = 0; t < 9; ++t) taps[t] = NC_LOAD16(p.depthwise.data() + t * padded + lane);
    const float* at[3] = {e[0] + S * c * padded + lane, e[1] + S * c * padded + lane, e[2] + S * c * padded + lane};
    depthwiseTile<P, S>(at, taps, NC_LOAD16(p.depthwiseBias.data() + lane), padded, p.depthwiseActivation, channels,
                        lane, y + c * channels + lane);
  }
}

template <int S>
NC_INLINE void depthwiseRowOf(const float* const* e, int64_t outWidth, const Packed& p, float* y, int64_t channels) {
  int64_t c = 0;
  for (; c + 4 <= outWidth; c += 4) depthwiseTiles<4, S>(e, c, p, y, channels);
  switch (outWidth - c) {  // the rest in one tile
    case 3: depthwiseTiles<3, S>(e, c, p, y, channels); break;
    case 2: depthwiseTiles<2, S>(e, c, p, y, channels); break;
    case 1: depthwiseTiles<1, S>(e, c, p, y, channels); break;
    default: break;
  }
}

// Stride 1 or 2 (fusable()), known to the compiler in each.
NC_VECTOR_CLONES void depthwiseRow(const float* const* e, int64_t outWidth, int64_t stride, const Packed& p, float* y,
                                   int64_t channels) {
  if (stride == 1) {
    depthwiseRowOf<1>(e, outWidth, p, y, channels);
  } else {
    depthwiseRowOf<2>(e, outWidth, p, y, channels);
  }
}

// Whether `t` [N, C, H, W] is dense channels-last.
bool denseChannelsLast(const TensorRef& t) {
  const Layout& l = t.layout;
  return l.ndim == 4 && l.strides[1] == 1 && l.strides[3] == l.shape[1] && l.strides[2] == l.shape[3] * l.shape[1] &&
         (l.shape[0] == 1 || l.strides[0] == l.shape[2] * l.strides[2]);
}

// Maps of fewer pixels (the first convolution's output) run the convolutions apart: oneDNN's
// 1x1 kernels are faster on them, whose rows are too short for the in-cache rows to matter.
// MobileNetV2's expansion + depthwise pairs at batch 32 (2 threads, 2-vCPU AVX-512 EPYC,
// medians of 11, ms, apart -> fused, one run): 16 -> 96 at 112x112 with a stride-2 depthwise
// 16.2 -> 8.2, 24 -> 144 at 56x56 8.0 -> 6.1 (stride 2: 5.4 -> 3.5), 32 -> 192 at 28x28 2.84
// -> 2.16; at 14x14 64 -> 384 1.44 -> 1.51 and 96 -> 576 2.92 -> 2.95, and at 7x7 160 -> 960
// 1.72 -> 2.82.
constexpr int64_t kMinFusedPixels = 20 * 20;
// The most taps x input channels of a first convolution that is not 1x1 (the stem's 27):
// oneDNN's own kernels beat this one's simple product on deep ones.
constexpr int64_t kMaxTaps = 64;

// Whether the fused kernel applies (see top); `middle` is the first convolution's output.
bool fusable(const ConvParams& first, const ConvParams& dw, const TensorRef& out, const TensorRef& input,
             const TensorRef& residual, const TensorRef& weight, const Layout& middle) {
  if (out.dtype != DType::Float32 && out.dtype != DType::BFloat16) return false;
  if (input.dtype != out.dtype || !denseChannelsLast(out) || !denseChannelsLast(input)) return false;
  if (residual.data && !denseChannelsLast(residual)) return false;
  if (middle.shape[2] * middle.shape[3] < kMinFusedPixels) return false;
  const int64_t* k = weight.layout.shape;
  if (readsPaddedRows(first, weight) && (k[1] * k[2] * k[3] > kMaxTaps || k[2] > kMaxTapRows)) return false;
  for (int i = 0; i < 2; ++i) {
    if (first.dilation[i] != 1) return false;
  }
  const int64_t stride = dw.stride[0];
  if ((stride != 1 && stride != 2) || dw.stride[1] != stride) return false;
  for (int i = 0; i < 2; ++i) {
    if (dw.padBegin[i] != 1 || dw.padEnd[i] != 1 || dw.dilation[i] != 1) return false;
  }
  return true;
}

// Scratch slots of DnnlContext (cpu/conv.cc's convolutions use slots 0-3 for their own
// reorders): the fused kernel's rows, and the intermediates when the convolutions run apart.
// Persistent buffers: the rows of a 96-channel, 112-wide map are 131 KB a thread, which
// malloc maps afresh (and faults in) on every call.
constexpr size_t kRowsSlot = 8, kMiddleSlot = 9, kDepthwiseSlot = 10;

// The floats of a zero-padded input row that the first convolution reads: its columns from
// -padLeft to the last one a tap of the last output pixel reaches.
int64_t paddedRowFloats(const Packed& p, const ConvParams& first, const Layout& x, const Layout& middle) {
  const int64_t columns = std::max(first.padBegin[1] + x.shape[3], (middle.shape[3] - 1) * first.stride[1] + p.kernelW);
  return columns * x.shape[1];
}

// The per-thread buffers of the fused kernel, in floats: a ring of three rows of the first
// convolution (each with a zero column either side), the zero-padded input rows one such
// row reads (or, for bfloat16, the input row widened to float32), one depthwise row and one
// float32 output row (the projection's, or a bfloat16 block's before it is narrowed), and for
// a bfloat16 projection on bfloat16 pairs its input row narrowed (`narrowed` floats' room).
struct Rows {
  int64_t ring, inputs, depthwise, projected, narrowed;
  int64_t total() const { return 3 * ring + inputs + depthwise + projected + narrowed; }
};

Rows rowsOf(const Packed& p, const ConvParams& first, const Layout& x, const Layout& middle, const Layout& out,
            bool bfloat16) {
  const int64_t outWidth = out.shape[3];
  const bool widens = bfloat16 && p.first.pairs.empty();  // the input rows go to the float32 stage
  const int64_t inputs = p.paddedRows ? p.kernelH * paddedRowFloats(p, first, x, middle) : widens ? x.shape[3] * x.shape[1] : 0;
  const int64_t depthwise = p.projects ? outWidth * p.first.padded : 0;
  const int64_t output = p.projects ? outWidth * p.project.padded : bfloat16 ? outWidth * out.shape[1] : 0;
  return {(middle.shape[3] + 2) * p.first.padded, inputs, depthwise, output, p.project.pairs.empty() ? 0 : (depthwise + 1) / 2};
}

// y[c][ch] = projected[c][ch] (+ residual[c][ch]) for the real channels, as T (float32, or
// bfloat16 rounded once, the residual added first): `projected` holds `padded` float32
// channels a pixel, y and the residual dense channels-last; projected may be y (float32).
template <typename T>
NC_VECTOR_CLONES void addRow(const float* projected, int64_t padded, const T* residual, int64_t width, int64_t channels,
                             T* y) {
  for (int64_t c = 0; c < width; ++c) {
    const float* from = projected + c * padded;
    T* to = y + c * channels;
    if (residual) {
      const T* res = residual + c * channels;
      for (int64_t ch = 0; ch < channels; ++ch) to[ch] = kernels::fromFloat<T>(from[ch] + kernels::toFloat(res[ch]));
    } else {
      for (int64_t ch = 0; ch < channels; ++ch) to[ch] = kernels::fromFloat<T>(from[ch]);
    }
  }
}

// `count` bfloat16 values as float32 (exact).
NC_VECTOR_CLONES void widenRow(const kernels::BFloat16* from, int64_t count, float* to) {
  for (int64_t i = 0; i < count; ++i) to[i] = kernels::toFloat(from[i]);
}

// `count` float32 values rounded to bfloat16, kept as float32.
NC_VECTOR_CLONES void roundRow(float* row, int64_t count) {
  for (int64_t i = 0; i < count; ++i) row[i] = kernels::toFloat(kernels::toBFloat16(row[i]));
}

// `rows`: a zero row (the padding above and below the middle map and the input), then Rows
// per thread. bfloat16 operands: the stages sum in float32; the first convolution reads the
// input as bfloat16 pairs where its stage has them (Pointwise::pairs), else widened to
// float32 (exact, as the weights are); the depthwise row is rounded to bfloat16 before the
// projection reads it (as the convolutions apart round it), and each output row is rounded
// once as it is written, with the residual added first.
void fused(const Packed& p, const ConvParams& first, int64_t stride, const TensorRef& out, const TensorRef& input,
           const TensorRef& residual, const Layout& middle, float* rows) {
  using kernels::BFloat16;
  const Layout &x = input.layout, &o = out.layout;
  const bool narrow = out.dtype == DType::BFloat16;
  const int64_t batch = x.shape[0], height = middle.shape[2], width = middle.shape[3];
  const int64_t outHeight = o.shape[2], outWidth = o.shape[3], outChannels = o.shape[1];
  const Rows sizes = rowsOf(p, first, x, middle, o, narrow);
  const int64_t row = sizes.ring, padded = p.first.padded;
  const int64_t inputRow = p.paddedRows ? paddedRowFloats(p, first, x, middle) : 0;
  const int64_t zeros = std::max(row, inputRow);
  const float* zeroRow = rows;
  std::fill(rows, rows + zeros, 0.0f);
  // Tasks of whole images, or bands of rows where the batch is smaller than twice the team
  // (each band recomputes at most two first-convolution rows of the one above).
  const int64_t threads = omp_get_max_threads();
  const int64_t bands = std::min(outHeight, std::max<int64_t>(1, (2 * threads + batch - 1) / batch));
  const int64_t tasks = batch * bands;
  const size_t elementSize = narrow ? sizeof(BFloat16) : sizeof(float);
  const auto* src = static_cast<const char*>(input.data);
  auto* dst = static_cast<char*>(out.data);
#pragma omp parallel if (tasks > 1)
  {
    // Row e of the first convolution at slot e mod 3; the columns either side stay zero.
    float* ring = rows + zeros + sizes.total() * omp_get_thread_num();
    float* inputs = ring + 3 * row;
    float* depthwise = inputs + sizes.inputs;
    float* projected = depthwise + sizes.depthwise;
    auto* narrowed = reinterpret_cast<BFloat16*>(projected + sizes.projected);
    for (int slot = 0; slot < 3; ++slot) {
      std::fill(ring + slot * row, ring + slot * row + padded, 0.0f);
      std::fill(ring + (slot + 1) * row - padded, ring + (slot + 1) * row, 0.0f);
    }
    // The padded input rows' columns outside the input stay zero; the first convolution reads
    // them `stride` pixels apart, kW pixels at a time.
    std::fill(inputs, inputs + sizes.inputs, 0.0f);
    Source taps;
    taps.taps = p.kernelH;
    taps.span = p.kernelW * x.shape[1];
    taps.pixelStride = first.stride[1] * x.shape[1];
    // Input row r of image n (x.strides[2] elements) as float32 at `to`, or where it is.
    auto inputRowAt = [&](const char* image, int64_t r, float* to) -> const float* {
      const char* from = image + r * x.strides[2] * elementSize;
      if (narrow) {
        widenRow(reinterpret_cast<const BFloat16*>(from), x.strides[2], to);
        return to;
      }
      if (to != nullptr) std::memcpy(to, from, sizeof(float) * x.strides[2]);
      return reinterpret_cast<const float*>(from);
    };
#pragma omp for schedule(static)
    for (int64_t task = 0; task < tasks; ++task) {
      const int64_t n = task / bands, band = task % bands;
      const int64_t r0 = band * outHeight / bands, r1 = (band + 1) * outHeight / bands;
      const char* image = src + n * x.strides[0] * elementSize;
      int64_t next = stride * r0 - 1;  // the first row of the first convolution not yet in the ring
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t top = stride * r - 1;
        for (; next <= top + 2; ++next) {
          if (next < 0 || next >= height) continue;
          float* to = ring + (next % 3) * row + padded;
          if (!p.first.pairs.empty()) {
            const auto* in = reinterpret_cast<const BFloat16*>(image + next * x.strides[2] * elementSize);
            pointwiseRowBf16(in, x.shape[1], width, p.first, to, padded);
            continue;
          }
          if (!p.paddedRows) {
            pointwiseRow(plainSource(inputRowAt(image, next, narrow ? inputs : nullptr), x.shape[1]), width, p.first,
                         to, padded);
            continue;
          }
          for (int64_t i = 0; i < p.kernelH; ++i) {
            const int64_t r = next * first.stride[0] - first.padBegin[0] + i;
            if (r < 0 || r >= x.shape[2]) {
              taps.rows[i] = zeroRow;
              continue;
            }
            float* copy = inputs + i * inputRow;
            inputRowAt(image, r, copy + first.padBegin[1] * x.shape[1]);
            taps.rows[i] = copy;
          }
          pointwiseRow(taps, width, p.first, to, padded);
        }
        const float* three[3];
        for (int i = 0; i < 3; ++i) {
          const int64_t e = top + i;
          three[i] = e < 0 || e >= height ? zeroRow : ring + (e % 3) * row;
        }
        char* y = dst + (n * o.strides[0] + r * o.strides[2]) * elementSize;
        if (!p.projects) {
          depthwiseRow(three, outWidth, stride, p, narrow ? projected : reinterpret_cast<float*>(y), outChannels);
          if (narrow) addRow<BFloat16>(projected, outChannels, nullptr, outWidth, outChannels, reinterpret_cast<BFloat16*>(y));
          continue;
        }
        depthwiseRow(three, outWidth, stride, p, depthwise, padded);
        // Straight into the output when its channels fill whole blocks, else through a row.
        const bool whole = !narrow && p.project.padded == outChannels;
        float* projection = whole ? reinterpret_cast<float*>(y) : projected;
        if (!p.project.pairs.empty()) {
          narrowRowBf16(depthwise, outWidth * padded, narrowed);
          pointwiseRowBf16(narrowed, padded, outWidth, p.project, projection, p.project.padded);
        } else {
          if (narrow) roundRow(depthwise, outWidth * padded);
          pointwiseRow(plainSource(depthwise, padded), outWidth, p.project, projection, p.project.padded);
        }
        const Layout& res = residual.layout;
        const char* add = residual.data ? static_cast<const char*>(residual.data) + (n * res.strides[0] + r * res.strides[2]) * elementSize : nullptr;
        if (!p.project.pairs.empty()) {
          addRowNarrowingBf16(projection, p.project.padded, reinterpret_cast<const BFloat16*>(add), outWidth,
                              outChannels, reinterpret_cast<BFloat16*>(y));
        } else if (narrow) {
          addRow(projection, p.project.padded, reinterpret_cast<const BFloat16*>(add), outWidth, outChannels,
                 reinterpret_cast<BFloat16*>(y));
        } else if (!whole || add) {
          addRow(projection, p.project.padded, reinterpret_cast<const float*>(add), outWidth, outChannels,
                 reinterpret_cast<float*>(y));
        }
      }
    }
  }
}

}  // namespace

// The primitive this file implements (neocog/primitives.def).
void CpuBackend::convDepthwiseBlock(const ConvParams& first, const ConvParams& depthwise, const ConvParams& project,
                                    Out out, In input, In weight, OptIn bias, In depthwiseWeight, OptIn depthwiseBias,
                                    OptIn projectWeight, OptIn projectBias, OptIn residual, const MathOptions& math) {
  if (out.numel() == 0) return;
  const int64_t* k = weight.layout.shape;
  const Layout middle = kernels::convOutputLayout(input.layout, k[0], first, k[2], k[3]);
  if (fusable(first, depthwise, out, input, residual, weight, middle)) {
    Packed p = pack(first, depthwise, project, weight, bias, depthwiseWeight, depthwiseBias, projectWeight, projectBias);
    if (out.dtype == DType::BFloat16 && hasBf16Dot()) {
      // The 1x1 stages on bfloat16 pairs: the projection's input is whole blocks; the first
      // convolution's is the input's channels, when they pair up.
      if (!p.paddedRows && p.first.inChannels % 2 == 0) packPairs(p.first);
      if (p.projects) packPairs(p.project);
    }
    const Rows rows = rowsOf(p, first, input.layout, middle, out.layout, out.dtype == DType::BFloat16);
    const int64_t zeros = std::max(rows.ring, p.paddedRows ? paddedRowFloats(p, first, input.layout, middle) : 0);
    const size_t floats = static_cast<size_t>(zeros + omp_get_max_threads() * rows.total());
    fused(p, first, depthwise.stride[0], out, input, residual, middle,
          static_cast<float*>(dnnl_.scratch(kRowsSlot, floats * sizeof(float))));
    return;
  }
  // The convolutions one after the other, the intermediates dense channels-last.
  OutputTensor m{{dnnl_.scratch(kMiddleSlot, static_cast<size_t>(middle.numel()) * dtypeSize(out.dtype)), out.dtype,
                  middle}};
  convForward(first, m, input, weight, bias, math);
  if (!projectWeight.data) {
    convForward(depthwise, out, InputTensor{m}, depthwiseWeight, depthwiseBias, math);
    return;
  }
  const int64_t* d = depthwiseWeight.layout.shape;
  const Layout dwLayout = kernels::convOutputLayout(middle, middle.shape[1], depthwise, d[2], d[3]);
  OutputTensor dw{{dnnl_.scratch(kDepthwiseSlot, static_cast<size_t>(dwLayout.numel()) * dtypeSize(out.dtype)),
                   out.dtype, dwLayout}};
  convForward(depthwise, dw, InputTensor{m}, depthwiseWeight, depthwiseBias, math);
  convForward(project, out, InputTensor{dw}, InputTensor{projectWeight}, projectBias, math);
  if (residual.data) binary(BinaryOp::Add, out, InputTensor{out}, InputTensor{residual});
}

}  // namespace neocog::cpu
