// Strided copy with dtype conversion: contiguous(), clone(), to(dtype) and every view that
// must be materialised go through here. Our own loop, not a oneDNN reorder: reorders have
// no bool type and PyTorch's cast rules (kernels/elementwise.h castValue) are shared with
// the CUDA copy kernel.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"
#include "kernels/dispatch.h"
#include "kernels/elementwise.h"
#include "cpu/strided_loop.h"
#include "cpu/vector_clones.h"

namespace neocog::cpu {

namespace {

// A 4-byte transpose tile: dst[r * dstStride + c] = src[r + c * srcStride] for r < rows,
// c < cols. Hand-written because no library serves it (a oneDNN reorder has no bool or
// cast rules, see above) and GCC does not turn the scalar loop into shuffles (the build
// targets baseline x86-64): on CPUs with AVX (checked once at run time) 8 x 8 blocks are
// transposed in registers. The NCHW -> NHWC contiguous() of bench/cases.ts
// ([16, 64, 56, 56]) went from 7.5 to 1.15 ms on one thread (bench/kernels/ab.sh, the
// element-by-element tile loop against this). Pure data movement: bit-identical results.
void transposeTileScalar32(const uint32_t* src, int64_t srcStride, uint32_t* dst, int64_t dstStride, int64_t rows,
                           int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) dst[r * dstStride + c] = src[r + c * srcStride];
  }
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx"))) void transposeTileAvx32(const uint32_t* src, int64_t srcStride, uint32_t* dst,
                                                         int64_t dstStride, int64_t rows, int64_t cols) {
  const float* s = reinterpret_cast<const float*>(src);
  float* d = reinterpret_cast<float*>(dst);
  const int64_t rows8 = rows & ~int64_t{7}, cols8 = cols & ~int64_t{7};
  for (int64_t c = 0; c < cols8; c += 8) {
    for (int64_t r = 0; r < rows8; r += 8) {
      const float* in = s + r + c * srcStride;
      // Row k of the block is input column c + k (8 consecutive r); transpose to rows r + k.
      const __m256 a0 = _mm256_loadu_ps(in), a1 = _mm256_loadu_ps(in + srcStride);
      const __m256 a2 = _mm256_loadu_ps(in + 2 * srcStride), a3 = _mm256_loadu_ps(in + 3 * srcStride);
      const __m256 a4 = _mm256_loadu_ps(in + 4 * srcStride), a5 = _mm256_loadu_ps(in + 5 * srcStride);
      const __m256 a6 = _mm256_loadu_ps(in + 6 * srcStride), a7 = _mm256_loadu_ps(in + 7 * srcStride);
      const __m256 b0 = _mm256_unpacklo_ps(a0, a1), b1 = _mm256_unpackhi_ps(a0, a1);
      const __m256 b2 = _mm256_unpacklo_ps(a2, a3), b3 = _mm256_unpackhi_ps(a2, a3);
      const __m256 b4 = _mm256_unpacklo_ps(a4, a5), b5 = _mm256_unpackhi_ps(a4, a5);
      const __m256 b6 = _mm256_unpacklo_ps(a6, a7), b7 = _mm256_unpackhi_ps(a6, a7);
      const __m256 c0 = _mm256_shuffle_ps(b0, b2, 0x44), c1 = _mm256_shuffle_ps(b0, b2, 0xEE);
      const __m256 c2 = _mm256_shuffle_ps(b1, b3, 0x44), c3 = _mm256_shuffle_ps(b1, b3, 0xEE);
      const __m256 c4 = _mm256_shuffle_ps(b4, b6, 0x44), c5 = _mm256_shuffle_ps(b4, b6, 0xEE);
      const __m256 c6 = _mm256_shuffle_ps(b5, b7, 0x44), c7 = _mm256_shuffle_ps(b5, b7, 0xEE);
      float* out = d + r * dstStride + c;
      _mm256_storeu_ps(out, _mm256_permute2f128_ps(c0, c4, 0x20));
      _mm256_storeu_ps(out + dstStride, _mm256_permute2f128_ps(c1, c5, 0x20));
      _mm256_storeu_ps(out + 2 * dstStride, _mm256_permute2f128_ps(c2, c6, 0x20));
      _mm256_storeu_ps(out + 3 * dstStride, _mm256_permute2f128_ps(c3, c7, 0x20));
      _mm256_storeu_ps(out + 4 * dstStride, _mm256_permute2f128_ps(c0, c4, 0x31));
      _mm256_storeu_ps(out + 5 * dstStride, _mm256_permute2f128_ps(c1, c5, 0x31));
      _mm256_storeu_ps(out + 6 * dstStride, _mm256_permute2f128_ps(c2, c6, 0x31));
      _mm256_storeu_ps(out + 7 * dstStride, _mm256_permute2f128_ps(c3, c7, 0x31));
    }
  }
  // The ragged right and bottom edges, element by element.
  if (rows8 < rows) transposeTileScalar32(src + rows8, srcStride, dst + rows8 * dstStride, dstStride, rows - rows8, cols8);
  if (cols8 < cols) transposeTileScalar32(src + cols8 * srcStride, srcStride, dst + cols8, dstStride, rows, cols - cols8);
}
#endif

using TransposeTile32 = void (*)(const uint32_t*, int64_t, uint32_t*, int64_t, int64_t, int64_t);

TransposeTile32 pickTransposeTile32() {
#if defined(__x86_64__) && defined(__GNUC__)
  if (__builtin_cpu_supports("avx")) return transposeTileAvx32;
#endif
  return transposeTileScalar32;
}

// A copy whose output walks its innermost dim while the input walks another one (a
// transpose, e.g. channels-last -> NCHW): row-by-row it would read the input with a large
// stride, one cache line per element. Instead it goes tile by tile (kTile x kTile elements
// of the two swapped dims) so both sides stay in L1. Returns false when the layouts are not
// such a transpose.
template <typename To, typename From>
bool tiledTranspose(const TensorRef& out, const TensorRef& in) {
  const auto dims = detail::coalesce<2>(out.layout, {&out.layout, &in.layout});
  const Layout &o = dims[0], &x = dims[1];
  const int nd = o.ndim;
  if (nd < 2 || o.strides[nd - 1] != 1 || x.strides[nd - 1] == 1) return false;
  int t = -1;  // the dim the input walks contiguously
  for (int d = 0; d < nd - 1; ++d) {
    if (x.strides[d] == 1) t = d;
  }
  if (t < 0) return false;
  // 64 x 64 elements: 16 KB per side for 4-byte types, both in L1; measured ~15% faster
  // than 32 x 32 on the bench case.
  constexpr int64_t kTile = 64;
  const int64_t rows = o.shape[t], cols = o.shape[nd - 1];
  const int64_t outRowStride = o.strides[t], inColStride = x.strides[nd - 1];
  int64_t batch = 1;
  for (int d = 0; d < nd - 1; ++d) {
    if (d != t) batch *= o.shape[d];
  }
  const int64_t rowTiles = (rows + kTile - 1) / kTile, colTiles = (cols + kTile - 1) / kTile;
  const int64_t work = batch * rowTiles * colTiles;
  To* dst = out.as<To>();
  const From* src = in.as<From>();
  // Same 4-byte type on both sides (float32, int32): a bit move, done by the vector tile.
  constexpr bool kBitMove32 = std::is_same_v<To, From> && sizeof(To) == 4;
  TransposeTile32 tile32 = nullptr;
  if constexpr (kBitMove32) tile32 = pickTransposeTile32();
#pragma omp parallel for schedule(static) if (o.numel() > kParallelGrain)
  for (int64_t w = 0; w < work; ++w) {
    const int64_t colTile = w % colTiles, rowTile = (w / colTiles) % rowTiles;
    int64_t rest = w / (colTiles * rowTiles), ob = 0, ib = 0;
    for (int d = nd - 2; d >= 0; --d) {  // offsets of the batch dims
      if (d == t) continue;
      ob += (rest % o.shape[d]) * o.strides[d];
      ib += (rest % o.shape[d]) * x.strides[d];
      rest /= o.shape[d];
    }
    const int64_t r0 = rowTile * kTile, r1 = std::min(rows, r0 + kTile);
    const int64_t c0 = colTile * kTile, c1 = std::min(cols, c0 + kTile);
    if constexpr (kBitMove32) {
      tile32(reinterpret_cast<const uint32_t*>(src + ib + r0 + c0 * inColStride), inColStride,
             reinterpret_cast<uint32_t*>(dst + ob + r0 * outRowStride + c0), outRowStride, r1 - r0, c1 - c0);
    } else {
      for (int64_t c = c0; c < c1; ++c) {
        for (int64_t r = r0; r < r1; ++r) {
          dst[ob + r * outRowStride + c] = kernels::castValue<To>(src[ib + r + c * inColStride]);
        }
      }
    }
  }
  return true;
}

// Row movers for same-dtype copies: `bytes` bytes from `src` to `dst`. Hand-written
// because neither memcpy nor a oneDNN reorder serves these rows: memcpy costs a call per
// row, which dominated the 128-byte rows of a channels-last cat (2.5 ms against 1.4 for an
// inline loop on [4, 32, 128, 128] pairs), and streams only single-threaded copies above
// glibc's own threshold.
//
// The streaming mover writes whole cache lines to memory with non-temporal stores, without
// first reading them in: a third less memory traffic, for copies larger than the last-level
// cache, whose output would be evicted before it is read anyway. On the 2-vCPU EPYC a 33.5 MB
// copy took 3.35 ms with memcpy, 2.01 with memcpy on two threads and 1.32 streamed on two (a
// standalone loop); a U-Net's channels-last cat of two [4, 16, 256, 256] maps took 3.9 ms as
// two strided copies element by element, 2.1-2.4 ms with these movers.
using MoveRow = void (*)(char* dst, const char* src, int64_t bytes);

void moveRowScalar(char* dst, const char* src, int64_t bytes) { std::memcpy(dst, src, static_cast<size_t>(bytes)); }

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx512f,avx512bw"))) void moveRowAvx512(char* dst, const char* src, int64_t bytes) {
  int64_t i = 0;
  for (; i + 64 <= bytes; i += 64) _mm512_storeu_si512(dst + i, _mm512_loadu_si512(src + i));
  if (i < bytes) {
    const __mmask64 tail = _cvtu64_mask64((~uint64_t{0}) >> (64 - (bytes - i)));
    _mm512_mask_storeu_epi8(dst + i, tail, _mm512_maskz_loadu_epi8(tail, src + i));
  }
}

// Streams the whole cache lines of the destination range; the partial lines at its ends
// (another row may write the rest of them) take plain stores.
__attribute__((target("avx512f,avx512bw"))) void streamRowAvx512(char* dst, const char* src, int64_t bytes) {
  const int64_t head = std::min<int64_t>(bytes, (64 - static_cast<int64_t>(reinterpret_cast<uintptr_t>(dst) % 64)) % 64);
  moveRowAvx512(dst, src, head);
  int64_t i = head;
  for (; i + 64 <= bytes; i += 64) {
    _mm512_stream_si512(reinterpret_cast<__m512i*>(dst + i), _mm512_loadu_si512(src + i));
  }
  moveRowAvx512(dst + i, src + i, bytes - i);
}
#endif

struct RowMovers {
  MoveRow move = moveRowScalar;
  MoveRow stream = nullptr;  // none where the CPU cannot stream 64-byte lines
};

RowMovers pickRowMovers() {
  RowMovers m;
#if defined(__x86_64__) && defined(__GNUC__)
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")) m = {moveRowAvx512, streamRowAvx512};
#endif
  return m;
}

// An sfence on every thread of the OpenMP team (the threads forEachRow ran on).
void fenceStreamedStores() {
#if defined(__x86_64__) && defined(__GNUC__)
#pragma omp parallel
  _mm_sfence();
#endif
}

// Copies at least this large bypass the cache. Measured on a U-Net's sliding window (copy
// kernel time per 1024² pass, whose cats write 33.5 and 8.4 MB): 61 ms as before, 45-51
// streaming from 16 MB, 32-39 from 4 MB; the convolutions reading the outputs took the same
// time within the noise.
constexpr int64_t kStreamingBytes = int64_t{8} << 20;

// A same-dtype copy whose rows (after coalescing) are contiguous on both sides: contiguous
// tensors, slices of contiguous tensors and the channel slices a channels-last cat writes.
// Moves bytes row by row on every thread, streamed when the copy is large. Returns false
// for other layouts.
bool copyRows(const TensorRef& out, const TensorRef& in) {
  const auto dims = detail::coalesce<2>(out.layout, {&out.layout, &in.layout});
  const int nd = dims[0].ndim;
  if (nd > 0 && (dims[0].strides[nd - 1] != 1 || dims[1].strides[nd - 1] != 1)) return false;
  const int64_t size = dtypeSize(out.dtype);
  const int64_t total = out.numel() * size;
  const RowMovers movers = pickRowMovers();
  // Without AVX-512, short rows go to the element loop below: a memcpy call per row costs more.
  if (movers.move == moveRowScalar && (nd == 0 ? 1 : dims[0].shape[nd - 1]) * size < 4096) return false;
  char* dst = static_cast<char*>(out.data);
  const char* src = static_cast<const char*>(in.data);
  const MoveRow stream = total >= kStreamingBytes ? movers.stream : nullptr;
  forEachRow<2>(out.layout, {&out.layout, &in.layout}, [&](auto base, auto, int64_t count) {
    char* d = dst + base[0] * size;
    const char* s = src + base[1] * size;
    (stream ? stream : movers.move)(d, s, count * size);
  });
  // Streaming stores are weakly ordered: each thread that made them fences them before the
  // team's barrier, so the stream's next kernel reads the data.
  if (stream) fenceStreamedStores();
  return true;
}

// d[j] = s[j] converted, in vector clones (cpu/vector_clones.h): float32 -> bfloat16 of
// [32, 3, 224, 224] (a bfloat16 session's input; 2-vCPU AVX-512 EPYC, medians of 21) took
// 1.88 ms with the branchy conversion, 0.98 branch-free on baseline SSE, 0.54 here.
template <typename To, typename From>
NC_VECTOR_CLONES void castRow(To* d, const From* s, int64_t count) {
  for (int64_t j = 0; j < count; ++j) d[j] = kernels::castValue<To>(s[j]);
}

}  // namespace

void copy(const TensorRef& out, const TensorRef& in) {
  const int64_t n = out.numel();
  if (n == 0) return;
  if (out.dtype == in.dtype && copyRows(out, in)) return;
  const bool contiguous = out.layout.isContiguous() && in.layout.isContiguous();
  kernels::dispatchWithHalf(out.dtype, "copy", [&](auto outTag) {
    using To = decltype(outTag);
    kernels::dispatchWithHalf(in.dtype, "copy", [&](auto inTag) {
      using From = decltype(inTag);
      To* dst = out.as<To>();
      const From* src = in.as<From>();
      if (contiguous) {
        constexpr int64_t kBlock = 4096;
        parallelForIf(n > kParallelGrain, (n + kBlock - 1) / kBlock, [&](int64_t b) {
          castRow(dst + b * kBlock, src + b * kBlock, std::min(kBlock, n - b * kBlock));
        });
      } else if (!tiledTranspose<To, From>(out, in)) {
        forEachRow<2>(out.layout, {&out.layout, &in.layout}, [&](auto base, auto step, int64_t count) {
          To* d = dst + base[0];
          const From* s = src + base[1];
          if (unitSteps(step)) {
            castRow(d, s, count);
          } else {
            for (int64_t j = 0; j < count; ++j) d[j * step[0]] = kernels::castValue<To>(s[j * step[1]]);
          }
        });
      }
    });
  });
}

// The primitives this file implements (neocog/primitives.def).
void CpuBackend::copy(Out out, In input) { cpu::copy(out, input); }

}  // namespace neocog::cpu
