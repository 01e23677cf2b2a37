// SiLU over a dense float32 block on glibc's vector expf (AVX-512), for the unary op and for
// convolutions followed by a SiLU (cpu/conv.cc); see siluDense for why not oneDNN's swish.
#include "cpu/silu.h"

#include <algorithm>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include "cpu/parallel.h"

namespace neocog::cpu {

namespace {

#if defined(__x86_64__) && defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"  // GCC 12's intrinsic headers (as cpu/creation.cc)
// glibc's vector math library (libmvec): 16 floats per call, within 4 ulp of expf.
extern "C" __attribute__((target("avx512f"))) __m512 _ZGVeN16v_expf(__m512);

// silu(x) = x / (1 + exp(-x)) over n floats, 16 at a time; the last partial block masked, so
// every element goes through the same vector code. Large negative x gives -0 once exp(-x)
// overflows (x / inf, the limit); -inf and NaN give NaN, as x * sigmoid(x) does.
__attribute__((target("avx512f"))) void silu16(const float* in, float* out, int64_t n) {
  const __m512 one = _mm512_set1_ps(1.0f);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 mask = n - i >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (n - i)) - 1u);
    const __m512 x = _mm512_maskz_loadu_ps(mask, in + i);
    const __m512 e = _ZGVeN16v_expf(_mm512_sub_ps(_mm512_setzero_ps(), x));
    _mm512_mask_storeu_ps(out + i, mask, _mm512_div_ps(x, _mm512_add_ps(one, e)));
  }
}
#pragma GCC diagnostic pop
#endif

}  // namespace

// Silu of a dense float32 block on libmvec's expf, where the CPU has AVX-512; false when it
// has not (the caller goes on to oneDNN). oneDNN 2.6's eltwise_swish (jit:avx512_core) is
// compute-bound here. On 16 x 96 x 112 x 112 floats (EfficientNet-B0's widest SiLU at batch
// 16), 2 threads of the 2-vCPU AVX-512 EPYC, medians of 9: standalone, oneDNN 6.3-6.9 ms,
// this loop 4.7-4.9 ms, a plain x + x 4.4-4.6 ms (PyTorch 2.13's in-place silu_ 4.0 ms);
// through neocog's silu() on a busy machine, 3 alternating runs, 6.4-7.1 -> 5.4-6.0 ms. In an
// EfficientNet-B0 eval pass at batch 16 (~170 ms) SiLU's kernel time went from ~34 to ~29 ms.
bool siluDenseAvailable() {
#if defined(__x86_64__) && defined(__GNUC__)
  return __builtin_cpu_supports("avx512f");
#else
  return false;
#endif
}

bool siluDense(const float* in, float* out, int64_t n) {
#if defined(__x86_64__) && defined(__GNUC__)
  if (!siluDenseAvailable()) return false;
  constexpr int64_t kChunk = 16384;  // floats per parallel piece (a multiple of 16)
  const int64_t pieces = (n + kChunk - 1) / kChunk;
  parallelForIf(n > kParallelGrain, pieces, [&](int64_t piece) {
    const int64_t begin = piece * kChunk;
    silu16(in + begin, out + begin, std::min(kChunk, n - begin));
  });
  return true;
#else
  (void)in, (void)out, (void)n;
  return false;
#endif
}

}  // namespace neocog::cpu
