// Grid sizing for the grid-stride loops of our elementwise kernels.
#pragma once

#include <algorithm>
#include <cstdint>

namespace neocog::cuda {

constexpr int kBlockSize = 256;

inline unsigned gridFor(int64_t n) {
  // Cap the grid: each thread loops, and ~64k blocks already fill any current GPU.
  const int64_t blocks = (n + kBlockSize - 1) / kBlockSize;
  return static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>(blocks, 65535)));
}

#define NC_GRID_STRIDE_LOOP(i, n)                                                              \
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < (n);       \
       i += static_cast<int64_t>(blockDim.x) * gridDim.x)

}  // namespace neocog::cuda
