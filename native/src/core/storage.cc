#include "core/storage.h"

#include "core/device_context.h"
#include "core/library_handle.h"

namespace neocog {

Storage::Storage(std::shared_ptr<DeviceContext> context, size_t bytes)
    : context_(std::move(context)), bytes_(bytes) {
  if (bytes_ > 0) data_ = context_->allocator.allocate(bytes_);
}

Storage::Storage(std::shared_ptr<DeviceContext> cpuContext, size_t bytes, std::shared_ptr<LibraryHandle> pinnedBy)
    : context_(std::move(cpuContext)), pinnedBy_(std::move(pinnedBy)), bytes_(bytes) {
  if (bytes_ > 0) data_ = pinnedBy_->plugin->allocatePinned(bytes_);
}

Storage::Storage(std::shared_ptr<DeviceContext> cpuContext, void* borrowed, size_t bytes, std::function<void()> release)
    : context_(std::move(cpuContext)), releaseBorrowed_(std::move(release)), bytes_(bytes), data_(borrowed) {}

Storage::~Storage() {
  if (releaseBorrowed_) {
    releaseBorrowed_();
    return;
  }
  if (pinnedBy_) {
    if (data_) pinnedBy_->plugin->freePinned(data_);
    return;
  }
  context_->allocator.release(data_, bytes_);
}

Device Storage::device() const { return context_->backend->device(); }

ErrorPtr Storage::poison() const {
  std::lock_guard<std::mutex> lock(poisonMutex_);
  return poison_;
}

void Storage::setPoison(ErrorPtr error) {
  std::lock_guard<std::mutex> lock(poisonMutex_);
  poison_ = std::move(error);
}

}  // namespace neocog
