// Fused multi-tensor optimizer step on the GPU (math in kernels/optim.h): one launch for
// every parameter of the step, as apex's multi_tensor_apply does. Each block owns a fixed
// slice of one tensor; a table of the tensors (with each one's first block) sits in device
// memory, and a block finds its tensor by binary search.
#include <vector>

#include "cuda/check.h"
#include "cuda/cudnn_desc.h"
#include "cuda/launch.h"
#include "cuda/cuda_backend.h"
#include "kernels/optim.h"

namespace neocog::cuda {

namespace {

constexpr int64_t kElementsPerBlock = 4096;

struct TensorSlot {
  float* param;
  const float* grad;
  float* state[3];
  int64_t numel;
  int64_t firstBlock;
};

// The table entry whose blocks include this block (entries are sorted by firstBlock).
template <typename Slot>
__device__ const Slot& slotOfBlock(const Slot* slots, int count) {
  int lo = 0, hi = count - 1;
  const int64_t block = blockIdx.x;
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (slots[mid].firstBlock <= block) lo = mid;
    else hi = mid - 1;
  }
  return slots[lo];
}

template <OptimizerKind Kind>
__global__ void optimizerKernel(OptimizerStep step, const TensorSlot* slots, int count) {
  const TensorSlot& t = slotOfBlock(slots, count);
  const int64_t begin = (static_cast<int64_t>(blockIdx.x) - t.firstBlock) * kElementsPerBlock;
  const int64_t end = begin + kElementsPerBlock < t.numel ? begin + kElementsPerBlock : t.numel;
  float unused[3];
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
    kernels::optimizerUpdate<Kind>(step, t.param + i, t.grad[i], t.state[0] ? t.state[0] + i : &unused[0],
                             t.state[1] ? t.state[1] + i : &unused[1], t.state[2] ? t.state[2] + i : &unused[2]);
  }
}

struct GradientSlot {
  float* grad;
  int64_t numel;
  int64_t firstBlock;
};

// One launch over every gradient (the same block table as the optimizer's). Any thread that
// sees inf/NaN stores 1 into foundInf; the stores race benignly (all write the same value).
__global__ void unscaleKernel(const GradientSlot* slots, int count, float inverseScale, float* foundInf) {
  const GradientSlot& t = slotOfBlock(slots, count);
  const int64_t begin = (static_cast<int64_t>(blockIdx.x) - t.firstBlock) * kElementsPerBlock;
  const int64_t end = begin + kElementsPerBlock < t.numel ? begin + kElementsPerBlock : t.numel;
  bool finite = true;
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) finite = kernels::unscaleElement(t.grad + i, inverseScale) && finite;
  if (!finite) *foundInf = 1.0f;
}

}  // namespace

void unscaleGradients(DeviceHandles& h, const std::vector<TensorRef>& grads, float inverseScale, const TensorRef& foundInf) {
  std::vector<GradientSlot> slots;
  int64_t blocks = 0;
  for (const TensorRef& g : grads) {
    const int64_t n = g.numel();
    if (n == 0) continue;
    slots.push_back({g.as<float>(), n, blocks});
    blocks += (n + kElementsPerBlock - 1) / kElementsPerBlock;
  }
  if (slots.empty()) return;
  const size_t bytes = slots.size() * sizeof(GradientSlot);
  StreamBuffer table(bytes, h.stream());
  check(cudaMemcpyAsync(table.get(), slots.data(), bytes, cudaMemcpyHostToDevice, h.stream()), "unscaleGradients");
  unscaleKernel<<<static_cast<unsigned>(blocks), kBlockSize, 0, h.stream()>>>(
      static_cast<const GradientSlot*>(table.get()), static_cast<int>(slots.size()), inverseScale, foundInf.as<float>());
  checkLaunch("unscaleGradients");
}

void optimizerStep(DeviceHandles& h, const OptimizerStep& step, const std::vector<OptimizerTensors>& tensors) {
  std::vector<TensorSlot> slots;
  int64_t blocks = 0;
  for (const OptimizerTensors& t : tensors) {
    const int64_t n = t.param.numel();
    if (n == 0) continue;
    TensorSlot slot{t.param.as<float>(), t.grad.as<float>(), {}, n, blocks};
    for (int k = 0; k < 3; ++k) slot.state[k] = t.state[k].as<float>();
    slots.push_back(slot);
    blocks += (n + kElementsPerBlock - 1) / kElementsPerBlock;
  }
  if (slots.empty()) return;
  const size_t bytes = slots.size() * sizeof(TensorSlot);
  StreamBuffer table(bytes, h.stream());
  // From pageable memory the copy is staged before the call returns, so `slots` may go.
  check(cudaMemcpyAsync(table.get(), slots.data(), bytes, cudaMemcpyHostToDevice, h.stream()), "optimizerStep");
  const auto* device = static_cast<const TensorSlot*>(table.get());
  const int count = static_cast<int>(slots.size());
  const unsigned grid = static_cast<unsigned>(blocks);
  switch (step.kind) {
    case OptimizerKind::Sgd: optimizerKernel<OptimizerKind::Sgd><<<grid, kBlockSize, 0, h.stream()>>>(step, device, count); break;
    case OptimizerKind::Adam: optimizerKernel<OptimizerKind::Adam><<<grid, kBlockSize, 0, h.stream()>>>(step, device, count); break;
    case OptimizerKind::RmsProp:
      optimizerKernel<OptimizerKind::RmsProp><<<grid, kBlockSize, 0, h.stream()>>>(step, device, count);
      break;
  }
  checkLaunch("optimizerStep");
}

// The primitives this file implements (neocog/primitives.def).
void CudaBackend::optimizerStep(const OptimizerStep& step, const std::vector<OptimizerTensors>& tensors) {
  cuda::optimizerStep(handles_, step, tensors);
}
void CudaBackend::unscaleGradients(InOutList grads, float inverseScale, InOut foundInf) {
  cuda::unscaleGradients(handles_, grads, inverseScale, foundInf);
}

}  // namespace neocog::cuda
