// Per-addon-instance state (one per Node.js environment, so one per worker thread): the
// devices' contexts, the CUDA plugin once loaded, and the error a queued kernel left
// pending. No global mutable state: several instances run side by side.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/device_context.h"
#include "core/error_state.h"
#include "core/library_handle.h"
#include "core/storage.h"
#include "neocog/plugin.h"

namespace neocog {

class Runtime {
 public:
  explicit Runtime(bool syncMode);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  bool syncMode() const { return syncMode_; }
  // Drops the work still queued on every stream and joins their threads (a kernel that is
  // running finishes first). Later submissions fail. Idempotent; also run by ~Runtime.
  void shutdown() noexcept;

  // The context of a device; CUDA devices need loadCuda() first.
  std::shared_ptr<DeviceContext> context(Device device);
  StoragePtr allocate(Device device, size_t bytes);
  // CPU memory page-locked through the CUDA plugin; throws Error(Device) without a GPU.
  StoragePtr allocatePinned(size_t bytes);
  // A CPU storage over host memory owned elsewhere (Storage's borrowing constructor).
  StoragePtr borrowHost(void* data, size_t bytes, std::function<void()> release);

  // CUDA plugin. loadCuda is idempotent once it succeeded.
  void loadCuda(const std::string& pluginPath, const std::vector<std::string>& dependencies);
  bool cudaLoaded() const { return cudaLibrary_ != nullptr; }
  int cudaDeviceCount();
  // The loaded plugin (NCCL lives there); throws Error(Device) before loadCuda().
  DevicePlugin& cudaPlugin();
  DeviceProperties cudaProperties(int device);

  // Throws (and clears) the error a queued kernel raised since the last op, if any.
  void throwPendingError();
  // Forgets the pending error when it has been delivered another way (a rejected read).
  void errorDelivered(const ErrorPtr& error);

  // Enqueues `task` on `context`'s stream, or with `mayRunInline` runs it here when the
  // stream is idle (Stream::runInlineIfIdle). In sync mode (NEOCOG_SYNC=1) waits for it and
  // throws its error here.
  void submit(DeviceContext& context, Task task, bool mayRunInline = false);

  // Copies bytes between storages on different devices, ordered after the work already
  // queued on both streams and before anything queued on them later.
  void transfer(const StoragePtr& dst, size_t dstOffset, const StoragePtr& src, size_t srcOffset, size_t bytes);

 private:
  void recordError(const ErrorPtr& error);
  std::shared_ptr<DeviceContext> makeContext(std::shared_ptr<LibraryHandle> library, std::unique_ptr<Backend> backend);

  bool syncMode_;
  std::shared_ptr<LibraryHandle> cudaLibrary_;
  int cudaDeviceCount_ = -1;  // asked once: the count does not change within a process
  std::shared_ptr<DeviceContext> cpu_;
  std::vector<std::shared_ptr<DeviceContext>> cuda_;
  std::mutex pendingMutex_;
  ErrorPtr pending_;
  // Whether pending_ is set, read without the mutex: every op checks it, and it is almost
  // always false.
  std::atomic<bool> hasPending_{false};
};

}  // namespace neocog
