// SiLU of a dense float32 block on glibc's vector math library (cpu/silu.cc).
#pragma once

#include <cstdint>

namespace neocog::cpu {

// out[i] = in[i] / (1 + exp(-in[i])) for n floats (`out` may be `in`), where the CPU has
// AVX-512; false, touching nothing, where it has not (the caller goes on to oneDNN).
bool siluDense(const float* in, float* out, int64_t n);

// Whether siluDense runs here (the CPU has AVX-512).
bool siluDenseAvailable();

}  // namespace neocog::cpu
