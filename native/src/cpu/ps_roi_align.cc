// Position-sensitive RoI Align forward and backward (math in kernels/ps_roi_align.h). Our
// own loops: no library has it. Each output bin reads one input channel, so the backward's
// threads take whole input channels and no two write the same element.
#include <cstring>

#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"
#include "kernels/ps_roi_align.h"

namespace neocog::cpu {

namespace {

struct ScatterTaps {
  float* plane;
  float grad;
  void operator()(int64_t offset, float weight) { plane[offset] += grad * weight; }
};

}  // namespace

void psRoiAlignForward(const PsRoiAlignParams& p, const TensorRef& out, const TensorRef& input, const TensorRef& rois) {
  const Layout& x = input.layout;
  const int64_t channelsOut = out.layout.shape[1], h = x.shape[2], w = x.shape[3];
  const float* src = input.as<float>();
  const float* boxes = rois.as<float>();
  float* dst = out.as<float>();
  const std::string bad = kernels::roiBatchError("psRoiAlign", boxes, rois.layout.shape[0], x.shape[0]);
  if (!bad.empty()) fail(ErrorKind::Index, bad);
  parallelFor(out.numel(), [&](int64_t i) {
    const int64_t pw = i % p.pooledW, ph = (i / p.pooledW) % p.pooledH;
    const int64_t c = (i / (p.pooledW * p.pooledH)) % channelsOut, k = i / (p.pooledW * p.pooledH * channelsOut);
    const float* roi = boxes + k * 5;
    const int64_t cIn = kernels::psRoiAlignInputChannel(p, c, ph, pw);
    kernels::GatherTaps visit{src + static_cast<int64_t>(roi[0]) * x.strides[0] + cIn * x.strides[1]};
    kernels::psRoiAlignBin(p, roi, h, w, x.strides[2], x.strides[3], ph, pw, visit);
    dst[i] = visit.sum;
  });
}

void psRoiAlignBackward(const PsRoiAlignParams& p, const TensorRef& gradInput, const TensorRef& gradOutput,
                        const TensorRef& rois) {
  const Layout &gi = gradInput.layout, &go = gradOutput.layout;
  const int64_t count = go.shape[0], channels = gi.shape[1], h = gi.shape[2], w = gi.shape[3];
  const int64_t bins = p.pooledH * p.pooledW;
  float* dst = gradInput.as<float>();
  const float* g = gradOutput.as<float>();
  const float* boxes = rois.as<float>();
  std::memset(dst, 0, static_cast<size_t>(gradInput.numel()) * sizeof(float));
#pragma omp parallel for schedule(static) if (count * channels > kParallelGrain)
  for (int64_t cIn = 0; cIn < channels; ++cIn) {
    // The one (output channel, bin) that reads input channel cIn.
    const int64_t c = cIn / bins, ph = (cIn % bins) / p.pooledW, pw = cIn % p.pooledW;
    for (int64_t k = 0; k < count; ++k) {
      const float* roi = boxes + k * 5;
      if (!kernels::roiBatchInRange(roi, gi.shape[0])) continue;
      ScatterTaps visit{dst + static_cast<int64_t>(roi[0]) * gi.strides[0] + cIn * gi.strides[1],
                        g[k * go.strides[0] + c * go.strides[1] + ph * go.strides[2] + pw * go.strides[3]]};
      kernels::psRoiAlignBin(p, roi, h, w, gi.strides[2], gi.strides[3], ph, pw, visit);
    }
  }
}

// The primitives this file implements (neocog/primitives.def).
void CpuBackend::psRoiAlignForward(const PsRoiAlignParams& params, Out out, In input, In rois) {
  cpu::psRoiAlignForward(params, out, input, rois);
}
void CpuBackend::psRoiAlignBackward(const PsRoiAlignParams& params, Out gradInput, In gradOutput, In rois) {
  cpu::psRoiAlignBackward(params, gradInput, gradOutput, rois);
}

}  // namespace neocog::cpu
