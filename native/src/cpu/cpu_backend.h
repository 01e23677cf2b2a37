// The CPU backend. Each primitive of neocog/primitives.def is defined at the bottom of the
// cpu/<topic>.cc that implements it; this class only lists them (from the declaration) and
// holds what the kernels share.
#pragma once

#include <atomic>

#include "cpu/dnnl_context.h"
#include "neocog/backend.h"

namespace neocog::cpu {

class CpuBackend final : public Backend {
 public:
  Device device() const override { return Device{DeviceType::CPU, 0}; }
  bool hostAccessible() const override { return true; }
  bool runsInline(const char* primitive, size_t bytes) const override;
  void setHostThreads(int threads) override;
  int hostThreads() const override { return threads_.load(std::memory_order_relaxed); }

  void* rawAllocate(size_t bytes) override;
  void rawFree(void* ptr, size_t bytes) noexcept override;
  void copyToHost(void* dst, const void* src, size_t bytes) override;
  void copyFromHost(void* dst, const void* src, size_t bytes) override;
  void synchronize() override {}

#define NEOCOG_PRIMITIVE(name, ...) void name(__VA_ARGS__) override;
#include "neocog/primitives.def"
#undef NEOCOG_PRIMITIVE

 private:
  DnnlContext dnnl_;  // oneDNN engine, stream and primitive cache (stream thread only)
  std::atomic<int> threads_{defaultThreads()};  // written on the stream thread, read on any

  static int defaultThreads();
};

// Writes `value` into every element of out (kernels that must zero an output use it too).
void fill(const TensorRef& out, double value);

}  // namespace neocog::cpu
