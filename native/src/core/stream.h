// An ordered queue of kernels for one device, run by one native thread (DESIGN §3): the
// JavaScript thread validates, enqueues and returns; a long kernel never blocks it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/error_state.h"
#include "core/inline_function.h"
#include "core/storage.h"
#include "core/storage_list.h"

namespace neocog {

// Built on the JavaScript thread and destroyed on the stream thread. A small op's task
// allocates nothing (its storages and kernel closure live inside it: storage_list.h,
// inline_function.h); the queue holds tasks by value in a ring that is reused.
struct Task {
  std::string op;          // names the op in error messages (short names stay inline)
  StorageList inputs;      // kept alive until the task ran; poison propagates
  StorageList outputs;     // poisoned if the task fails
  std::vector<std::shared_future<void>> waitFor;  // work on other streams this depends on
  InlineFunction run;
  // Called on the stream thread after `run` (or instead of it when an input was poisoned),
  // with the error or null. Must not throw.
  std::function<void(const ErrorPtr&)> done;
};

// How much work may wait in a stream's queue before enqueue() blocks the caller (DESIGN §3:
// a loop that never reads a value must not queue gigabytes). Bytes are those of the
// queued tasks' outputs, which stay allocated until the task ran.
struct QueueLimits {
  size_t maxTasks = 1024;
  size_t maxBytes = size_t{1} << 30;
};

// Time spent per op name while profiling is on (kernel time on the stream thread).
struct OpTiming {
  int64_t count = 0;
  double milliseconds = 0.0;
};

class Stream {
 public:
  // Receives errors raised by a task's own kernel (not ones propagated from inputs).
  using ErrorSink = std::function<void(const ErrorPtr&)>;

  Stream(std::string name, ErrorSink onError);
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  // Queues `task`; when the queue is over its limits, first waits (blocking, not spinning)
  // until the stream has worked it down below them.
  void enqueue(Task task);
  // Runs `task` on the calling thread instead, when nothing is queued or running (so the
  // order of work is kept) and it waits on no other stream; returns whether it ran. For
  // kernels far cheaper than handing them to the stream thread (Backend::runsInline).
  bool runInlineIfIdle(Task& task);
  void setLimits(QueueLimits limits);
  QueueLimits limits();
  // A future that becomes ready when everything enqueued so far has run.
  std::shared_future<void> fence();
  // Starts (clearing earlier records) or stops timing each task by its op name. `drain`
  // runs after each timed task so asynchronous devices are timed to completion.
  void setProfiling(bool on, std::function<void()> drain = {});
  // The timings recorded since profiling started.
  std::map<std::string, OpTiming> profile();
  // Drops queued tasks and joins the thread; used when the owning runtime is torn down.
  void shutdown() noexcept;

 private:
  void loop();
  // A task's completion, to report once the stream has moved past it.
  struct Finished {
    std::function<void(const ErrorPtr&)> done;
    ErrorPtr error;
    void report() const {
      if (done) done(error);
    }
  };
  // Runs `task` and empties it (its storages released); returns its completion.
  Finished execute(Task& task) noexcept;
  // Polls briefly for a task after `head` before the thread sleeps on `ready_`.
  void awaitWork(size_t head) const;
  static size_t outputBytes(const Task& task);
  // Whether the queue is down to half its limits, where a producer blocked by them resumes.
  bool resumable(const QueueLimits& limits) const;
  // Whether a task of `bytes` may join the queue now (an empty queue always takes one).
  bool admits(const QueueLimits& limits, size_t bytes) const;
  // What a producer blocked on drained_ waits for, so the consumer wakes it only then.
  enum class Waiting { Nothing, ForRoom, ForEmpty };
  // Blocks the producer on drained_ until `ready()` holds (or the stream stops).
  template <typename Ready>
  void waitForConsumer(Waiting reason, Ready ready);
  // Replaces a full ring by one twice the size; only once the consumer has emptied it.
  void growRing();

  std::string name_;
  ErrorSink onError_;

  // The queue is a ring with one producer side and one consumer (the stream thread), handed
  // over by two counters without a lock (issue 11): with a mutex around it, the JavaScript
  // thread queueing a 16-element add met the mutex held by the stream thread taking the
  // previous one, and both paid futex calls (measured as a quarter of the dispatch cost).
  // The mutex below is taken only to sleep and to wake: when the consumer sleeps on an empty
  // queue, or a producer waits for the queue to drain under its limits.
  //
  // The slot at tail_ is written by the producer, then tail_ is published (release); the
  // consumer runs the task at head_ in its slot, empties it, then publishes head_ + 1. So a
  // slot is owned by one side at a time, and with head_ == tail_ the consumer touches none,
  // which is when growRing() may swap the buffer.
  std::mutex producerMutex_;  // serialises producers (the JavaScript thread; fences)
  std::unique_ptr<Task[]> ring_;
  std::atomic<size_t> capacity_{0};  // a power of two; written only with head_ == tail_
  std::atomic<size_t> head_{0};      // tasks taken (and run) by the consumer
  std::atomic<size_t> tail_{0};      // tasks queued by producers
  // Bytes of the queued tasks' outputs, which stay allocated until the task ran: queuedBytes
  // is enqueuedBytes_ - finishedBytes_, each counter written by one side only.
  std::atomic<size_t> enqueuedBytes_{0};
  std::atomic<size_t> finishedBytes_{0};
  std::atomic<size_t> maxTasks_{QueueLimits{}.maxTasks};
  std::atomic<size_t> maxBytes_{QueueLimits{}.maxBytes};

  std::mutex mutex_;                   // for sleeping and waking only
  std::condition_variable ready_;      // the consumer waits here for a task
  std::condition_variable drained_;    // a producer waits here for room
  std::atomic<bool> consumerSleeping_{false};
  std::atomic<Waiting> waiting_{Waiting::Nothing};
  std::atomic<bool> stopping_{false};

  std::atomic<bool> profiling_{false};
  std::mutex profileMutex_;
  std::function<void()> drain_;  // guarded by profileMutex_
  std::map<std::string, OpTiming> profile_;
  std::thread thread_;  // last: starts after the members above exist
};

}  // namespace neocog
