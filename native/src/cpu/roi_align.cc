// RoI Align forward and backward (math in kernels/roi_align.h). Our own loops: no library
// has RoI Align. The backward scatters into the input gradient; threads take whole
// channels, so no two write the same element.
#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"
#include "kernels/roi_align.h"

namespace neocog::cpu {

namespace {

struct ScatterTaps {
  float* plane;
  float grad;
  void operator()(int64_t offset, float weight) { plane[offset] += grad * weight; }
};

// Adds image[offset + c] * weight to sum[c] for every channel c (channels innermost).
struct ChannelTaps {
  const float* image;
  float* sum;
  int64_t channels;
  void operator()(int64_t offset, float weight) {
    const float* pixel = image + offset;
    for (int64_t c = 0; c < channels; ++c) sum[c] += pixel[c] * weight;
  }
};

}  // namespace

void roiAlignForward(const RoiAlignParams& p, const TensorRef& out, const TensorRef& input, const TensorRef& rois) {
  const Layout& x = input.layout;
  const int64_t channels = x.shape[1], h = x.shape[2], w = x.shape[3];
  const float* src = input.as<float>();
  const float* boxes = rois.as<float>();
  float* dst = out.as<float>();
  const std::string bad = kernels::roiBatchError("roiAlign", boxes, rois.layout.shape[0], x.shape[0]);
  if (!bad.empty()) fail(ErrorKind::Index, bad);
  if (x.strides[1] == 1) {
    // Channels innermost (channels-last maps, as our convolutions write them): each bin's
    // bilinear taps are computed once and applied to a contiguous run of channels.
    const int64_t count = rois.layout.shape[0], bins = p.pooledH * p.pooledW;
#pragma omp parallel if (out.numel() > kParallelGrain)
    {
      std::vector<float> sum(static_cast<size_t>(channels));
#pragma omp for schedule(static)
      for (int64_t b = 0; b < count * bins; ++b) {
        const int64_t k = b / bins, ph = (b % bins) / p.pooledW, pw = b % p.pooledW;
        const float* roi = boxes + k * 5;
        std::fill(sum.begin(), sum.end(), 0.0f);
        ChannelTaps visit{src + static_cast<int64_t>(roi[0]) * x.strides[0], sum.data(), channels};
        kernels::bilinearBinTaps(p, roi, h, w, x.strides[2], x.strides[3], ph, pw, visit);
        for (int64_t c = 0; c < channels; ++c) dst[(k * channels + c) * bins + ph * p.pooledW + pw] = sum[c];
      }
    }
    return;
  }
  parallelFor(out.numel(), [&](int64_t i) {
    const int64_t pw = i % p.pooledW, ph = (i / p.pooledW) % p.pooledH;
    const int64_t c = (i / (p.pooledW * p.pooledH)) % channels, k = i / (p.pooledW * p.pooledH * channels);
    const float* roi = boxes + k * 5;
    if (!kernels::roiBatchInRange(roi, x.shape[0])) {
      dst[i] = 0.0f;
      return;
    }
    kernels::GatherTaps visit{src + static_cast<int64_t>(roi[0]) * x.strides[0] + c * x.strides[1]};
    kernels::bilinearBinTaps(p, roi, h, w, x.strides[2], x.strides[3], ph, pw, visit);
    dst[i] = visit.sum;
  });
}

void roiAlignBackward(const RoiAlignParams& p, const TensorRef& gradInput, const TensorRef& gradOutput,
                      const TensorRef& rois) {
  const Layout &gi = gradInput.layout, &go = gradOutput.layout;
  const int64_t count = go.shape[0], channels = gi.shape[1], h = gi.shape[2], w = gi.shape[3];
  float* dst = gradInput.as<float>();
  const float* g = gradOutput.as<float>();
  const float* boxes = rois.as<float>();
  std::memset(dst, 0, static_cast<size_t>(gradInput.numel()) * sizeof(float));
#pragma omp parallel for schedule(static) if (count * channels * p.pooledH * p.pooledW > kParallelGrain)
  for (int64_t c = 0; c < channels; ++c) {
    for (int64_t k = 0; k < count; ++k) {
      const float* roi = boxes + k * 5;
      if (!kernels::roiBatchInRange(roi, gi.shape[0])) continue;
      float* plane = dst + static_cast<int64_t>(roi[0]) * gi.strides[0] + c * gi.strides[1];
      for (int64_t ph = 0; ph < p.pooledH; ++ph) {
        for (int64_t pw = 0; pw < p.pooledW; ++pw) {
          ScatterTaps visit{plane, g[k * go.strides[0] + c * go.strides[1] + ph * go.strides[2] + pw * go.strides[3]]};
          kernels::bilinearBinTaps(p, roi, h, w, gi.strides[2], gi.strides[3], ph, pw, visit);
        }
      }
    }
  }
}

// The primitives this file implements (neocog/primitives.def).
void CpuBackend::roiAlignForward(const RoiAlignParams& params, Out out, In input, In rois) {
  cpu::roiAlignForward(params, out, input, rois);
}
void CpuBackend::roiAlignBackward(const RoiAlignParams& params, Out gradInput, In gradOutput, In rois) {
  cpu::roiAlignBackward(params, gradInput, gradOutput, rois);
}

}  // namespace neocog::cpu
