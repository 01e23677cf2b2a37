// Max / average / adaptive pooling (math in kernels/pool.h). Our own kernels rather than
// oneDNN's pooling: PyTorch's returnIndices and maxUnpool need explicit argmax indices
// (oneDNN keeps them in an opaque workspace), PyTorch's ceil-mode, count_include_pad,
// divisor_override and adaptive windows must match exactly, and the same math then runs
// on CUDA. 2-d pooling of channels-last tensors (what convolutions produce) has a fast
// path whose inner loop runs over contiguous channels; other layouts use the generic
// per-element form.
#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"
#include "kernels/half.h"
#include "kernels/pool.h"
#include "kernels/strided.h"

// Vec16 below is a 64-byte vector type; GCC notes that passing one by value changes the
// ABI without AVX-512. It is never passed between functions, only used inside one.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace neocog::cpu {

namespace {

bool channelsLast2d(const PoolParams& p, std::initializer_list<const TensorRef*> tensors) {
  if (p.spatial != 2) return false;
  for (const TensorRef* t : tensors) {
    if (t->data != nullptr && t->layout.strides[1] != 1) return false;
  }
  return true;
}

// The average-pooling divisor of a window, as kernels::poolValue computes it.
int64_t divisorOf(const PoolParams& p, const kernels::Window& h, const kernels::Window& w) {
  if (p.divisorOverride > 0) return p.divisorOverride;
  if (p.countIncludePad && !p.adaptive) return h.paddedSpan * w.paddedSpan;
  return (h.end - h.begin) * (w.end - w.begin);
}

// The channels-last max pooling loops below are hand-written vector code (GCC vector
// extensions, 16 channels at a time, compiled per ISA and picked at run time): the build
// targets baseline x86-64, and GCC did not vectorise the per-channel compare-and-select of
// the generic loop beyond 4-wide SSE; no library serves (see the top of this file). On
// [32, 64, 112, 112], 3x3 stride 2 pad 1 (bench/cases.ts), one thread, CPU time, min of 15
// alternating calls (bench/kernels/ab.sh): forward 19.6 -> 9.9 ms (2.0x), backward 17.0 ->
// 10.8 ms (1.57x; it now gathers per input element instead of scattering, with no index
// division). Same comparisons, same order of additions: bit-identical results.
constexpr int64_t kLanes = 16;
typedef float Vec16 __attribute__((vector_size(64)));
typedef int32_t Int16 __attribute__((vector_size(64)));
typedef float Vec16Unaligned __attribute__((vector_size(64), aligned(4), may_alias));
typedef int32_t Int16Unaligned __attribute__((vector_size(64), aligned(4), may_alias));
typedef uint16_t Bits16Unaligned __attribute__((vector_size(32), aligned(2), may_alias));
#define NC_LOAD16(p) (*reinterpret_cast<const Vec16Unaligned*>(p))
#define NC_LOADI16(p) (*reinterpret_cast<const Int16Unaligned*>(p))
#define NC_STORE16(p, v) (*reinterpret_cast<Vec16Unaligned*>(p) = (v))
#define NC_STOREI16(p, v) (*reinterpret_cast<Int16Unaligned*>(p) = (v))
// 16 bfloat16 values as floats (their bits in the high halves), and back: exact for the
// maxima, which are inputs.
#define NC_LOAD_BF16(p) \
  ((Vec16)(__builtin_convertvector(*reinterpret_cast<const Bits16Unaligned*>(p), Int16) << 16))
#define NC_STORE_BF16(p, v) \
  (*reinterpret_cast<Bits16Unaligned*>(p) = __builtin_convertvector(((Int16)(v) >> 16) & 0xffff, Bits16Unaligned))

// One output row (image n, output row r, window rows wh) of channels-last max pooling:
// for each output column the max over its window and the flat index i * iw + j of the
// first maximum, NaN winning, as kernels::poolValue. `idx` may be null. T is float or
// bfloat16 (LOAD and STORE move 16 of them as floats).
#define NC_MAX_POOL_ROW(NAME, TARGET, T, LOAD, STORE)                                                              \
  TARGET void NAME(const PoolParams& p, const T* image, int64_t rowStride, int64_t colStride, int64_t iw,          \
                   int64_t ow, kernels::Window wh, int64_t channels, T* out, int64_t outColStride, int32_t* idx,     \
                   int64_t idxColStride) {                                                                          \
  const int64_t dh = p.dilation[0], dw = p.dilation[1];                          \
  const int64_t vectorChannels = channels / kLanes * kLanes;                     \
  for (int64_t col = 0; col < ow; ++col) {                                       \
    const kernels::Window ww = kernels::poolWindow(p, 1, col, iw, ow);           \
    T* d = out + col * outColStride;                                             \
    int32_t* ix = idx ? idx + col * idxColStride : nullptr;                      \
    for (int64_t c0 = 0; c0 < vectorChannels; c0 += kLanes) {                    \
      Vec16 acc = Vec16{} - INFINITY;                                            \
      Int16 arg = Int16{} - 1;                                                   \
      bool first = true;                                                         \
      for (int64_t i = wh.begin; i < wh.end; i += dh) {                          \
        for (int64_t j = ww.begin; j < ww.end; j += dw) {                        \
          const Vec16 v = LOAD(image + i * rowStride + j * colStride + c0);      \
          const Int16 flat = Int16{} + static_cast<int32_t>(i * iw + j);         \
          const Int16 take = first ? Int16{} - 1 : (v > acc) | (v != v);         \
          acc = take ? v : acc;                                                  \
          arg = take ? flat : arg;                                               \
          first = false;                                                         \
        }                                                                        \
      }                                                                          \
      STORE(d + c0, acc);                                                        \
      if (ix) NC_STOREI16(ix + c0, arg);                                         \
    }                                                                            \
    for (int64_t c = vectorChannels; c < channels; ++c) {                        \
      float acc = -INFINITY;                                                     \
      int32_t arg = -1;                                                          \
      bool first = true;                                                         \
      for (int64_t i = wh.begin; i < wh.end; i += dh) {                          \
        for (int64_t j = ww.begin; j < ww.end; j += dw) {                        \
          const float v = kernels::toFloat(image[i * rowStride + j * colStride + c]); \
          if (first || v > acc || v != v) {                                      \
            acc = v;                                                             \
            arg = static_cast<int32_t>(i * iw + j);                              \
          }                                                                      \
          first = false;                                                         \
        }                                                                        \
      }                                                                          \
      d[c] = kernels::fromFloat<T>(acc);                                         \
      if (ix) ix[c] = arg;                                                       \
    }                                                                            \
  }                                                                              \
  }

// One input row (image n, input row i) of the channels-last max pooling backward, as a
// gather: each input element sums, in output order, the gradients of the outputs whose
// argmax it is, as the scatter of the generic loop adds them (same order, same bits).
// Output rows [r0, r1] and, per input column j, output columns [c0, c1] are the windows
// that can hold it. g and idx have unit channel stride.
#define NC_MAX_POOL_GRAD_ROW(NAME, TARGET)                                                                        \
  TARGET void NAME(const PoolParams& p, int64_t i, int64_t r0, int64_t r1, int64_t iw, int64_t ow, int64_t channels, \
                   const float* g, int64_t gRowStride, int64_t gColStride, const int32_t* idx, int64_t idxRowStride, \
                   int64_t idxColStride, float* gi, int64_t giColStride) {                                          \
  const int64_t sw = p.stride[1], pw = p.padding[1], reach = (p.kernel[1] - 1) * p.dilation[1];                             \
  const int64_t vectorChannels = channels / kLanes * kLanes;                                                                \
  for (int64_t j = 0; j < iw; ++j) {                                                                                        \
    const int64_t lo = j + pw - reach;                                                                                      \
    const int64_t c0 = lo <= 0 ? 0 : (lo + sw - 1) / sw, c1 = std::min(ow - 1, (j + pw) / sw);                              \
    const int32_t flatValue = static_cast<int32_t>(i * iw + j);                                                             \
    const Int16 flat = Int16{} + flatValue;                                                                                 \
    float* d = gi + j * giColStride;                                                                                        \
    for (int64_t c = 0; c < vectorChannels; c += kLanes) {                                                                  \
      Vec16 acc = Vec16{};                                                                                                  \
      for (int64_t r = r0; r <= r1; ++r) {                                                                                  \
        for (int64_t col = c0; col <= c1; ++col) {                                                                          \
          const Int16 hit = NC_LOADI16(idx + r * idxRowStride + col * idxColStride + c) == flat;                            \
          acc += hit ? NC_LOAD16(g + r * gRowStride + col * gColStride + c) : Vec16{};                                      \
        }                                                                                                                   \
      }                                                                                                                     \
      NC_STORE16(d + c, acc);                                                                                               \
    }                                                                                                                       \
    for (int64_t c = vectorChannels; c < channels; ++c) {                                                                   \
      float acc = 0.0f;                                                                                                     \
      for (int64_t r = r0; r <= r1; ++r) {                                                                                  \
        for (int64_t col = c0; col <= c1; ++col) {                                                                          \
          if (idx[r * idxRowStride + col * idxColStride + c] == flatValue) acc += g[r * gRowStride + col * gColStride + c]; \
        }                                                                                                                   \
      }                                                                                                                     \
      d[c] = acc;                                                                                                           \
    }                                                                                                                       \
  }                                                                                                                         \
  }

// GCC 12 compiles the vector comparisons above to per-lane scalar code unless the function
// itself carries the target (not through target_clones, not through inlining), so each
// ISA gets its own copy. The forward row on AVX2 still came out per-lane, so it has only
// the AVX-512 copy; elsewhere the generic loops below run.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define NC_HAS_VECTOR_POOL 1
NC_MAX_POOL_ROW(maxPoolRowAvx512, __attribute__((target("avx512f"))), float, NC_LOAD16, NC_STORE16)
NC_MAX_POOL_ROW(maxPoolRowBf16Avx512, __attribute__((target("avx512f"))), kernels::BFloat16, NC_LOAD_BF16, NC_STORE_BF16)
NC_MAX_POOL_GRAD_ROW(maxPoolGradRowAvx512, __attribute__((target("avx512f"))))
NC_MAX_POOL_GRAD_ROW(maxPoolGradRowAvx2, __attribute__((target("avx2"))))
#endif

template <typename T>
using MaxPoolRow = void (*)(const PoolParams&, const T*, int64_t, int64_t, int64_t, int64_t, kernels::Window, int64_t,
                            T*, int64_t, int32_t*, int64_t);
using MaxPoolGradRow = void (*)(const PoolParams&, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, const float*,
                                int64_t, int64_t, const int32_t*, int64_t, int64_t, float*, int64_t);

// The vector kernels this CPU runs, or null (then the generic loops run; always for float16).
template <typename T>
MaxPoolRow<T> vectorMaxPoolRow() {
#ifdef NC_HAS_VECTOR_POOL
  if (__builtin_cpu_supports("avx512f")) {
    if constexpr (std::is_same_v<T, float>) return maxPoolRowAvx512;
    if constexpr (std::is_same_v<T, kernels::BFloat16>) return maxPoolRowBf16Avx512;
  }
#endif
  return nullptr;
}

MaxPoolGradRow vectorMaxPoolGradRow() {
#ifdef NC_HAS_VECTOR_POOL
  if (__builtin_cpu_supports("avx512f")) return maxPoolGradRowAvx512;
  if (__builtin_cpu_supports("avx2")) return maxPoolGradRowAvx2;
#endif
  return nullptr;
}

// T: float or a 16-bit float (read as float; averages rounded once).
template <typename T>
void forwardChannelsLast(const PoolParams& p, const TensorRef& out, const TensorRef& indices, const TensorRef& input) {
  const Layout &o = out.layout, &x = input.layout;
  const int64_t batch = o.shape[0], channels = o.shape[1], oh = o.shape[2], ow = o.shape[3];
  const int64_t ih = x.shape[2], iw = x.shape[3];
  const T* src = input.as<const T>();
  T* dst = out.as<T>();
  int32_t* idx = indices.data ? indices.as<int32_t>() : nullptr;
  const int64_t dh = p.adaptive ? 1 : p.dilation[0], dw = p.adaptive ? 1 : p.dilation[1];
  const MaxPoolRow<T> maxPoolRow = p.mode == PoolMode::Max && !p.adaptive ? vectorMaxPoolRow<T>() : nullptr;
  if (maxPoolRow) {
#pragma omp parallel for schedule(static) collapse(2)
    for (int64_t n = 0; n < batch; ++n) {
      for (int64_t r = 0; r < oh; ++r) {
        maxPoolRow(p, src + n * x.strides[0], x.strides[2], x.strides[3], iw, ow,
                               kernels::poolWindow(p, 0, r, ih, oh), channels, dst + n * o.strides[0] + r * o.strides[2],
                               o.strides[3],
                               idx ? idx + n * indices.layout.strides[0] + r * indices.layout.strides[2] : nullptr,
                               idx ? indices.layout.strides[3] : 0);
      }
    }
    return;
  }
#pragma omp parallel for schedule(static) collapse(2)
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t r = 0; r < oh; ++r) {
      std::vector<float> acc(channels);
      std::vector<int32_t> arg(channels);
      const kernels::Window wh = kernels::poolWindow(p, 0, r, ih, oh);
      for (int64_t col = 0; col < ow; ++col) {
        const kernels::Window ww = kernels::poolWindow(p, 1, col, iw, ow);
        const bool isMax = p.mode == PoolMode::Max;
        bool first = true;
        for (int64_t c = 0; c < channels; ++c) {
          acc[c] = isMax ? -INFINITY : 0.0f;
          arg[c] = -1;
        }
        for (int64_t i = wh.begin; i < wh.end; i += isMax ? dh : 1) {
          for (int64_t j = ww.begin; j < ww.end; j += isMax ? dw : 1) {
            const T* v = src + n * x.strides[0] + i * x.strides[2] + j * x.strides[3];
            const int32_t flat = static_cast<int32_t>(i * iw + j);
            if (!isMax) {
              for (int64_t c = 0; c < channels; ++c) acc[c] += kernels::toFloat(v[c]);
            } else if (first) {
              for (int64_t c = 0; c < channels; ++c) {
                acc[c] = kernels::toFloat(v[c]);
                arg[c] = flat;
              }
            } else {
              // Branch-free so the compiler vectorises it; NaN wins, as in PyTorch and
              // kernels::poolValue.
              for (int64_t c = 0; c < channels; ++c) {
                const float value = kernels::toFloat(v[c]);
                const bool take = value > acc[c] || value != value;
                acc[c] = take ? value : acc[c];
                arg[c] = take ? flat : arg[c];
              }
            }
            first = false;
          }
        }
        T* d = dst + n * o.strides[0] + r * o.strides[2] + col * o.strides[3];
        if (isMax) {
          for (int64_t c = 0; c < channels; ++c) d[c] = kernels::fromFloat<T>(acc[c]);
          if (idx) {
            int32_t* ix = idx + n * indices.layout.strides[0] + r * indices.layout.strides[2] + col * indices.layout.strides[3];
            for (int64_t c = 0; c < channels; ++c) ix[c] = arg[c];
          }
        } else {
          const int64_t divisor = divisorOf(p, wh, ww);
          const float scale = divisor > 0 ? 1.0f / static_cast<float>(divisor) : 0.0f;
          for (int64_t c = 0; c < channels; ++c) d[c] = kernels::fromFloat<T>(acc[c] * scale);
        }
      }
    }
  }
}

// Scatters each output gradient into its window; images are independent, so threads
// take whole images and never write the same element. Only the input gradient must be
// channels-last: the output gradient often arrives contiguous (from a Flatten's backward).
void backwardChannelsLast(const PoolParams& p, const TensorRef& gradInput, const TensorRef& gradOutput,
                          const TensorRef& indices) {
  const Layout &gi = gradInput.layout, &go = gradOutput.layout;
  const int64_t batch = go.shape[0], channels = go.shape[1], oh = go.shape[2], ow = go.shape[3];
  const int64_t ih = gi.shape[2], iw = gi.shape[3];
  float* dst = gradInput.as<float>();
  const float* g = gradOutput.as<float>();
  const int32_t* idx = indices.data ? indices.as<int32_t>() : nullptr;
  const int64_t gc = go.strides[1], ic = indices.data ? indices.layout.strides[1] : 0;
  const MaxPoolGradRow maxPoolGradRow =
      p.mode == PoolMode::Max && !p.adaptive && gc == 1 && ic == 1 ? vectorMaxPoolGradRow() : nullptr;
  if (maxPoolGradRow) {
    const int64_t sh = p.stride[0], ph = p.padding[0], reach = (p.kernel[0] - 1) * p.dilation[0];
    const Layout& il = indices.layout;
#pragma omp parallel for schedule(static) collapse(2)
    for (int64_t n = 0; n < batch; ++n) {
      for (int64_t i = 0; i < ih; ++i) {
        // Output rows whose window [r * sh - ph, r * sh - ph + reach] holds row i.
        const int64_t lo = i + ph - reach;
        const int64_t r0 = lo <= 0 ? 0 : (lo + sh - 1) / sh, r1 = std::min(oh - 1, (i + ph) / sh);
        maxPoolGradRow(p, i, r0, r1, iw, ow, channels, g + n * go.strides[0], go.strides[2], go.strides[3],
                                   idx + n * il.strides[0], il.strides[2], il.strides[3],
                                   dst + n * gi.strides[0] + i * gi.strides[2], gi.strides[3]);
      }
    }
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < batch; ++n) {
    float* image = dst + n * gi.strides[0];
    for (int64_t i = 0; i < ih; ++i) {
      for (int64_t j = 0; j < iw; ++j) {
        float* d = image + i * gi.strides[2] + j * gi.strides[3];
        for (int64_t c = 0; c < channels; ++c) d[c] = 0.0f;
      }
    }
    for (int64_t r = 0; r < oh; ++r) {
      const kernels::Window wh = kernels::poolWindow(p, 0, r, ih, oh);
      for (int64_t col = 0; col < ow; ++col) {
        const float* gv = g + n * go.strides[0] + r * go.strides[2] + col * go.strides[3];
        if (p.mode == PoolMode::Max) {
          const int32_t* ix = idx + n * indices.layout.strides[0] + r * indices.layout.strides[2] + col * indices.layout.strides[3];
          for (int64_t c = 0; c < channels; ++c) {
            const int64_t flat = ix[c * ic];
            image[(flat / iw) * gi.strides[2] + (flat % iw) * gi.strides[3] + c] += gv[c * gc];
          }
          continue;
        }
        const kernels::Window ww = kernels::poolWindow(p, 1, col, iw, ow);
        const int64_t divisor = divisorOf(p, wh, ww);
        const float scale = divisor > 0 ? 1.0f / static_cast<float>(divisor) : 0.0f;
        for (int64_t i = wh.begin; i < wh.end; ++i) {
          for (int64_t j = ww.begin; j < ww.end; ++j) {
            float* d = image + i * gi.strides[2] + j * gi.strides[3];
            for (int64_t c = 0; c < channels; ++c) d[c] += gv[c * gc] * scale;
          }
        }
      }
    }
  }
}

}  // namespace

template <typename T>
void poolForwardOf(const PoolParams& p, const TensorRef& out, const TensorRef& indices, const TensorRef& input) {
  if (channelsLast2d(p, {&out, &indices, &input})) {
    forwardChannelsLast<T>(p, out, indices, input);
    return;
  }
  T* dst = out.as<T>();
  int32_t* idx = indices.data ? indices.as<int32_t>() : nullptr;
  const T* src = input.as<const T>();
  parallelFor(out.numel(), [&](int64_t i) {
    int32_t argmax = 0;
    dst[kernels::stridedOffset(out.layout, i)] =
        kernels::fromFloat<T>(kernels::poolValue(p, out.layout, input.layout, src, i, &argmax));
    if (idx) idx[kernels::stridedOffset(indices.layout, i)] = argmax;
  });
}

// float32, or 16-bit floats pooled as they are (16-bit inference reads and writes half the bytes).
void poolForward(const PoolParams& p, const TensorRef& out, const TensorRef& indices, const TensorRef& input) {
  if (input.dtype == DType::BFloat16) return poolForwardOf<kernels::BFloat16>(p, out, indices, input);
  if (input.dtype == DType::Float16) return poolForwardOf<kernels::Half>(p, out, indices, input);
  poolForwardOf<float>(p, out, indices, input);
}

void poolBackward(const PoolParams& p, const TensorRef& gradInput, const TensorRef& gradOutput, const TensorRef& indices) {
  if (channelsLast2d(p, {&gradInput})) {
    backwardChannelsLast(p, gradInput, gradOutput, indices);
    return;
  }
  float* dst = gradInput.as<float>();
  const float* g = gradOutput.as<float>();
  const int32_t* idx = indices.data ? indices.as<int32_t>() : nullptr;
  parallelFor(gradInput.numel(), [&](int64_t i) {
    dst[kernels::stridedOffset(gradInput.layout, i)] =
        kernels::poolGrad(p, gradInput.layout, gradOutput.layout, g, idx, indices.layout, i);
  });
}

// The primitives this file implements (neocog/primitives.def).
void CpuBackend::poolForward(const PoolParams& params, Out out, OptOut indices, In input) {
  cpu::poolForward(params, out, indices, input);
}
void CpuBackend::poolBackward(const PoolParams& params, Out gradInput, In gradOutput, OptIn indices) {
  cpu::poolBackward(params, gradInput, gradOutput, indices);
}

}  // namespace neocog::cpu
