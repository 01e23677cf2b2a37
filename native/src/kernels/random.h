// Counter-based random numbers (Philox4x32-10, Salmon et al. 2011), the generator family
// cuRAND and PyTorch's CUDA generator use. Element i of a draw uses counter offset + i, so
// the same (seed, offset) gives the same values on CPU and CUDA, in any thread order.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/host_device.h"

namespace neocog::kernels {

struct Philox4 {
  uint32_t v[4];
};

NC_HOST_DEVICE uint32_t mulhilo(uint32_t a, uint32_t b, uint32_t* hi) {
  const uint64_t product = static_cast<uint64_t>(a) * b;
  *hi = static_cast<uint32_t>(product >> 32);
  return static_cast<uint32_t>(product);
}

NC_HOST_DEVICE Philox4 philox(uint64_t seed, uint64_t counter) {
  uint32_t c0 = static_cast<uint32_t>(counter), c1 = static_cast<uint32_t>(counter >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, hi1;
    const uint32_t lo0 = mulhilo(0xD2511F53u, c0, &hi0);
    const uint32_t lo1 = mulhilo(0xCD9E8D57u, c2, &hi1);
    const uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return Philox4{{c0, c1, c2, c3}};
}

// Uniform in [0, 1) with 24 random bits: every float32 result is exactly representable.
NC_HOST_DEVICE float uniform01(uint32_t bits) { return static_cast<float>(bits >> 8) * (1.0f / 16777216.0f); }

NC_HOST_DEVICE float uniformAt(uint64_t seed, uint64_t counter, float low, float high) {
  return low + (high - low) * uniform01(philox(seed, counter).v[0]);
}

// Box-Muller on two words of one Philox block gives two normals: counters 2p and 2p + 1
// share block p (cosine and sine branch), so a backend may compute them together.
// 1 - u keeps the log argument in (0, 1].
// The Box-Muller step alone, from the first two words of a pair's Philox block: a backend
// that computes Philox blocks several at a time (the CPU's vector path) finishes each pair
// here, so its numbers are those of normalPair.
NC_HOST_DEVICE void normalFromWords(uint32_t word0, uint32_t word1, float mean, float stddev, float* even, float* odd) {
  const float radius = sqrtf(-2.0f * logf(1.0f - uniform01(word0)));
  const float angle = 6.28318530717958647692f * uniform01(word1);
  *even = mean + stddev * radius * cosf(angle);
  *odd = mean + stddev * radius * sinf(angle);
}

NC_HOST_DEVICE void normalPair(uint64_t seed, uint64_t pair, float mean, float stddev, float* even, float* odd) {
  const Philox4 r = philox(seed, pair);
  normalFromWords(r.v[0], r.v[1], mean, stddev, even, odd);
}

NC_HOST_DEVICE float normalAt(uint64_t seed, uint64_t counter, float mean, float stddev) {
  float even, odd;
  normalPair(seed, counter >> 1, mean, stddev, &even, &odd);
  return (counter & 1) ? odd : even;
}

}  // namespace neocog::kernels
