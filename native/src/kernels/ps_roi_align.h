// Position-sensitive RoI Align (R-FCN / Light-Head R-CNN), with torchvision.ops.ps_roi_align's
// rules: each output bin samples its own input channel, with RoI Align's bilinear sampling
// (kernels/roi_align.h) and its aligned=true box geometry. One copy of the math for the CPU
// loops and the CUDA kernels, forward and backward.
#pragma once

#include <cstdint>

#include "kernels/host_device.h"
#include "kernels/roi_align.h"
#include "neocog/op_params.h"

namespace neocog::kernels {

// The input channel that bin (ph, pw) of output channel cOut reads (torchvision's
// channel_mapping): input channels are grouped by output channel, then by bin.
NC_HOST_DEVICE int64_t psRoiAlignInputChannel(const PsRoiAlignParams& p, int64_t cOut, int64_t ph, int64_t pw) {
  return (cOut * p.pooledH + ph) * p.pooledW + pw;
}

// Calls visit(offset, weight) for every bilinear tap of bin (ph, pw) of `roi` in its input
// plane. torchvision's ps_roi_align always shifts boxes by -0.5 pixel and does not widen
// them to one pixel: RoI Align's aligned=true geometry, which is reused here unchanged.
// One difference, on purpose: a box of zero size with adaptive sampling has no sampling
// points; torchvision divides 0 by 0 (NaN), this pools 0, as RoI Align does.
template <typename Visit>
NC_HOST_DEVICE void psRoiAlignBin(const PsRoiAlignParams& p, const float* roi, int64_t h, int64_t w, int64_t strideH,
                                  int64_t strideW, int64_t ph, int64_t pw, Visit& visit) {
  RoiAlignParams align;
  align.pooledH = p.pooledH;
  align.pooledW = p.pooledW;
  align.spatialScale = p.spatialScale;
  align.samplingRatio = p.samplingRatio;
  align.aligned = true;
  bilinearBinTaps(align, roi, h, w, strideH, strideW, ph, pw, visit);
}

}  // namespace neocog::kernels
