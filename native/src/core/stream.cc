#include "core/stream.h"

#include <algorithm>
#include <chrono>
#include <exception>

namespace neocog {

Stream::Stream(std::string name, ErrorSink onError)
    : name_(std::move(name)), onError_(std::move(onError)), thread_([this] { loop(); }) {}

Stream::~Stream() { shutdown(); }

size_t Stream::outputBytes(const Task& task) {
  size_t bytes = 0;
  for (const auto& output : task.outputs) bytes += output ? output->bytes() : 0;
  return bytes;
}

void Stream::pushBack(Task&& task) {
  if (count_ == ring_.size()) {
    // Full: move the queued tasks, oldest first, into a ring twice the size.
    std::vector<Task> grown(std::max<size_t>(64, 2 * ring_.size()));
    for (size_t i = 0; i < count_; ++i) grown[i] = std::move(ring_[(head_ + i) % ring_.size()]);
    ring_.swap(grown);
    head_ = 0;
  }
  ring_[(head_ + count_) % ring_.size()] = std::move(task);
  ++count_;
}

Task Stream::popFront() {
  Task task = std::move(ring_[head_]);
  head_ = (head_ + 1) % ring_.size();
  --count_;
  return task;
}

void Stream::enqueue(Task task) {
  const size_t bytes = outputBytes(task);
  {
    std::unique_lock<std::mutex> lock(mutex_);
    // An empty queue always takes the task, so one task larger than maxBytes still runs.
    if (!stopping_ && count_ > 0 && (count_ >= limits_.maxTasks || queuedBytes_ + bytes > limits_.maxBytes)) {
      // Over the limits: sleep until the stream has worked the queue down to half of them
      // (resumable()), not until one slot is free; waking per finished task made both
      // threads trade a futex call per small op once the queue filled (issue 11).
      ++blockedProducers_;
      drained_.wait(lock, [&] {
        return stopping_ || count_ == 0 ||
               (resumable() && count_ < limits_.maxTasks && queuedBytes_ + bytes <= limits_.maxBytes);
      });
      --blockedProducers_;
    }
    if (stopping_) fail(ErrorKind::Internal, task.op + ": the " + name_ + " stream has shut down");
    queuedBytes_ += bytes;
    pushBack(std::move(task));
    pending_.store(count_, std::memory_order_release);
  }
  ready_.notify_one();
}

bool Stream::resumable() const {
  return count_ <= limits_.maxTasks / 2 && queuedBytes_ <= limits_.maxBytes / 2;
}

void Stream::setLimits(QueueLimits limits) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    limits_ = limits;
  }
  drained_.notify_all();
}

QueueLimits Stream::limits() {
  std::lock_guard<std::mutex> lock(mutex_);
  return limits_;
}

std::shared_future<void> Stream::fence() {
  auto reached = std::make_shared<std::promise<void>>();
  std::shared_future<void> future = reached->get_future().share();
  Task marker;
  marker.op = "fence";
  marker.run = [] {};
  marker.done = [reached](const ErrorPtr&) { reached->set_value(); };
  enqueue(std::move(marker));
  return future;
}

void Stream::setProfiling(bool on, std::function<void()> drain) {
  std::lock_guard<std::mutex> lock(profileMutex_);
  if (on) profile_.clear();
  drain_ = std::move(drain);
  profiling_ = on;
}

std::map<std::string, OpTiming> Stream::profile() {
  std::lock_guard<std::mutex> lock(profileMutex_);
  return profile_;
}

void Stream::shutdown() noexcept {
  std::vector<Task> dropped;  // destroyed after the lock is released
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
    dropped.swap(ring_);
    head_ = 0;
    count_ = 0;
    queuedBytes_ = 0;
    pending_.store(0, std::memory_order_release);
  }
  ready_.notify_all();
  drained_.notify_all();
  if (thread_.joinable()) thread_.join();
}

// How long an idle stream thread polls for the next task before it sleeps. Small ops come
// every few microseconds from a busy JavaScript thread; waking a sleeping thread costs a
// futex call on each side (measured here as the largest cost of a 16-element add), so the
// stream stays awake across such gaps, as OpenMP's worker threads spin before sleeping.
constexpr auto kSpinBeforeSleep = std::chrono::microseconds(50);

void Stream::awaitWork() const {
  const auto deadline = std::chrono::steady_clock::now() + kSpinBeforeSleep;
  while (pending_.load(std::memory_order_acquire) == 0) {
    for (int i = 0; i < 64; ++i) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
    if (std::chrono::steady_clock::now() >= deadline) return;
  }
}

void Stream::loop() {
  // The bytes of the task that just ran, taken off the budget in the same critical section
  // that takes the next task: one lock per task instead of two, so the JavaScript thread
  // queueing small ops meets a held mutex (and a futex call) less often (issue 11).
  size_t finishedBytes = 0;
  for (;;) {
    Task task;
    bool wakeProducers = false;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      // The task's memory was released by execute(): only now does it leave the budget.
      queuedBytes_ -= std::min(finishedBytes, queuedBytes_);
      finishedBytes = 0;
      wakeProducers = blockedProducers_ > 0 && (count_ == 0 || resumable());
      if (count_ == 0 && !stopping_) {
        lock.unlock();
        if (wakeProducers) drained_.notify_all();
        wakeProducers = false;
        awaitWork();
        lock.lock();
      }
      ready_.wait(lock, [this] { return stopping_ || count_ > 0; });
      if (count_ == 0) return;  // stopping and drained
      task = popFront();
      pending_.store(count_, std::memory_order_release);
    }
    if (wakeProducers) drained_.notify_all();
    finishedBytes = outputBytes(task);
    execute(task);
  }
}

void Stream::execute(Task& task) noexcept {
  for (auto& dependency : task.waitFor) dependency.wait();

  ErrorPtr error;
  for (const auto& input : task.inputs) {
    if (input && (error = input->poison())) break;
  }
  if (!error) {
    const auto raised = [&](ErrorKind kind, const std::string& what) {
      // Kernels name their op in their own messages; generic failures get the op prepended.
      const bool named = what.rfind(task.op + ":", 0) == 0;
      error = std::make_shared<const Error>(kind, named ? what : task.op + ": " + what);
      if (onError_) onError_(error);
    };
    try {
      if (profiling_) {
        const auto start = std::chrono::steady_clock::now();
        task.run();
        std::lock_guard<std::mutex> lock(profileMutex_);
        if (drain_) drain_();
        OpTiming& timing = profile_[task.op];
        timing.count += 1;
        timing.milliseconds += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
      } else {
        task.run();
      }
    } catch (const Error& e) {
      raised(e.kind(), e.what());
    } catch (const std::bad_alloc&) {
      raised(ErrorKind::OutOfMemory, "out of host memory");
    } catch (const std::exception& e) {
      raised(ErrorKind::Internal, e.what());
    } catch (...) {
      raised(ErrorKind::Internal, "unknown native exception");
    }
  }
  if (error) {
    for (const auto& output : task.outputs) {
      if (output) output->setPoison(error);
    }
  }
  // Release the task's storages before reporting completion, so memory statistics read
  // after an awaited result already reflect the freed operands.
  auto done = std::move(task.done);
  task = Task{};
  if (done) done(error);
}

}  // namespace neocog
