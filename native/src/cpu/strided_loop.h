// Iterating over strided operands row by row: offsets are computed with divisions once per
// row (all dims but the last), then the innermost dim is a plain strided loop. Per-element
// index division made strided copies ~15x slower than PyTorch's.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>

#include "cpu/parallel.h"
#include "neocog/layout.h"

namespace neocog::cpu {

namespace detail {

// The operands' layouts with dims reordered by the first operand's strides (largest
// first) and neighbours merged wherever every operand steps through them as one dim, as
// PyTorch's TensorIterator does. A channels-last tensor seen as NCHW then becomes one long
// unit-stride row instead of N*C*H rows of W elements C apart.
template <size_t K>
std::array<Layout, K> coalesce(const Layout& shape, const std::array<const Layout*, K>& operands) {
  const int nd = shape.ndim;
  std::array<int, kMaxDims> order{};
  int kept = 0;
  for (int d = 0; d < nd; ++d) {
    if (shape.shape[d] != 1) order[kept++] = d;  // size-1 dims carry no offset
  }
  const Layout& lead = *operands[0];
  // A stable insertion sort by decreasing stride: std::stable_sort allocates a buffer, a
  // malloc per kernel on the stream thread (issue 11: dispatch of a 16-element add).
  for (int i = 1; i < kept; ++i) {
    const int d = order[i];
    int j = i;
    for (; j > 0 && lead.strides[order[j - 1]] < lead.strides[d]; --j) order[j] = order[j - 1];
    order[j] = d;
  }
  std::array<Layout, K> out{};
  for (size_t k = 0; k < K; ++k) out[k].ndim = 0;
  for (int i = 0; i < kept; ++i) {
    const int d = order[i];
    bool merge = out[0].ndim > 0;
    for (size_t k = 0; k < K && merge; ++k) {
      const Layout& o = out[k];
      merge = o.strides[o.ndim - 1] == operands[k]->strides[d] * shape.shape[d];
    }
    for (size_t k = 0; k < K; ++k) {
      Layout& o = out[k];
      if (merge) {
        o.shape[o.ndim - 1] *= shape.shape[d];
        o.strides[o.ndim - 1] = operands[k]->strides[d];
      } else {
        o.shape[o.ndim] = shape.shape[d];
        o.strides[o.ndim] = operands[k]->strides[d];
        ++o.ndim;
      }
    }
  }
  return out;
}

}  // namespace detail

// fn(offsets) for the indices [first, last) of the first `ndim` dims of `shape`, in row-major
// order, where offsets[k] sums index * strides[k][d] over those dims: the first from its
// index (a division per dim), the next ones by stepping the coordinates like an odometer.
// Per-index divisions had cost more than short rows' work: a sliding window's channels-last
// [4, 2, 256, 256] outputs times its [256, 256] weight map (rows of 2) went from 11 to
// 5.5 ms per 1024x1024 pass, a U-Net's per-channel bias-gradient sums 0.7 to 0.26 ms.
template <size_t K, typename Fn>
void forEachIndex(const int64_t* shape, int ndim, const std::array<const int64_t*, K>& strides, int64_t first,
                  int64_t last, Fn&& fn) {
  int64_t coords[kMaxDims] = {};
  std::array<int64_t, K> offsets{};
  int64_t rest = first;
  for (int d = ndim - 1; d >= 0; --d) {
    coords[d] = rest % shape[d];
    rest /= shape[d];
    for (size_t k = 0; k < K; ++k) offsets[k] += coords[d] * strides[k][d];
  }
  for (int64_t i = first; i < last; ++i) {
    fn(offsets);
    for (int d = ndim - 1; d >= 0; --d) {
      for (size_t k = 0; k < K; ++k) offsets[k] += strides[k][d];
      if (++coords[d] < shape[d]) break;
      for (size_t k = 0; k < K; ++k) offsets[k] -= shape[d] * strides[k][d];
      coords[d] = 0;
    }
  }
}

// Calls fn(base, innerStrides, count) for pieces of rows covering `shape`, where base[k] is
// the element offset of the piece's first element in operand k and innerStrides[k] its
// stride along the innermost (coalesced) dim. The first operand decides the dim order, so
// pass the output first. Pieces run in parallel; long rows are split so that a single
// contiguous row still uses every thread.
template <size_t K, typename Fn>
void forEachRow(const Layout& shape, const std::array<const Layout*, K>& operands, Fn&& fn) {
  if (shape.numel() == 0) return;
  const std::array<Layout, K> dims = detail::coalesce(shape, operands);
  const Layout& s = dims[0];
  const int nd = s.ndim;
  const int64_t inner = nd == 0 ? 1 : s.shape[nd - 1];
  const int64_t rows = shape.numel() / inner;
  std::array<int64_t, K> innerStrides{};
  for (size_t k = 0; k < K; ++k) innerStrides[k] = nd == 0 ? 0 : dims[k].strides[nd - 1];
  const int64_t piecesPerRow = rows >= 64 ? 1 : std::max<int64_t>(1, std::min<int64_t>(64, inner / 4096));
  if (piecesPerRow == 1) {
    // Whole rows, a run of them per task, their offsets stepped by forEachIndex.
    const int64_t rowsPerTask = std::max<int64_t>(1, std::min<int64_t>(rows, 8192 / inner));
    const int64_t tasks = (rows + rowsPerTask - 1) / rowsPerTask;
    std::array<const int64_t*, K> strides{};
    for (size_t k = 0; k < K; ++k) strides[k] = dims[k].strides;
    parallelForIf(shape.numel() > kParallelGrain && tasks > 1, tasks, [&](int64_t task) {
      const int64_t first = task * rowsPerTask;
      forEachIndex(s.shape, nd - 1, strides, first, std::min(rows, first + rowsPerTask),
                   [&](const std::array<int64_t, K>& base) { fn(base, innerStrides, inner); });
    });
    return;
  }
  const int64_t pieceLength = (inner + piecesPerRow - 1) / piecesPerRow;
  const int64_t pieces = rows * piecesPerRow;
  const bool parallel = shape.numel() > kParallelGrain && pieces > 1;
  parallelForIf(parallel, pieces, [&](int64_t piece) {
    const int64_t row = piece / piecesPerRow;
    const int64_t begin = (piece % piecesPerRow) * pieceLength;
    const int64_t count = std::min(pieceLength, inner - begin);
    std::array<int64_t, K> base{};
    int64_t rest = row;
    for (int d = nd - 2; d >= 0; --d) {
      const int64_t coord = rest % s.shape[d];
      rest /= s.shape[d];
      for (size_t k = 0; k < K; ++k) base[k] += coord * dims[k].strides[d];
    }
    for (size_t k = 0; k < K; ++k) base[k] += begin * innerStrides[k];
    if (count > 0) fn(base, innerStrides, count);
  });
}

// True when every step is 1: the piece is plain arrays the compiler can vectorise over.
template <size_t K>
bool unitSteps(const std::array<int64_t, K>& steps) {
  for (int64_t s : steps) {
    if (s != 1) return false;
  }
  return true;
}

}  // namespace neocog::cpu
