// An ordered queue of kernels for one device, run by one native thread (DESIGN §3): the
// JavaScript thread validates, enqueues and returns; a long kernel never blocks it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <future>
#include <map>
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
  void execute(Task& task) noexcept;
  // Polls briefly for a task before the thread sleeps on `ready_`.
  void awaitWork() const;
  static size_t outputBytes(const Task& task);
  // Whether the queue is down to half its limits, where a producer blocked by them resumes
  // (guarded by mutex_).
  bool resumable() const;
  // The ring of queued tasks (guarded by mutex_): slots are reused, so queueing a task
  // allocates nothing once the ring has grown to the queue's usual depth.
  void pushBack(Task&& task);
  Task popFront();

  std::string name_;
  ErrorSink onError_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::condition_variable drained_;  // signalled when the queue is back under half its limits
  std::vector<Task> ring_;
  size_t head_ = 0;   // index of the oldest queued task in ring_
  size_t count_ = 0;  // queued tasks
  QueueLimits limits_;
  size_t queuedBytes_ = 0;
  size_t blockedProducers_ = 0;  // enqueue() calls waiting on drained_ for the limits
  std::atomic<size_t> pending_{0};  // count_, readable without the mutex
  bool stopping_ = false;
  std::atomic<bool> profiling_{false};
  std::mutex profileMutex_;
  std::function<void()> drain_;  // guarded by profileMutex_
  std::map<std::string, OpTiming> profile_;
  std::thread thread_;  // last: starts after the members above exist
};

}  // namespace neocog
