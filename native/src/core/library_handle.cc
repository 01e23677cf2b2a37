#include "core/library_handle.h"

#include <dlfcn.h>

#include "neocog/error.h"

namespace neocog {

DlHandle DlHandle::open(const std::string& path, bool global, std::string* error) {
  DlHandle result;
  dlerror();
  result.handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_NODELETE | (global ? RTLD_GLOBAL : RTLD_LOCAL));
  if (!result.handle_ && error) {
    const char* message = dlerror();
    *error = message ? message : "dlopen failed";
  }
  return result;
}

DlHandle::~DlHandle() {
  if (handle_) dlclose(handle_);
}

DlHandle& DlHandle::operator=(DlHandle&& other) noexcept {
  if (this != &other) {
    if (handle_) dlclose(handle_);
    handle_ = other.handle_;
    other.handle_ = nullptr;
  }
  return *this;
}

void* DlHandle::symbol(const char* name) const { return handle_ ? dlsym(handle_, name) : nullptr; }

std::shared_ptr<LibraryHandle> loadDevicePlugin(const std::string& pluginPath,
                                                const std::vector<std::string>& dependencies) {
  auto loaded = std::make_shared<LibraryHandle>();
  std::string error;
  for (const auto& path : dependencies) {
    DlHandle dep = DlHandle::open(path, /*global=*/true, &error);
    if (!dep) fail(ErrorKind::Device, "cannot load " + path + ": " + error);
    loaded->dependencies.push_back(std::move(dep));
  }
  loaded->library = DlHandle::open(pluginPath, /*global=*/false, &error);
  if (!loaded->library) fail(ErrorKind::Device, "cannot load the CUDA plugin " + pluginPath + ": " + error);

  using CreateFn = int (*)(const char*, std::unique_ptr<DevicePlugin>*, std::string*);
  auto create = reinterpret_cast<CreateFn>(loaded->library.symbol("neocog_cuda_plugin_create"));
  if (!create) fail(ErrorKind::Device, pluginPath + " is not a neocog CUDA plugin (no neocog_cuda_plugin_create)");
  if (create(kPluginAbi, &loaded->plugin, &error) != 0 || !loaded->plugin) {
    fail(ErrorKind::Device, "the CUDA plugin failed to start: " + error);
  }
  return loaded;
}

}  // namespace neocog
