#include "core/device_context.h"

namespace neocog {

DeviceContext::DeviceContext(std::shared_ptr<LibraryHandle> library_, std::unique_ptr<Backend> backend_,
                             Stream::ErrorSink onError)
    : library(std::move(library_)),
      backend(std::move(backend_)),
      allocator(*backend),
      stream(backend->device().str(), std::move(onError)) {}

}  // namespace neocog
