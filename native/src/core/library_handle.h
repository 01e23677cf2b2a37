// The dlopen'ed CUDA plugin: its handle and the DevicePlugin object it created.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "neocog/plugin.h"

namespace neocog {

class DlHandle {
 public:
  DlHandle() = default;
  // RTLD_NODELETE: the CUDA runtime inside the plugin registers exit handlers, so its code
  // must stay mapped even after the last handle closes.
  static DlHandle open(const std::string& path, bool global, std::string* error);
  ~DlHandle();
  DlHandle(DlHandle&& other) noexcept : handle_(other.handle_) { other.handle_ = nullptr; }
  DlHandle& operator=(DlHandle&& other) noexcept;
  DlHandle(const DlHandle&) = delete;
  DlHandle& operator=(const DlHandle&) = delete;

  explicit operator bool() const { return handle_ != nullptr; }
  void* symbol(const char* name) const;

 private:
  void* handle_ = nullptr;
};

struct LibraryHandle {
  std::vector<DlHandle> dependencies;  // cuDNN / cuBLAS, preloaded in order
  DlHandle library;
  std::unique_ptr<DevicePlugin> plugin;  // destroyed before the handles above close

  ~LibraryHandle() { plugin.reset(); }
};

// Preloads `dependencies` (absolute paths) globally, then opens the plugin and creates its
// DevicePlugin. Throws Error(Device) naming the library that failed.
std::shared_ptr<LibraryHandle> loadDevicePlugin(const std::string& pluginPath,
                                                const std::vector<std::string>& dependencies);

}  // namespace neocog
