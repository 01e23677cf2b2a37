// A block of device memory that one or more tensors view. A failed kernel "poisons" the
// storages it was writing, and reading them reports that failure instead of garbage.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>

#include "core/error_state.h"
#include "neocog/device.h"

namespace neocog {

struct DeviceContext;
struct LibraryHandle;

class Storage {
 public:
  Storage(std::shared_ptr<DeviceContext> context, size_t bytes);
  // CPU memory page-locked by the CUDA plugin (kept loaded while the storage lives).
  Storage(std::shared_ptr<DeviceContext> cpuContext, size_t bytes, std::shared_ptr<LibraryHandle> pinnedBy);
  // Host memory someone else owns (a SharedArrayBuffer's bytes, issue 15): the allocator
  // neither made it nor frees it, and it is not counted in its stats. `release` runs once,
  // when the storage dies, on whichever thread drops the last reference (a stream thread
  // after a queued op, as often as the JavaScript thread); it must not throw.
  Storage(std::shared_ptr<DeviceContext> cpuContext, void* borrowed, size_t bytes, std::function<void()> release);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Device device() const;
  DeviceContext& context() const { return *context_; }
  bool pinned() const { return pinnedBy_ != nullptr; }
  bool borrowed() const { return static_cast<bool>(releaseBorrowed_); }

  ErrorPtr poison() const;
  void setPoison(ErrorPtr error);

 private:
  std::shared_ptr<DeviceContext> context_;
  std::shared_ptr<LibraryHandle> pinnedBy_;
  std::function<void()> releaseBorrowed_;  // set only for borrowed memory
  size_t bytes_;
  void* data_ = nullptr;
  mutable std::mutex poisonMutex_;
  ErrorPtr poison_;
};

using StoragePtr = std::shared_ptr<Storage>;

}  // namespace neocog
