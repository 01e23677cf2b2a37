// The boundary between the addon and the dlopen'ed CUDA plugin (libneocog_cuda.so).
// Both sides are built from these headers by the same compiler in one CMake project, so
// C++ types (std::string, std::unique_ptr, virtual classes) may cross it; the ABI id,
// a hash of the public headers and the compiler computed by CMakeLists.txt, refuses a
// stale plugin next to a newer addon.
#pragma once

#include <memory>
#include <string>

#include "neocog/backend.h"
#include "neocog/communicator.h"

namespace neocog {

#ifndef NEOCOG_PLUGIN_ABI
#error "NEOCOG_PLUGIN_ABI is defined by CMakeLists.txt (a hash of the plugin boundary's headers)"
#endif
constexpr const char* kPluginAbi = NEOCOG_PLUGIN_ABI;

struct DeviceProperties {
  std::string name;
  size_t totalMemory = 0;
  int major = 0;
  int minor = 0;
  int multiProcessorCount = 0;
  int cudnnVersion = 0;
  int cublasVersion = 0;
  int runtimeVersion = 0;
  int driverVersion = 0;
};

class DevicePlugin {
 public:
  virtual ~DevicePlugin() = default;
  // Number of usable devices; throws Error(Device) with the runtime's reason when the
  // driver is missing or too old.
  virtual int deviceCount() = 0;
  virtual DeviceProperties properties(int device) = 0;
  virtual std::unique_ptr<Backend> createBackend(int device) = 0;
  // Page-locked host memory (Tensor.pinMemory): copies between it and a GPU go by DMA
  // without the driver's staging buffer. Throws Error(OutOfMemory) when none is left.
  virtual void* allocatePinned(size_t bytes) = 0;
  virtual void freePinned(void* ptr) noexcept = 0;

  // NCCL (issue 18). Rank 0 makes the unique id (ncclGetUniqueId, 128 bytes as a string)
  // and the job hands it to the other ranks (TCP store); every rank then creates its
  // communicator on `backend`, one this plugin created, whose CUDA stream its collectives
  // are queued on (so they are ordered with the device's kernels). Throws Error(Distributed)
  // with NCCL's message. (The plugin links libnccl.so.2, which lib/cuda.ts preloads.)
  virtual std::string ncclUniqueId() = 0;
  virtual std::unique_ptr<Communicator> createCommunicator(Backend& backend, const std::string& uniqueId, int rank,
                                                           int size) = 0;
};

}  // namespace neocog

// Entry point looked up with dlsym. Returns 0 and fills *out, or non-zero and fills *error.
extern "C" __attribute__((visibility("default"))) int neocog_cuda_plugin_create(const char* abi, std::unique_ptr<neocog::DevicePlugin>* out,
                                         std::string* error);
