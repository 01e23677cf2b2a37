// Iterating over strided operands row by row: offsets are computed with divisions once per
// row (all dims but the last), then the innermost dim is a plain strided loop. Per-element
// index division made strided copies ~15x slower than PyTorch's.
#pragma once

#include <array>
#include <cstdint>

#include "cpu/parallel.h"
#include "neocog/layout.h"

namespace neocog::cpu {

// Calls fn(base, innerStrides, count) for each row of `shape`, where base[k] is the
// element offset of the row's first element in operand k and innerStrides[k] its stride
// along the last dim. Rows run in parallel.
template <size_t K, typename Fn>
void forEachRow(const Layout& shape, const std::array<const Layout*, K>& operands, Fn&& fn) {
  const int nd = shape.ndim;
  const int64_t inner = nd == 0 ? 1 : shape.shape[nd - 1];
  if (inner == 0) return;
  const int64_t rows = shape.numel() / inner;
  std::array<int64_t, K> innerStrides{};
  for (size_t k = 0; k < K; ++k) innerStrides[k] = nd == 0 ? 0 : operands[k]->strides[nd - 1];
  const int64_t grain = kParallelGrain / inner + 1;
#pragma omp parallel for schedule(static) if (rows > grain)
  for (int64_t row = 0; row < rows; ++row) {
    std::array<int64_t, K> base{};
    int64_t rest = row;
    for (int d = nd - 2; d >= 0; --d) {
      const int64_t coord = rest % shape.shape[d];
      rest /= shape.shape[d];
      for (size_t k = 0; k < K; ++k) base[k] += coord * operands[k]->strides[d];
    }
    fn(base, innerStrides, inner);
  }
}

}  // namespace neocog::cpu
