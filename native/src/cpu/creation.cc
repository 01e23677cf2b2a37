// Creation kernels: fill, arange and the Philox draws (shared math in kernels/random.h).
#include <algorithm>
#include <cstdint>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"
#include "kernels/dispatch.h"
#include "kernels/elementwise.h"
#include "kernels/random.h"
#include "kernels/strided.h"

namespace neocog::cpu {

namespace {

// Calls fn(logicalIndex, elementOffset) for every element of `layout`.
template <typename Fn>
void forEachElement(const Layout& layout, Fn&& fn) {
  const int64_t n = layout.numel();
  if (layout.isContiguous()) {
    parallelFor(n, [&](int64_t i) { fn(i, i); });
  } else {
    parallelFor(n, [&](int64_t i) { fn(i, kernels::stridedOffset(layout, i)); });
  }
}

// Philox4x32-10 of 8 consecutive counters at once, AVX-512 (the round is
// kernels::philox's: 32 x 32 -> 64-bit products, here one per 64-bit lane with
// _mm512_mul_epu32). Writes the first two words of each block. Integer math: the words,
// and so the normals made from them, are bit-identical to the scalar ones. Hand-written
// because GCC does not vectorise the 64-bit products of the scalar round for the baseline
// x86-64 build; bench/kernels/ab.sh randn (1 << 22 values, one thread, CPU time, min of 15
// alternating calls): 50.6 -> 36.9 ms (1.37x). Box-Muller then goes through libmvec
// (boxMuller16 below).
#if defined(__x86_64__) && defined(__GNUC__)
// GCC 12's own AVX-512 intrinsic headers trip -Wuninitialized (_mm512_undefined_epi32).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
__attribute__((target("avx512f"))) void philoxWords8(uint64_t seed, uint64_t counter, uint32_t* word0,
                                                      uint32_t* word1) {
  const __m512i low32 = _mm512_set1_epi64(0xFFFFFFFFll);
  __m512i c0 = _mm512_add_epi64(_mm512_set1_epi64(static_cast<long long>(counter)), _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0));
  __m512i c1 = _mm512_srli_epi64(c0, 32);
  c0 = _mm512_and_si512(c0, low32);
  __m512i c2 = _mm512_setzero_si512(), c3 = _mm512_setzero_si512();
  const __m512i m0 = _mm512_set1_epi64(0xD2511F53ll), m1 = _mm512_set1_epi64(0xCD9E8D57ll);
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    const __m512i p0 = _mm512_mul_epu32(m0, c0), p1 = _mm512_mul_epu32(m1, c2);
    const __m512i n0 = _mm512_xor_si512(_mm512_xor_si512(_mm512_srli_epi64(p1, 32), c1), _mm512_set1_epi64(k0));
    const __m512i n2 = _mm512_xor_si512(_mm512_xor_si512(_mm512_srli_epi64(p0, 32), c3), _mm512_set1_epi64(k1));
    c0 = n0;
    c1 = _mm512_and_si512(p1, low32);
    c2 = n2;
    c3 = _mm512_and_si512(p0, low32);
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(word0), _mm512_cvtepi64_epi32(c0));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(word1), _mm512_cvtepi64_epi32(c1));
}
#pragma GCC diagnostic pop
#endif

#if defined(__x86_64__) && defined(__GNUC__)
// glibc's vector math library (libmvec, part of glibc since 2.22): 16 floats per call, within
// 4 ulp of the scalar functions (glibc's own bound). Box-Muller's scalar logf and sincosf were
// most of normal()'s time once Philox ran 8 blocks at a time, and normal() most of a model's
// construction (kaiming_normal_ on every convolution); these make the two about 3x faster.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"  // GCC 12's intrinsic headers, as above
extern "C" __attribute__((target("avx512f"))) __m512 _ZGVeN16v_logf(__m512);
extern "C" __attribute__((target("avx512f"))) __m512 _ZGVeN16v_sinf(__m512);
extern "C" __attribute__((target("avx512f"))) __m512 _ZGVeN16v_cosf(__m512);

// Box-Muller on 16 pairs' words (the formula of kernels::normalFromWords): writes 32 values,
// pair l's cosine branch at out[2l] and sine branch at out[2l + 1].
__attribute__((target("avx512f"))) void boxMuller16(const uint32_t* word0, const uint32_t* word1, float m, float s,
                                                     float* out) {
  const __m512 scale = _mm512_set1_ps(1.0f / 16777216.0f);
  const __m512 u0 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_srli_epi32(_mm512_loadu_si512(word0), 8)), scale);
  const __m512 u1 = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_srli_epi32(_mm512_loadu_si512(word1), 8)), scale);
  const __m512 radius = _mm512_sqrt_ps(_mm512_mul_ps(_mm512_set1_ps(-2.0f), _ZGVeN16v_logf(_mm512_sub_ps(_mm512_set1_ps(1.0f), u0))));
  const __m512 angle = _mm512_mul_ps(_mm512_set1_ps(6.28318530717958647692f), u1);
  const __m512 mean = _mm512_set1_ps(m), sr = _mm512_mul_ps(_mm512_set1_ps(s), radius);
  const __m512 even = _mm512_add_ps(mean, _mm512_mul_ps(sr, _ZGVeN16v_cosf(angle)));
  const __m512 odd = _mm512_add_ps(mean, _mm512_mul_ps(sr, _ZGVeN16v_sinf(angle)));
  // Interleave: lanes 0..7 then 8..15 of (even, odd) pairs.
  const __m512i first = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  const __m512i second = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
  _mm512_storeu_ps(out, _mm512_permutex2var_ps(even, first, odd));
  _mm512_storeu_ps(out + 16, _mm512_permutex2var_ps(even, second, odd));
}
#pragma GCC diagnostic pop
#endif

// Whether this CPU runs the vector paths (AVX-512): decided once per draw.
bool vectorRandom() {
#if defined(__x86_64__) && defined(__GNUC__)
  return __builtin_cpu_supports("avx512f");
#else
  return false;
#endif
}

// One Box-Muller pair computed as the vector path computes it (lane 0 of boxMuller16, whose
// lanes do not interact), so that an element's value does not depend on whether its pair
// fell in a vector block, a scalar tail, a lone head or tail, or a strided draw.
void normalPairCpu(uint64_t seed, uint64_t pair, float m, float s, bool vector, float* even, float* odd) {
#if defined(__x86_64__) && defined(__GNUC__)
  if (vector) {
    const kernels::Philox4 block = kernels::philox(seed, pair);
    uint32_t word0[16] = {block.v[0]}, word1[16] = {block.v[1]};
    float out[32];
    boxMuller16(word0, word1, m, s, out);
    *even = out[0];
    *odd = out[1];
    return;
  }
#endif
  kernels::normalPair(seed, pair, m, s, even, odd);
}

float normalAtCpu(uint64_t seed, uint64_t counter, float m, float s, bool vector) {
  float even, odd;
  normalPairCpu(seed, counter >> 1, m, s, vector, &even, &odd);
  return (counter & 1) ? odd : even;
}

// Box-Muller pairs [begin, end) of a draw: `firstPair` is the pair index of slot 0.
void normalPairs(float* data, int64_t begin, int64_t end, uint64_t seed, uint64_t firstPair, float m, float s,
                 bool vector) {
  int64_t p = begin;
#if defined(__x86_64__) && defined(__GNUC__)
  if (vector) {
    uint32_t word0[16], word1[16];
    for (; p + 16 <= end; p += 16) {
      philoxWords8(seed, firstPair + static_cast<uint64_t>(p), word0, word1);
      philoxWords8(seed, firstPair + static_cast<uint64_t>(p) + 8, word0 + 8, word1 + 8);
      boxMuller16(word0, word1, m, s, data + 2 * p);
    }
  }
#endif
  for (; p < end; ++p) {
    float* slot = data + 2 * p;
    normalPairCpu(seed, firstPair + static_cast<uint64_t>(p), m, s, vector, slot, slot + 1);
  }
}

}  // namespace

void fill(const TensorRef& out, double value) {
  kernels::dispatchWithHalf(out.dtype, "fill", [&](auto tag) {
    using T = decltype(tag);
    const T v = kernels::castValue<T>(value);
    T* data = out.as<T>();
    forEachElement(out.layout, [&](int64_t, int64_t offset) { data[offset] = v; });
  });
}

void arange(const TensorRef& out, double start, double step) {
  kernels::dispatchDType(out.dtype, "arange", [&](auto tag) {
    using T = decltype(tag);
    T* data = out.as<T>();
    forEachElement(out.layout, [&](int64_t i, int64_t offset) {
      data[offset] = kernels::castValue<T>(start + static_cast<double>(i) * step);
    });
  });
}

void uniform(const TensorRef& out, RandomState rng, double low, double high) {
  float* data = out.as<float>();
  const float lo = static_cast<float>(low), hi = static_cast<float>(high);
  const int64_t n = out.numel();
#if defined(__x86_64__) && defined(__GNUC__)
  // Contiguous: Philox blocks 8 at a time (philoxWords8, as normal() below), each element
  // taking word 0 of its counter's block, as uniformAt does: the same numbers, and building
  // vgg16 (138M values, mostly uniform_) spent most of its time here, one block per element.
  if (out.layout.isContiguous() && __builtin_cpu_supports("avx512f")) {
    constexpr int64_t kBlock = 8192;
    const int64_t blocks = (n + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (n > kParallelGrain)
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t end = std::min(n, (b + 1) * kBlock);
      int64_t i = b * kBlock;
      uint32_t word0[8], word1[8];
      for (; i + 8 <= end; i += 8) {
        philoxWords8(rng.seed, rng.offset + static_cast<uint64_t>(i), word0, word1);
        for (int l = 0; l < 8; ++l) data[i + l] = lo + (hi - lo) * kernels::uniform01(word0[l]);
      }
      for (; i < end; ++i) data[i] = kernels::uniformAt(rng.seed, rng.offset + static_cast<uint64_t>(i), lo, hi);
    }
    return;
  }
#endif
  forEachElement(out.layout, [&](int64_t i, int64_t offset) {
    data[offset] = kernels::uniformAt(rng.seed, rng.offset + static_cast<uint64_t>(i), lo, hi);
  });
}

void normal(const TensorRef& out, RandomState rng, double mean, double stddev) {
  float* data = out.as<float>();
  const float m = static_cast<float>(mean), s = static_cast<float>(stddev);
  const int64_t n = out.numel();
  const bool vector = vectorRandom();
  if (!out.layout.isContiguous() || n < 2) {
    forEachElement(out.layout, [&](int64_t i, int64_t offset) {
      data[offset] = normalAtCpu(rng.seed, rng.offset + static_cast<uint64_t>(i), m, s, vector);
    });
    return;
  }
  // Whole Box-Muller pairs: one Philox block and one log for two values. A draw starting
  // on an odd counter has a lone first element, and maybe a lone last one.
  const int64_t head = static_cast<int64_t>(rng.offset & 1);
  if (head) data[0] = normalAtCpu(rng.seed, rng.offset, m, s, vector);
  const int64_t pairs = (n - head) / 2;
  const uint64_t firstPair = (rng.offset + head) >> 1;
  // Blocks of 1024 pairs per task: whole 8-pair vectors, and few enough tasks to split well.
  constexpr int64_t kBlock = 1024;
  const int64_t blocks = (pairs + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (pairs > kParallelGrain / 2)
  for (int64_t b = 0; b < blocks; ++b) {
    normalPairs(data + head, b * kBlock, std::min(pairs, (b + 1) * kBlock), rng.seed, firstPair, m, s, vector);
  }
  if (head + 2 * pairs < n) data[n - 1] = normalAtCpu(rng.seed, rng.offset + static_cast<uint64_t>(n - 1), m, s, vector);
}

// The primitives this file implements (neocog/primitives.def).
void CpuBackend::fill(Out out, double value) { cpu::fill(out, value); }
void CpuBackend::arange(Out out, double start, double step) { cpu::arange(out, start, step); }
void CpuBackend::uniform(Out out, RandomState rng, double low, double high) { cpu::uniform(out, rng, low, high); }
void CpuBackend::normal(Out out, RandomState rng, double mean, double stddev) { cpu::normal(out, rng, mean, stddev); }

}  // namespace neocog::cpu
