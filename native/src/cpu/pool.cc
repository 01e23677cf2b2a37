// Max / average / adaptive pooling (math in kernels/pool.h). Our own kernels rather than
// oneDNN's pooling: PyTorch's returnIndices and maxUnpool need explicit argmax indices
// (oneDNN keeps them in an opaque workspace), PyTorch's ceil-mode, count_include_pad,
// divisor_override and adaptive windows must match exactly, and the same math then runs
// on CUDA. 2-d pooling of channels-last tensors (what convolutions produce) has a fast
// path whose inner loop runs over contiguous channels; other layouts use the generic
// per-element form.
#include <cmath>
#include <vector>

#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"
#include "kernels/pool.h"
#include "kernels/strided.h"

namespace neocog::cpu {

namespace {

bool channelsLast2d(const PoolParams& p, std::initializer_list<const TensorRef*> tensors) {
  if (p.spatial != 2) return false;
  for (const TensorRef* t : tensors) {
    if (t->data != nullptr && t->layout.strides[1] != 1) return false;
  }
  return true;
}

// The average-pooling divisor of a window, as kernels::poolValue computes it.
int64_t divisorOf(const PoolParams& p, const kernels::Window& h, const kernels::Window& w) {
  if (p.divisorOverride > 0) return p.divisorOverride;
  if (p.countIncludePad && !p.adaptive) return h.paddedSpan * w.paddedSpan;
  return (h.end - h.begin) * (w.end - w.begin);
}

void forwardChannelsLast(const PoolParams& p, const TensorRef& out, const TensorRef& indices, const TensorRef& input) {
  const Layout &o = out.layout, &x = input.layout;
  const int64_t batch = o.shape[0], channels = o.shape[1], oh = o.shape[2], ow = o.shape[3];
  const int64_t ih = x.shape[2], iw = x.shape[3];
  const float* src = input.as<float>();
  float* dst = out.as<float>();
  int32_t* idx = indices.data ? indices.as<int32_t>() : nullptr;
  const int64_t dh = p.adaptive ? 1 : p.dilation[0], dw = p.adaptive ? 1 : p.dilation[1];
#pragma omp parallel for schedule(static) collapse(2)
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t r = 0; r < oh; ++r) {
      std::vector<float> acc(channels);
      std::vector<int32_t> arg(channels);
      const kernels::Window wh = kernels::poolWindow(p, 0, r, ih, oh);
      for (int64_t col = 0; col < ow; ++col) {
        const kernels::Window ww = kernels::poolWindow(p, 1, col, iw, ow);
        const bool isMax = p.mode == PoolMode::Max;
        bool first = true;
        for (int64_t c = 0; c < channels; ++c) {
          acc[c] = isMax ? -INFINITY : 0.0f;
          arg[c] = -1;
        }
        for (int64_t i = wh.begin; i < wh.end; i += isMax ? dh : 1) {
          for (int64_t j = ww.begin; j < ww.end; j += isMax ? dw : 1) {
            const float* v = src + n * x.strides[0] + i * x.strides[2] + j * x.strides[3];
            const int32_t flat = static_cast<int32_t>(i * iw + j);
            if (!isMax) {
              for (int64_t c = 0; c < channels; ++c) acc[c] += v[c];
            } else if (first) {
              for (int64_t c = 0; c < channels; ++c) {
                acc[c] = v[c];
                arg[c] = flat;
              }
            } else {
              // Branch-free so the compiler vectorises it; NaN wins, as in PyTorch and
              // kernels::poolValue.
              for (int64_t c = 0; c < channels; ++c) {
                const bool take = v[c] > acc[c] || v[c] != v[c];
                acc[c] = take ? v[c] : acc[c];
                arg[c] = take ? flat : arg[c];
              }
            }
            first = false;
          }
        }
        float* d = dst + n * o.strides[0] + r * o.strides[2] + col * o.strides[3];
        if (isMax) {
          for (int64_t c = 0; c < channels; ++c) d[c] = acc[c];
          if (idx) {
            int32_t* ix = idx + n * indices.layout.strides[0] + r * indices.layout.strides[2] + col * indices.layout.strides[3];
            for (int64_t c = 0; c < channels; ++c) ix[c] = arg[c];
          }
        } else {
          const int64_t divisor = divisorOf(p, wh, ww);
          const float scale = divisor > 0 ? 1.0f / static_cast<float>(divisor) : 0.0f;
          for (int64_t c = 0; c < channels; ++c) d[c] = acc[c] * scale;
        }
      }
    }
  }
}

// Scatters each output gradient into its window; images are independent, so threads
// take whole images and never write the same element. Only the input gradient must be
// channels-last: the output gradient often arrives contiguous (from a Flatten's backward).
void backwardChannelsLast(const PoolParams& p, const TensorRef& gradInput, const TensorRef& gradOutput,
                          const TensorRef& indices) {
  const Layout &gi = gradInput.layout, &go = gradOutput.layout;
  const int64_t batch = go.shape[0], channels = go.shape[1], oh = go.shape[2], ow = go.shape[3];
  const int64_t ih = gi.shape[2], iw = gi.shape[3];
  float* dst = gradInput.as<float>();
  const float* g = gradOutput.as<float>();
  const int32_t* idx = indices.data ? indices.as<int32_t>() : nullptr;
  const int64_t gc = go.strides[1], ic = indices.data ? indices.layout.strides[1] : 0;
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < batch; ++n) {
    float* image = dst + n * gi.strides[0];
    for (int64_t i = 0; i < ih; ++i) {
      for (int64_t j = 0; j < iw; ++j) {
        float* d = image + i * gi.strides[2] + j * gi.strides[3];
        for (int64_t c = 0; c < channels; ++c) d[c] = 0.0f;
      }
    }
    for (int64_t r = 0; r < oh; ++r) {
      const kernels::Window wh = kernels::poolWindow(p, 0, r, ih, oh);
      for (int64_t col = 0; col < ow; ++col) {
        const float* gv = g + n * go.strides[0] + r * go.strides[2] + col * go.strides[3];
        if (p.mode == PoolMode::Max) {
          const int32_t* ix = idx + n * indices.layout.strides[0] + r * indices.layout.strides[2] + col * indices.layout.strides[3];
          for (int64_t c = 0; c < channels; ++c) {
            const int64_t flat = ix[c * ic];
            image[(flat / iw) * gi.strides[2] + (flat % iw) * gi.strides[3] + c] += gv[c * gc];
          }
          continue;
        }
        const kernels::Window ww = kernels::poolWindow(p, 1, col, iw, ow);
        const int64_t divisor = divisorOf(p, wh, ww);
        const float scale = divisor > 0 ? 1.0f / static_cast<float>(divisor) : 0.0f;
        for (int64_t i = wh.begin; i < wh.end; ++i) {
          for (int64_t j = ww.begin; j < ww.end; ++j) {
            float* d = image + i * gi.strides[2] + j * gi.strides[3];
            for (int64_t c = 0; c < channels; ++c) d[c] += gv[c * gc] * scale;
          }
        }
      }
    }
  }
}

}  // namespace

void poolForward(const PoolParams& p, const TensorRef& out, const TensorRef& indices, const TensorRef& input) {
  if (channelsLast2d(p, {&out, &indices, &input})) {
    forwardChannelsLast(p, out, indices, input);
    return;
  }
  float* dst = out.as<float>();
  int32_t* idx = indices.data ? indices.as<int32_t>() : nullptr;
  const float* src = input.as<float>();
  parallelFor(out.numel(), [&](int64_t i) {
    int32_t argmax = 0;
    dst[kernels::stridedOffset(out.layout, i)] = kernels::poolValue(p, out.layout, input.layout, src, i, &argmax);
    if (idx) idx[kernels::stridedOffset(indices.layout, i)] = argmax;
  });
}

void poolBackward(const PoolParams& p, const TensorRef& gradInput, const TensorRef& gradOutput, const TensorRef& indices) {
  if (channelsLast2d(p, {&gradInput})) {
    backwardChannelsLast(p, gradInput, gradOutput, indices);
    return;
  }
  float* dst = gradInput.as<float>();
  const float* g = gradOutput.as<float>();
  const int32_t* idx = indices.data ? indices.as<int32_t>() : nullptr;
  parallelFor(gradInput.numel(), [&](int64_t i) {
    dst[kernels::stridedOffset(gradInput.layout, i)] =
        kernels::poolGrad(p, gradInput.layout, gradOutput.layout, g, idx, indices.layout, i);
  });
}

// The primitives this file implements (neocog/primitives.def).
void CpuBackend::poolForward(const PoolParams& params, Out out, OptOut indices, In input) {
  cpu::poolForward(params, out, indices, input);
}
void CpuBackend::poolBackward(const PoolParams& params, Out gradInput, In gradOutput, OptIn indices) {
  cpu::poolBackward(params, gradInput, gradOutput, indices);
}

}  // namespace neocog::cpu
