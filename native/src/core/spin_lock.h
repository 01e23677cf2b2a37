// A lock for critical sections of a few instructions that two threads take at a high rate:
// the caching allocator's free lists, taken by the JavaScript thread allocating each small
// op's output and by the stream thread releasing the last one's. A std::mutex there was
// contended often enough that both threads paid futex calls, each costing microseconds in
// these VMs (issue 11: dispatch of a 16-element add). A waiter spins briefly, then yields
// its core, so a preempted holder is not waited for at full speed.
#pragma once

#include <atomic>
#include <thread>

namespace neocog {

class SpinLock {
 public:
  void lock() noexcept {
    for (int attempt = 0; locked_.exchange(true, std::memory_order_acquire); ++attempt) {
      while (locked_.load(std::memory_order_relaxed)) {
        if (attempt < 64) {
#if defined(__x86_64__) || defined(__i386__)
          __builtin_ia32_pause();
#endif
          ++attempt;
        } else {
          std::this_thread::yield();
        }
      }
    }
  }
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

}  // namespace neocog
