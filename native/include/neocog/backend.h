// The primitive-op interface every device implements (DESIGN §4). The CPU backend lives in
// the addon; the CUDA backend lives in the neocog_cuda plugin and is reached through
// plugin.h. The primitives themselves are declared once, in primitives.def. Methods run on
// the device's stream thread, one at a time, in order; arguments were validated in
// TypeScript and by the backstops of core/backstops.h, so backends check only what would
// corrupt memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "neocog/device.h"
#include "neocog/layout.h"
#include "neocog/op_params.h"

namespace neocog {

class Backend {
 public:
  virtual ~Backend() = default;

  virtual Device device() const = 0;
  // True when the main thread may read/write device memory directly (CPU).
  virtual bool hostAccessible() const = 0;
  // Called on the stream thread before each primitive (CUDA: makes the device current).
  virtual void activate() {}
  // Whether `primitive` may run on the calling (JavaScript) thread when the stream is idle
  // and its operands total `bytes`: a kernel that takes well under a microsecond costs more
  // to hand to the stream thread than to run (issue 11). Only serial host kernels qualify.
  virtual bool runsInline(const char* primitive, size_t bytes) const {
    (void)primitive;
    (void)bytes;
    return false;
  }
  // Threads the host kernels of this device's stream use (CPU: the OpenMP team oneDNN and
  // our kernels share), as torch.set_num_threads. setHostThreads runs on the stream thread,
  // whose OpenMP settings are its own; hostThreads gives the count last applied there (or
  // the default) and may be read from any thread. Devices without host kernels ignore both.
  virtual void setHostThreads(int threads) { (void)threads; }
  virtual int hostThreads() const { return 1; }

  // Memory. rawAllocate throws Error(OutOfMemory) when the device is full; the caching
  // allocator in core retries once after releasing its cache. rawFree gets the bytes that
  // rawAllocate was asked for.
  virtual void* rawAllocate(size_t bytes) = 0;
  virtual void rawFree(void* ptr, size_t bytes) noexcept = 0;
  // Copies complete before returning (they are ordered on this device's stream).
  virtual void copyToHost(void* dst, const void* src, size_t bytes) = 0;
  virtual void copyFromHost(void* dst, const void* src, size_t bytes) = 0;
  virtual void synchronize() = 0;

  // The primitives (primitives.def).
#define NEOCOG_PRIMITIVE(name, ...) virtual void name(__VA_ARGS__) = 0;
#include "neocog/primitives.def"
#undef NEOCOG_PRIMITIVE
};

// The CPU backend (native/src/cpu), part of the addon itself.
std::unique_ptr<Backend> makeCpuBackend();

}  // namespace neocog
