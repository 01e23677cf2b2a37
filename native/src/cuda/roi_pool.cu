// RoI max pooling forward and backward on the GPU (math in kernels/roi_pool.h): one thread
// per output bin; the backward scatters with atomicAdd, as torchvision's kernel does.
#include "cuda/check.h"
#include "cuda/cuda_backend.h"
#include "cuda/launch.h"
#include "kernels/roi_pool.h"

namespace neocog::cuda {

namespace {

__global__ void forwardKernel(RoiPoolParams p, float* out, int32_t* argmax, const float* input, Layout x,
                              const float* rois, int64_t n) {
  NC_GRID_STRIDE_LOOP(i, n) {
    const int64_t pw = i % p.pooledW, ph = (i / p.pooledW) % p.pooledH;
    const int64_t c = (i / (p.pooledW * p.pooledH)) % x.shape[1], k = i / (p.pooledW * p.pooledH * x.shape[1]);
    const float* roi = rois + k * 5;
    const float* plane = input + static_cast<int64_t>(roi[0]) * x.strides[0] + c * x.strides[1];
    out[i] = kernels::roiPoolMax(kernels::roiPoolBin(p, roi, x.shape[2], x.shape[3], ph, pw), plane, x.shape[3],
                                 x.strides[2], x.strides[3], argmax + i);
  }
}

__global__ void backwardKernel(RoiPoolParams p, float* gradInput, Layout gi, const float* gradOutput, Layout go,
                               const int32_t* argmax, const float* rois, int64_t n) {
  NC_GRID_STRIDE_LOOP(i, n) {
    const int32_t at = argmax[i];
    if (at < 0) continue;
    const int64_t pw = i % p.pooledW, ph = (i / p.pooledW) % p.pooledH;
    const int64_t c = (i / (p.pooledW * p.pooledH)) % gi.shape[1], k = i / (p.pooledW * p.pooledH * gi.shape[1]);
    const float* roi = rois + k * 5;
    if (!kernels::roiBatchInRange(roi, gi.shape[0])) continue;
    float* plane = gradInput + static_cast<int64_t>(roi[0]) * gi.strides[0] + c * gi.strides[1];
    atomicAdd(plane + (at / gi.shape[3]) * gi.strides[2] + (at % gi.shape[3]) * gi.strides[3],
              gradOutput[k * go.strides[0] + c * go.strides[1] + ph * go.strides[2] + pw * go.strides[3]]);
  }
}

}  // namespace

void roiPoolForward(DeviceHandles& h, const RoiPoolParams& p, const TensorRef& out, const TensorRef& argmax,
                    const TensorRef& input, const TensorRef& rois) {
  checkRoiBatches(h, "roiPool", rois, input.layout.shape[0]);
  const int64_t n = out.numel();
  if (n == 0) return;
  forwardKernel<<<gridFor(n), kBlockSize, 0, h.stream()>>>(p, out.as<float>(), argmax.as<int32_t>(), input.as<float>(),
                                                          input.layout, rois.as<float>(), n);
  checkLaunch("roiPool");
}

void roiPoolBackward(DeviceHandles& h, const RoiPoolParams& p, const TensorRef& gradInput, const TensorRef& gradOutput,
                     const TensorRef& argmax, const TensorRef& rois) {
  check(cudaMemsetAsync(gradInput.data, 0, static_cast<size_t>(gradInput.numel()) * sizeof(float), h.stream()),
        "roiPoolBackward");
  const int64_t n = gradOutput.numel();
  if (n == 0) return;
  backwardKernel<<<gridFor(n), kBlockSize, 0, h.stream()>>>(p, gradInput.as<float>(), gradInput.layout,
                                                           gradOutput.as<float>(), gradOutput.layout,
                                                           argmax.as<int32_t>(), rois.as<float>(), n);
  checkLaunch("roiPoolBackward");
}

// The primitives this file implements (neocog/primitives.def).
void CudaBackend::roiPoolForward(const RoiPoolParams& params, Out out, Out argmax, In input, In rois) {
  cuda::roiPoolForward(handles_, params, out, argmax, input, rois);
}
void CudaBackend::roiPoolBackward(const RoiPoolParams& params, Out gradInput, In gradOutput, In argmax, In rois) {
  cuda::roiPoolBackward(handles_, params, gradInput, gradOutput, argmax, rois);
}

}  // namespace neocog::cuda
