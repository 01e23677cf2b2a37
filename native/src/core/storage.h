// A block of device memory that one or more tensors view. A failed kernel "poisons" the
// storages it was writing, and reading them reports that failure instead of garbage.
#pragma once

#include <cstddef>
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
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Device device() const;
  DeviceContext& context() const { return *context_; }
  bool pinned() const { return pinnedBy_ != nullptr; }

  ErrorPtr poison() const;
  void setPoison(ErrorPtr error);

 private:
  std::shared_ptr<DeviceContext> context_;
  std::shared_ptr<LibraryHandle> pinnedBy_;
  size_t bytes_;
  void* data_ = nullptr;
  mutable std::mutex poisonMutex_;
  ErrorPtr poison_;
};

using StoragePtr = std::shared_ptr<Storage>;

}  // namespace neocog
