// Pooling math, one copy for CPU and CUDA: the window of each output element (PyTorch's
// rules for padding, dilation, ceil mode and adaptive pooling), the value of an output
// element, and the gradient of an input element. The backward gathers (each input sums
// the outputs whose window covers it) instead of scattering, so it needs no atomics and
// is deterministic on both backends.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/half.h"
#include "kernels/host_device.h"
#include "neocog/op_params.h"
#include "neocog/layout.h"

namespace neocog::kernels {

// [begin, end) along one dim: for avg pooling also the span counted with padding.
struct Window {
  int64_t begin, end, paddedSpan;
};

NC_HOST_DEVICE Window poolWindow(const PoolParams& p, int dim, int64_t o, int64_t inSize, int64_t outSize) {
  if (p.adaptive) {
    const int64_t begin = (o * inSize) / outSize;
    const int64_t end = ((o + 1) * inSize + outSize - 1) / outSize;
    return {begin, end, end - begin};
  }
  const int64_t start = o * p.stride[dim] - p.padding[dim];
  const int64_t span = (p.kernel[dim] - 1) * p.dilation[dim] + 1;
  int64_t end = start + span;
  const int64_t padded = (end < inSize + p.padding[dim] ? end : inSize + p.padding[dim]) - start;
  const int64_t begin = start < 0 ? start + ((-start + p.dilation[dim] - 1) / p.dilation[dim]) * p.dilation[dim] : start;
  if (end > inSize) end = inSize;
  return {begin, end, padded};
}

// Coordinates of element `linear` of an [N, C, *spatial] shape (spatial padded to 3 dims).
struct PoolIndex {
  int64_t n, c, s[3];
};

NC_HOST_DEVICE PoolIndex poolIndex(const Layout& l, int spatial, int64_t linear) {
  PoolIndex idx{0, 0, {0, 0, 0}};
  for (int d = spatial - 1; d >= 0; --d) {
    idx.s[d] = linear % l.shape[2 + d];
    linear /= l.shape[2 + d];
  }
  idx.c = linear % l.shape[1];
  idx.n = linear / l.shape[1];
  return idx;
}

NC_HOST_DEVICE int64_t sizeAt(const Layout& l, int spatial, int d) { return d < spatial ? l.shape[2 + d] : 1; }
NC_HOST_DEVICE int64_t strideAt(const Layout& l, int spatial, int d) { return d < spatial ? l.strides[2 + d] : 0; }
NC_HOST_DEVICE int64_t stepAt(const PoolParams& p, int d) { return p.adaptive || d >= p.spatial ? 1 : p.dilation[d]; }

// The pooled value of output element `linear`; for max also the flat spatial index. T is
// float or a 16-bit float, read as float: a 16-bit average is summed in float and rounded
// once by the caller, as PyTorch's kernels do, and a maximum is one of the inputs, exact.
template <typename T>
NC_HOST_DEVICE float poolValue(const PoolParams& p, const Layout& outL, const Layout& inL, const T* in,
                               int64_t linear, int32_t* argmax) {
  const int sp = p.spatial;
  const PoolIndex o = poolIndex(outL, sp, linear);
  Window w[3];
  for (int d = 0; d < 3; ++d) {
    w[d] = d < sp ? poolWindow(p, d, o.s[d], inL.shape[2 + d], outL.shape[2 + d]) : Window{0, 1, 1};
  }
  const T* base = in + o.n * inL.strides[0] + o.c * inL.strides[1];
  if (p.mode == PoolMode::Max) {
    float best = -INFINITY;
    int64_t bestIndex = -1;
    for (int64_t i = w[0].begin; i < w[0].end; i += stepAt(p, 0)) {
      for (int64_t j = w[1].begin; j < w[1].end; j += stepAt(p, 1)) {
        for (int64_t k = w[2].begin; k < w[2].end; k += stepAt(p, 2)) {
          const float v = toFloat(base[i * strideAt(inL, sp, 0) + j * strideAt(inL, sp, 1) + k * strideAt(inL, sp, 2)]);
          // NaN wins, as in PyTorch.
          if (v > best || v != v || bestIndex < 0) {
            best = v;
            bestIndex = (i * sizeAt(inL, sp, 1) + j) * sizeAt(inL, sp, 2) + k;
          }
        }
      }
    }
    if (argmax) *argmax = static_cast<int32_t>(bestIndex);
    return best;
  }
  float sum = 0.0f;
  for (int64_t i = w[0].begin; i < w[0].end; ++i) {
    for (int64_t j = w[1].begin; j < w[1].end; ++j) {
      for (int64_t k = w[2].begin; k < w[2].end; ++k) {
        sum += toFloat(base[i * strideAt(inL, sp, 0) + j * strideAt(inL, sp, 1) + k * strideAt(inL, sp, 2)]);
      }
    }
  }
  int64_t divisor;
  if (p.divisorOverride > 0) {
    divisor = p.divisorOverride;
  } else if (p.countIncludePad && !p.adaptive) {
    divisor = w[0].paddedSpan * w[1].paddedSpan * w[2].paddedSpan;
  } else {
    divisor = (w[0].end - w[0].begin) * (w[1].end - w[1].begin) * (w[2].end - w[2].begin);
  }
  return divisor > 0 ? sum / static_cast<float>(divisor) : 0.0f;
}

// Outputs along one dim whose window may cover input position i: [first, last].
NC_HOST_DEVICE void coveringOutputs(const PoolParams& p, int d, int64_t i, int64_t inSize, int64_t outSize,
                                    int64_t* first, int64_t* last) {
  if (p.adaptive) {
    // begin(o) <= i  <=>  o <= ceil((i + 1) * out / in) - 1;  end(o) > i  <=>  o >= floor(i * out / in).
    *first = (i * outSize) / inSize;
    const int64_t bound = ((i + 1) * outSize + inSize - 1) / inSize - 1;
    *last = bound < outSize - 1 ? bound : outSize - 1;
    return;
  }
  const int64_t span = (p.kernel[d] - 1) * p.dilation[d] + 1;
  const int64_t reach = i + p.padding[d];  // o * stride <= reach <= o * stride + span - 1
  int64_t lo = reach - span + 1;
  lo = lo <= 0 ? 0 : (lo + p.stride[d] - 1) / p.stride[d];
  int64_t hi = reach / p.stride[d];
  *first = lo;
  *last = hi < outSize - 1 ? hi : outSize - 1;
}

// d loss / d input element `linear`, gathered from the outputs covering it.
NC_HOST_DEVICE float poolGrad(const PoolParams& p, const Layout& inL, const Layout& outL, const float* gradOut,
                              const int32_t* indices, const Layout& indexL, int64_t linear) {
  const int sp = p.spatial;
  const PoolIndex x = poolIndex(inL, sp, linear);
  int64_t first[3] = {0, 0, 0}, last[3] = {0, 0, 0};
  for (int d = 0; d < sp; ++d) coveringOutputs(p, d, x.s[d], inL.shape[2 + d], outL.shape[2 + d], &first[d], &last[d]);
  const int64_t flat = (x.s[0] * sizeAt(inL, sp, 1) + x.s[1]) * sizeAt(inL, sp, 2) + x.s[2];
  float total = 0.0f;
  for (int64_t a = first[0]; a <= last[0]; ++a) {
    for (int64_t b = first[1]; b <= last[1]; ++b) {
      for (int64_t c = first[2]; c <= last[2]; ++c) {
        const int64_t o[3] = {a, b, c};
        const int64_t outOffset = x.n * outL.strides[0] + x.c * outL.strides[1] + a * strideAt(outL, sp, 0) +
                                  b * strideAt(outL, sp, 1) + c * strideAt(outL, sp, 2);
        if (p.mode == PoolMode::Max) {
          const int64_t indexOffset = x.n * indexL.strides[0] + x.c * indexL.strides[1] + a * strideAt(indexL, sp, 0) +
                                      b * strideAt(indexL, sp, 1) + c * strideAt(indexL, sp, 2);
          if (indices[indexOffset] == flat) total += gradOut[outOffset];
          continue;
        }
        // Avg: does this output's window contain x, and with which divisor?
        bool inside = true;
        int64_t padded = 1, clipped = 1;
        for (int d = 0; d < sp; ++d) {
          const Window w = poolWindow(p, d, o[d], inL.shape[2 + d], outL.shape[2 + d]);
          inside = inside && x.s[d] >= w.begin && x.s[d] < w.end;
          padded *= w.paddedSpan;
          clipped *= w.end - w.begin;
        }
        if (!inside) continue;
        const int64_t divisor = p.divisorOverride > 0 ? p.divisorOverride
                                                      : (p.countIncludePad && !p.adaptive ? padded : clipped);
        total += gradOut[outOffset] / static_cast<float>(divisor);
      }
    }
  }
  return total;
}

}  // namespace neocog::kernels
