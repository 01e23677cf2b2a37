// Everything one device needs: its backend, allocator and ordered stream. Storages hold a
// shared_ptr to their context, so a device's memory outlives any queue or runtime teardown.
#pragma once

#include <memory>

#include "core/allocator.h"
#include "core/stream.h"
#include "neocog/backend.h"

namespace neocog {

// Keeps the shared object that implements `backend` mapped while any context uses it.
struct LibraryHandle;

struct DeviceContext {
  DeviceContext(std::shared_ptr<LibraryHandle> library, std::unique_ptr<Backend> backend,
                Stream::ErrorSink onError);

  // Declaration order is destruction order in reverse: the stream stops first, then the
  // allocator returns its cache to the backend, then the backend and its library go.
  std::shared_ptr<LibraryHandle> library;
  std::unique_ptr<Backend> backend;
  CachingAllocator allocator;
  Stream stream;
};

}  // namespace neocog
