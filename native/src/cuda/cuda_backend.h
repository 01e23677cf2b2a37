// The CUDA backend: one per device, driven by that device's stream thread in the addon.
// Kernels are enqueued on the device's cudaStream_t and run asynchronously; copies to the
// host and synchronize() wait for the stream. Each primitive of neocog/primitives.def is
// defined at the bottom of the cuda/<topic>.cu that implements it; this class only lists
// them (from the declaration) and holds what the kernels share.
#pragma once

#include <memory>

#include "cuda/conv_plan.h"
#include "cuda/handles.h"
#include "neocog/backend.h"

namespace neocog::cuda {

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(int device) : handles_(device) {}

  Device device() const override { return Device{DeviceType::CUDA, handles_.device()}; }
  bool hostAccessible() const override { return false; }
  void activate() override { handles_.activate(); }

  void* rawAllocate(size_t bytes) override;
  void rawFree(void* ptr, size_t bytes) noexcept override;
  void copyToHost(void* dst, const void* src, size_t bytes) override;
  void copyFromHost(void* dst, const void* src, size_t bytes) override;
  void synchronize() override;
  // The stream and device the NCCL communicator queues its collectives on (nccl_communicator.cu).
  DeviceHandles& handles() { return handles_; }

#define NEOCOG_PRIMITIVE(name, ...) void name(__VA_ARGS__) override;
#include "neocog/primitives.def"
#undef NEOCOG_PRIMITIVE

 private:
  DeviceHandles handles_;
  ConvPlanCache convPlans_;  // destroyed before the handles
};

// Raises the roi kernels' IndexError for a roi of rois [K, 5] (on the device) whose batch
// index names no image of a batch of `batch` (cuda/roi_align.cu; waits for the stream).
void checkRoiBatches(DeviceHandles& h, const char* op, const TensorRef& rois, int64_t batch);

// out = op(in) elementwise on the stream (cuda/unary.cu); conv.cu applies a fused activation with it.
void unary(DeviceHandles& h, UnaryOp op, const TensorRef& out, const TensorRef& in, double alpha);

}  // namespace neocog::cuda
