// RoI Align forward and backward on the GPU (math in kernels/roi_align.h): one thread per
// output bin; the backward scatters with atomicAdd, as torchvision's kernel does.
#include <string>
#include <vector>

#include "cuda/check.h"
#include "cuda/launch.h"
#include "cuda/cuda_backend.h"
#include "kernels/roi_align.h"

namespace neocog::cuda {

namespace {

struct AtomicScatterTaps {
  float* plane;
  float grad;
  __device__ void operator()(int64_t offset, float weight) { atomicAdd(plane + offset, grad * weight); }
};

__global__ void forwardKernel(RoiAlignParams p, float* out, const float* input, Layout x, const float* rois, int64_t n) {
  NC_GRID_STRIDE_LOOP(i, n) {
    const int64_t pw = i % p.pooledW, ph = (i / p.pooledW) % p.pooledH;
    const int64_t c = (i / (p.pooledW * p.pooledH)) % x.shape[1], k = i / (p.pooledW * p.pooledH * x.shape[1]);
    const float* roi = rois + k * 5;
    if (!kernels::roiBatchInRange(roi, x.shape[0])) {
      out[i] = 0.0f;
      continue;
    }
    kernels::GatherTaps visit{input + static_cast<int64_t>(roi[0]) * x.strides[0] + c * x.strides[1]};
    kernels::bilinearBinTaps(p, roi, x.shape[2], x.shape[3], x.strides[2], x.strides[3], ph, pw, visit);
    out[i] = visit.sum;
  }
}

__global__ void backwardKernel(RoiAlignParams p, float* gradInput, Layout gi, const float* gradOutput, Layout go,
                               const float* rois, int64_t n) {
  NC_GRID_STRIDE_LOOP(i, n) {
    const int64_t pw = i % p.pooledW, ph = (i / p.pooledW) % p.pooledH;
    const int64_t c = (i / (p.pooledW * p.pooledH)) % gi.shape[1], k = i / (p.pooledW * p.pooledH * gi.shape[1]);
    const float* roi = rois + k * 5;
    if (!kernels::roiBatchInRange(roi, gi.shape[0])) continue;
    AtomicScatterTaps visit{gradInput + static_cast<int64_t>(roi[0]) * gi.strides[0] + c * gi.strides[1],
                            gradOutput[k * go.strides[0] + c * go.strides[1] + ph * go.strides[2] + pw * go.strides[3]]};
    kernels::bilinearBinTaps(p, roi, gi.shape[2], gi.shape[3], gi.strides[2], gi.strides[3], ph, pw, visit);
  }
}

}  // namespace

void checkRoiBatches(DeviceHandles& h, const char* op, const TensorRef& rois, int64_t batch) {
  // Checked on the host, as the CPU does, so both raise the same IndexError: a copy of the
  // K rois, then a wait for it.
  const int64_t count = rois.layout.shape[0];
  if (count == 0) return;
  std::vector<float> host(static_cast<size_t>(count) * 5);
  check(cudaMemcpyAsync(host.data(), rois.data, host.size() * sizeof(float), cudaMemcpyDeviceToHost, h.stream()), op);
  check(cudaStreamSynchronize(h.stream()), op);
  const std::string bad = kernels::roiBatchError(op, host.data(), count, batch);
  if (!bad.empty()) fail(ErrorKind::Index, bad);
}

void roiAlignForward(DeviceHandles& h, const RoiAlignParams& p, const TensorRef& out, const TensorRef& input,
                     const TensorRef& rois) {
  checkRoiBatches(h, "roiAlign", rois, input.layout.shape[0]);
  const int64_t n = out.numel();
  if (n == 0) return;
  forwardKernel<<<gridFor(n), kBlockSize, 0, h.stream()>>>(p, out.as<float>(), input.as<float>(), input.layout,
                                                          rois.as<float>(), n);
  checkLaunch("roiAlign");
}

void roiAlignBackward(DeviceHandles& h, const RoiAlignParams& p, const TensorRef& gradInput,
                      const TensorRef& gradOutput, const TensorRef& rois) {
  check(cudaMemsetAsync(gradInput.data, 0, static_cast<size_t>(gradInput.numel()) * sizeof(float), h.stream()),
        "roiAlignBackward");
  const int64_t n = gradOutput.numel();
  if (n == 0) return;
  backwardKernel<<<gridFor(n), kBlockSize, 0, h.stream()>>>(p, gradInput.as<float>(), gradInput.layout,
                                                           gradOutput.as<float>(), gradOutput.layout,
                                                           rois.as<float>(), n);
  checkLaunch("roiAlignBackward");
}

// The primitives this file implements (neocog/primitives.def).
void CudaBackend::roiAlignForward(const RoiAlignParams& params, Out out, In input, In rois) {
  cuda::roiAlignForward(handles_, params, out, input, rois);
}
void CudaBackend::roiAlignBackward(const RoiAlignParams& params, Out gradInput, In gradOutput, In rois) {
  cuda::roiAlignBackward(handles_, params, gradInput, gradOutput, rois);
}

}  // namespace neocog::cuda
