// RoI max pooling forward and backward (math in kernels/roi_pool.h). Our own loops: no
// library has RoI pooling. The backward scatters each bin's gradient to its argmax;
// threads take whole channels, so no two write the same element.
#include <algorithm>
#include <cfloat>
#include <cstring>
#include <vector>

#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"
#include "kernels/roi_pool.h"

namespace neocog::cpu {

void roiPoolForward(const RoiPoolParams& p, const TensorRef& out, const TensorRef& argmax, const TensorRef& input,
                    const TensorRef& rois) {
  const Layout& x = input.layout;
  const int64_t channels = x.shape[1], h = x.shape[2], w = x.shape[3];
  const float* src = input.as<float>();
  const float* boxes = rois.as<float>();
  float* dst = out.as<float>();
  int32_t* where = argmax.as<int32_t>();
  const std::string bad = kernels::roiBatchError("roiPool", boxes, rois.layout.shape[0], x.shape[0]);
  if (!bad.empty()) fail(ErrorKind::Index, bad);
  const int64_t bins = p.pooledH * p.pooledW;
  if (x.strides[1] == 1) {
    // Channels innermost (channels-last maps, as our convolutions write them): each bin's
    // pixels are read once, a contiguous run of channels each, and every channel's running
    // maximum is updated in a vectorisable loop.
    const int64_t count = rois.layout.shape[0];
#pragma omp parallel if (out.numel() > kParallelGrain)
    {
      std::vector<float> best(static_cast<size_t>(channels));
      std::vector<int32_t> at(static_cast<size_t>(channels));
#pragma omp for schedule(static)
      for (int64_t b = 0; b < count * bins; ++b) {
        const int64_t k = b / bins, ph = (b % bins) / p.pooledW, pw = b % p.pooledW;
        const float* roi = boxes + k * 5;
        const kernels::RoiPoolBin bin = kernels::roiPoolBin(p, roi, h, w, ph, pw);
        std::fill(best.begin(), best.end(), bin.empty() ? 0.0f : -FLT_MAX);
        std::fill(at.begin(), at.end(), -1);
        const float* image = src + static_cast<int64_t>(roi[0]) * x.strides[0];
        for (int64_t y = bin.hStart; y < bin.hEnd; ++y) {
          for (int64_t xx = bin.wStart; xx < bin.wEnd; ++xx) {
            const float* pixel = image + y * x.strides[2] + xx * x.strides[3];
            const int32_t position = static_cast<int32_t>(y * w + xx);
            float* bestOf = best.data();
            int32_t* atOf = at.data();
            // Masks and a max, not `above ? pixel : best`: GCC turns that select back into
            // a conditional store (its cselim pass), which does not vectorise and branches on
            // random data; this form compiles to max and and/or vector code (about 3x faster
            // on bench/ops.ts's roiPool case, CPU time on one thread).
#pragma omp simd
            for (int64_t c = 0; c < channels; ++c) {
              const float v = pixel[c], b = bestOf[c];
              const int32_t above = -static_cast<int32_t>(v > b);  // all ones where v wins; NaN never wins
              bestOf[c] = std::max(b, v);                          // b unless b < v: NaN keeps b
              atOf[c] = (position & above) | (atOf[c] & ~above);
            }
          }
        }
        for (int64_t c = 0; c < channels; ++c) {
          dst[(k * channels + c) * bins + ph * p.pooledW + pw] = best[c];
          where[(k * channels + c) * bins + ph * p.pooledW + pw] = at[c];
        }
      }
    }
    return;
  }
  parallelFor(out.numel(), [&](int64_t i) {
    const int64_t pw = i % p.pooledW, ph = (i / p.pooledW) % p.pooledH;
    const int64_t c = (i / (p.pooledW * p.pooledH)) % channels, k = i / (p.pooledW * p.pooledH * channels);
    const float* roi = boxes + k * 5;
    const float* plane = src + static_cast<int64_t>(roi[0]) * x.strides[0] + c * x.strides[1];
    dst[i] = kernels::roiPoolMax(kernels::roiPoolBin(p, roi, h, w, ph, pw), plane, w, x.strides[2], x.strides[3],
                                 where + i);
  });
}

void roiPoolBackward(const RoiPoolParams& p, const TensorRef& gradInput, const TensorRef& gradOutput,
                     const TensorRef& argmax, const TensorRef& rois) {
  const Layout &gi = gradInput.layout, &go = gradOutput.layout;
  const int64_t count = go.shape[0], channels = gi.shape[1], w = gi.shape[3];
  const int64_t bins = p.pooledH * p.pooledW;
  float* dst = gradInput.as<float>();
  const float* g = gradOutput.as<float>();
  const int32_t* where = argmax.as<int32_t>();
  const float* boxes = rois.as<float>();
  std::memset(dst, 0, static_cast<size_t>(gradInput.numel()) * sizeof(float));
#pragma omp parallel for schedule(static) if (count * channels * bins > kParallelGrain)
  for (int64_t c = 0; c < channels; ++c) {
    for (int64_t k = 0; k < count; ++k) {
      const float* roi = boxes + k * 5;
      if (!kernels::roiBatchInRange(roi, gi.shape[0])) continue;
      float* plane = dst + static_cast<int64_t>(roi[0]) * gi.strides[0] + c * gi.strides[1];
      const int32_t* binsAt = where + (k * channels + c) * bins;  // argmax is contiguous
      for (int64_t b = 0; b < bins; ++b) {
        const int32_t at = binsAt[b];
        if (at < 0) continue;
        plane[(at / w) * gi.strides[2] + (at % w) * gi.strides[3]] +=
            g[k * go.strides[0] + c * go.strides[1] + (b / p.pooledW) * go.strides[2] + (b % p.pooledW) * go.strides[3]];
      }
    }
  }
}

// The primitives this file implements (neocog/primitives.def).
void CpuBackend::roiPoolForward(const RoiPoolParams& params, Out out, Out argmax, In input, In rois) {
  cpu::roiPoolForward(params, out, argmax, input, rois);
}
void CpuBackend::roiPoolBackward(const RoiPoolParams& params, Out gradInput, In gradOutput, In argmax, In rois) {
  cpu::roiPoolBackward(params, gradInput, gradOutput, argmax, rois);
}

}  // namespace neocog::cpu
