// Position-sensitive RoI Align forward and backward on the GPU (math in
// kernels/ps_roi_align.h): one thread per output bin; the backward scatters with atomicAdd,
// as torchvision's kernel does.
#include "cuda/check.h"
#include "cuda/cuda_backend.h"
#include "cuda/launch.h"
#include "kernels/ps_roi_align.h"

namespace neocog::cuda {

namespace {

struct AtomicScatterTaps {
  float* plane;
  float grad;
  __device__ void operator()(int64_t offset, float weight) { atomicAdd(plane + offset, grad * weight); }
};

__global__ void forwardKernel(PsRoiAlignParams p, float* out, const float* input, Layout x, int64_t channelsOut,
                              const float* rois, int64_t n) {
  NC_GRID_STRIDE_LOOP(i, n) {
    const int64_t pw = i % p.pooledW, ph = (i / p.pooledW) % p.pooledH;
    const int64_t c = (i / (p.pooledW * p.pooledH)) % channelsOut, k = i / (p.pooledW * p.pooledH * channelsOut);
    const float* roi = rois + k * 5;
    const int64_t cIn = kernels::psRoiAlignInputChannel(p, c, ph, pw);
    kernels::GatherTaps visit{input + static_cast<int64_t>(roi[0]) * x.strides[0] + cIn * x.strides[1]};
    kernels::psRoiAlignBin(p, roi, x.shape[2], x.shape[3], x.strides[2], x.strides[3], ph, pw, visit);
    out[i] = visit.sum;
  }
}

__global__ void backwardKernel(PsRoiAlignParams p, float* gradInput, Layout gi, const float* gradOutput, Layout go,
                               const float* rois, int64_t n) {
  NC_GRID_STRIDE_LOOP(i, n) {
    const int64_t pw = i % p.pooledW, ph = (i / p.pooledW) % p.pooledH;
    const int64_t c = (i / (p.pooledW * p.pooledH)) % go.shape[1], k = i / (p.pooledW * p.pooledH * go.shape[1]);
    const float* roi = rois + k * 5;
    if (!kernels::roiBatchInRange(roi, gi.shape[0])) continue;
    const int64_t cIn = kernels::psRoiAlignInputChannel(p, c, ph, pw);
    AtomicScatterTaps visit{gradInput + static_cast<int64_t>(roi[0]) * gi.strides[0] + cIn * gi.strides[1],
                            gradOutput[k * go.strides[0] + c * go.strides[1] + ph * go.strides[2] + pw * go.strides[3]]};
    kernels::psRoiAlignBin(p, roi, gi.shape[2], gi.shape[3], gi.strides[2], gi.strides[3], ph, pw, visit);
  }
}

}  // namespace

void psRoiAlignForward(DeviceHandles& h, const PsRoiAlignParams& p, const TensorRef& out, const TensorRef& input,
                       const TensorRef& rois) {
  checkRoiBatches(h, "psRoiAlign", rois, input.layout.shape[0]);
  const int64_t n = out.numel();
  if (n == 0) return;
  forwardKernel<<<gridFor(n), kBlockSize, 0, h.stream()>>>(p, out.as<float>(), input.as<float>(), input.layout,
                                                          out.layout.shape[1], rois.as<float>(), n);
  checkLaunch("psRoiAlign");
}

void psRoiAlignBackward(DeviceHandles& h, const PsRoiAlignParams& p, const TensorRef& gradInput,
                        const TensorRef& gradOutput, const TensorRef& rois) {
  check(cudaMemsetAsync(gradInput.data, 0, static_cast<size_t>(gradInput.numel()) * sizeof(float), h.stream()),
        "psRoiAlignBackward");
  const int64_t n = gradOutput.numel();
  if (n == 0) return;
  backwardKernel<<<gridFor(n), kBlockSize, 0, h.stream()>>>(p, gradInput.as<float>(), gradInput.layout,
                                                           gradOutput.as<float>(), gradOutput.layout,
                                                           rois.as<float>(), n);
  checkLaunch("psRoiAlignBackward");
}

// The primitives this file implements (neocog/primitives.def).
void CudaBackend::psRoiAlignForward(const PsRoiAlignParams& params, Out out, In input, In rois) {
  cuda::psRoiAlignForward(handles_, params, out, input, rois);
}
void CudaBackend::psRoiAlignBackward(const PsRoiAlignParams& params, Out gradInput, In gradOutput, In rois) {
  cuda::psRoiAlignBackward(handles_, params, gradInput, gradOutput, rois);
}

}  // namespace neocog::cuda
