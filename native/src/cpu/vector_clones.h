// NC_VECTOR_CLONES: a loop function compiled for AVX-512, AVX2 and baseline x86-64, the one
// for this CPU picked at load time (the build itself targets baseline x86-64, whose 4-wide
// SSE halves the throughput of compute-bound loops). noinline: each clone is a function.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define NC_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default"), noinline))
#else
#define NC_VECTOR_CLONES
#endif
