#include "core/allocator.h"

#include <algorithm>

#include "neocog/error.h"

namespace neocog {

namespace {
constexpr size_t kSmallGranule = 512;
constexpr size_t kLargeThreshold = size_t{1} << 20;
constexpr size_t kLargeGranule = size_t{64} << 10;
}  // namespace

CachingAllocator::~CachingAllocator() { emptyCache(); }

size_t CachingAllocator::roundSize(size_t bytes) {
  const size_t granule = bytes < kLargeThreshold ? kSmallGranule : kLargeGranule;
  return std::max(granule, (bytes + granule - 1) / granule * granule);
}

void* CachingAllocator::allocate(size_t bytes) {
  const size_t size = roundSize(bytes);
  {
    std::lock_guard<SpinLock> lock(mutex_);
    auto it = freeBlocks_.find(size);
    if (it != freeBlocks_.end() && !it->second.empty()) {
      void* ptr = it->second.back();
      it->second.pop_back();
      stats_.cachedBytes -= size;
      stats_.allocatedBytes += size;
      stats_.peakBytes = std::max(stats_.peakBytes, stats_.allocatedBytes);
      return ptr;
    }
  }
  void* ptr = nullptr;
  try {
    ptr = backend_.rawAllocate(size);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::OutOfMemory) throw;
    emptyCache();
    ptr = backend_.rawAllocate(size);  // a second failure propagates to the caller
  }
  std::lock_guard<SpinLock> lock(mutex_);
  stats_.allocatedBytes += size;
  stats_.peakBytes = std::max(stats_.peakBytes, stats_.allocatedBytes);
  return ptr;
}

void CachingAllocator::release(void* ptr, size_t bytes) noexcept {
  if (ptr == nullptr) return;
  const size_t size = roundSize(bytes);
  std::lock_guard<SpinLock> lock(mutex_);
  try {
    freeBlocks_[size].push_back(ptr);
    stats_.cachedBytes += size;
  } catch (...) {
    backend_.rawFree(ptr, size);  // could not record it: give it back instead of leaking
  }
  stats_.allocatedBytes -= size;
}

void CachingAllocator::emptyCache() noexcept {
  std::lock_guard<SpinLock> lock(mutex_);
  for (auto& [size, blocks] : freeBlocks_) {
    for (void* ptr : blocks) backend_.rawFree(ptr, size);
  }
  freeBlocks_.clear();
  stats_.cachedBytes = 0;
}

AllocatorStats CachingAllocator::stats() const {
  std::lock_guard<SpinLock> lock(mutex_);
  return stats_;
}

}  // namespace neocog
