// How a kernel sees a tensor: a base pointer (already at the view's first element), an
// element type and a strided layout. Trivially copyable so CUDA kernels take it by value.
#pragma once

#include <cstdint>

#include "neocog/dtype.h"

namespace neocog {

constexpr int kMaxDims = 8;

struct Layout {
  int32_t ndim = 0;
  int64_t shape[kMaxDims] = {};
  int64_t strides[kMaxDims] = {};  // in elements, may be 0 (broadcast) for inputs

  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < ndim; ++i) n *= shape[i];
    return n;
  }

  bool isContiguous() const {
    int64_t expected = 1;
    for (int i = ndim - 1; i >= 0; --i) {
      if (shape[i] != 1 && strides[i] != expected) return false;
      expected *= shape[i];
    }
    return true;
  }

  // Every element of one gap-free block, in some dim order (contiguous, channels-last, any
  // permutation of them): the tensor can be processed as a flat array.
  bool isDense() const {
    int64_t order[kMaxDims];
    int kept = 0;
    for (int i = 0; i < ndim; ++i) {
      if (shape[i] != 1) order[kept++] = i;
    }
    for (int i = 1; i < kept; ++i) {  // insertion sort by stride, smallest first
      const int64_t d = order[i];
      int j = i - 1;
      for (; j >= 0 && strides[order[j]] > strides[d]; --j) order[j + 1] = order[j];
      order[j + 1] = d;
    }
    int64_t expected = 1;
    for (int i = 0; i < kept; ++i) {
      if (strides[order[i]] != expected) return false;
      expected *= shape[order[i]];
    }
    return true;
  }
};

struct TensorRef {
  void* data = nullptr;
  DType dtype = DType::Float32;
  Layout layout;

  int64_t numel() const { return layout.numel(); }
  template <typename T>
  T* as() const { return static_cast<T*>(data); }
};

}  // namespace neocog
