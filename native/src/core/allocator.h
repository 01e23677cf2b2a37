// Caching allocator (DESIGN §2, §4): freed blocks go to per-size free lists and are reused
// by the next request of the same rounded size, which is what a training loop does every
// step. Thread-safe: storages die on the stream thread as often as on the main thread.
// Reuse is stream-ordered: a block is only returned once no queued task references it,
// and each device has one stream, so a later kernel cannot overtake an earlier one.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <vector>

#include "core/spin_lock.h"
#include "neocog/backend.h"

namespace neocog {

struct AllocatorStats {
  size_t allocatedBytes = 0;  // held by live storages
  size_t cachedBytes = 0;     // free blocks kept for reuse
  size_t peakBytes = 0;
};

class CachingAllocator {
 public:
  explicit CachingAllocator(Backend& backend) : backend_(backend) {}
  ~CachingAllocator();
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  static size_t roundSize(size_t bytes);
  // Returns a block of at least roundSize(bytes) bytes. On device OOM releases the cache and
  // retries once, then throws Error(OutOfMemory).
  void* allocate(size_t bytes);
  void release(void* ptr, size_t bytes) noexcept;
  void emptyCache() noexcept;
  AllocatorStats stats() const;

 private:
  Backend& backend_;
  mutable SpinLock mutex_;  // held for a lookup and a push or pop: see spin_lock.h
  std::map<size_t, std::vector<void*>> freeBlocks_;
  AllocatorStats stats_;
};

}  // namespace neocog
