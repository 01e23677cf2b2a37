#include "core/stream.h"

#include <chrono>
#include <exception>

namespace neocog {

namespace {
constexpr size_t kInitialRingSize = 64;
}  // namespace

Stream::Stream(std::string name, ErrorSink onError)
    : name_(std::move(name)),
      onError_(std::move(onError)),
      ring_(std::make_unique<Task[]>(kInitialRingSize)),
      capacity_(kInitialRingSize),
      thread_([this] { loop(); }) {}

Stream::~Stream() { shutdown(); }

size_t Stream::outputBytes(const Task& task) {
  size_t bytes = 0;
  for (const auto& output : task.outputs) bytes += output ? output->bytes() : 0;
  return bytes;
}

bool Stream::admits(const QueueLimits& limits, size_t bytes) const {
  const size_t queued = tail_.load(std::memory_order_relaxed) - head_.load(std::memory_order_seq_cst);
  const size_t queuedBytes = enqueuedBytes_.load(std::memory_order_relaxed) - finishedBytes_.load(std::memory_order_acquire);
  return queued == 0 || (queued < limits.maxTasks && queuedBytes + bytes <= limits.maxBytes);
}

bool Stream::resumable(const QueueLimits& limits) const {
  const size_t queued = tail_.load(std::memory_order_relaxed) - head_.load(std::memory_order_seq_cst);
  const size_t queuedBytes = enqueuedBytes_.load(std::memory_order_relaxed) - finishedBytes_.load(std::memory_order_acquire);
  return queued <= limits.maxTasks / 2 && queuedBytes <= limits.maxBytes / 2;
}

template <typename Ready>
void Stream::waitForConsumer(Waiting reason, Ready ready) {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_.load() && !ready()) {
    // Published before ready() is checked again, so that the consumer either sees it after
    // its next task or that task's progress is seen here (both are sequentially consistent).
    waiting_.store(reason);
    if (stopping_.load() || ready()) break;
    drained_.wait(lock);
  }
  waiting_.store(Waiting::Nothing);
}

void Stream::growRing() {
  // The consumer never touches a slot while the ring is empty, so the buffer is swapped
  // then. Rings start small and double up to the task limit: this happens a few times in a
  // process, when the queue first runs that deep.
  waitForConsumer(Waiting::ForEmpty, [this] { return tail_.load(std::memory_order_relaxed) == head_.load(); });
  if (stopping_.load()) return;
  const size_t capacity = 2 * capacity_.load(std::memory_order_relaxed);
  ring_ = std::make_unique<Task[]>(capacity);
  capacity_.store(capacity, std::memory_order_relaxed);  // published by the next tail_ store
}

void Stream::enqueue(Task task) {
  const size_t bytes = outputBytes(task);
  std::lock_guard<std::mutex> producer(producerMutex_);
  const auto stopped = [&] {
    if (stopping_.load()) fail(ErrorKind::Internal, task.op + ": the " + name_ + " stream has shut down");
  };
  stopped();
  if (!admits(limits(), bytes)) {
    // Over the limits: sleep until the stream has worked the queue down to half of them
    // (resumable()), not until one slot is free; waking per finished task made both
    // threads trade a futex call per small op once the queue filled (issue 11).
    waitForConsumer(Waiting::ForRoom, [&] {
      const QueueLimits now = limits();
      return tail_.load(std::memory_order_relaxed) == head_.load() || (resumable(now) && admits(now, bytes));
    });
    stopped();
  }
  const size_t tail = tail_.load(std::memory_order_relaxed);
  if (tail - head_.load(std::memory_order_acquire) == capacity_.load(std::memory_order_relaxed)) {
    growRing();
    stopped();
  }
  ring_[tail & (capacity_.load(std::memory_order_relaxed) - 1)] = std::move(task);
  enqueuedBytes_.store(enqueuedBytes_.load(std::memory_order_relaxed) + bytes, std::memory_order_relaxed);
  tail_.store(tail + 1);  // sequentially consistent: ordered before the load below
  if (consumerSleeping_.load()) {
    { std::lock_guard<std::mutex> lock(mutex_); }  // the consumer is inside wait(), or will see tail_
    ready_.notify_one();
  }
}

bool Stream::runInlineIfIdle(Task& task) {
  std::lock_guard<std::mutex> producer(producerMutex_);  // no task can be queued meanwhile
  if (stopping_.load() || !task.waitFor.empty()) return false;
  // Acquire: what the stream thread's last task wrote is visible here. The next task queued
  // sees what this one writes through tail_'s store.
  if (tail_.load(std::memory_order_relaxed) != head_.load(std::memory_order_acquire)) return false;
  execute(task).report();
  return true;
}

void Stream::setLimits(QueueLimits limits) {
  maxTasks_.store(limits.maxTasks);
  maxBytes_.store(limits.maxBytes);
  { std::lock_guard<std::mutex> lock(mutex_); }
  drained_.notify_all();
}

QueueLimits Stream::limits() { return {maxTasks_.load(std::memory_order_relaxed), maxBytes_.load(std::memory_order_relaxed)}; }

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
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_.load()) return;
    stopping_.store(true);
  }
  ready_.notify_all();
  drained_.notify_all();
  if (thread_.joinable()) thread_.join();
  // The tasks still queued are dropped without running.
  std::lock_guard<std::mutex> producer(producerMutex_);
  const size_t capacity = capacity_.load(std::memory_order_relaxed);
  for (size_t i = head_.load(); i != tail_.load(); ++i) ring_[i & (capacity - 1)] = Task{};
  head_.store(tail_.load());
}

// How long an idle stream thread polls for the next task before it sleeps. Small ops come
// every few microseconds from a busy JavaScript thread; waking a sleeping thread costs a
// futex call on each side (measured here as the largest cost of a 16-element add), so the
// stream stays awake across such gaps, as OpenMP's worker threads spin before sleeping.
constexpr auto kSpinBeforeSleep = std::chrono::microseconds(50);

void Stream::awaitWork(size_t head) const {
  const auto deadline = std::chrono::steady_clock::now() + kSpinBeforeSleep;
  while (tail_.load(std::memory_order_acquire) == head) {
    for (int i = 0; i < 64; ++i) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
    if (std::chrono::steady_clock::now() >= deadline) return;
  }
}

void Stream::loop() {
  for (;;) {
    const size_t head = head_.load(std::memory_order_relaxed);
    if (tail_.load(std::memory_order_acquire) == head) {
      awaitWork(head);
      if (tail_.load(std::memory_order_acquire) == head) {
        std::unique_lock<std::mutex> lock(mutex_);
        consumerSleeping_.store(true);  // sequentially consistent: before tail_ is read again
        ready_.wait(lock, [&] { return stopping_.load() || tail_.load() != head; });
        consumerSleeping_.store(false);
      }
    }
    if (stopping_.load()) return;  // shutdown() drops what is still queued
    Task& task = ring_[head & (capacity_.load(std::memory_order_relaxed) - 1)];
    const size_t bytes = outputBytes(task);
    const Finished finished = execute(task);  // runs the task in its slot and empties it
    // The task's memory was released by execute(): only now does it leave the budget.
    finishedBytes_.store(finishedBytes_.load(std::memory_order_relaxed) + bytes, std::memory_order_release);
    head_.store(head + 1);  // sequentially consistent: ordered before the load below
    // Reported only now: a caller woken by it (an awaited synchronize) finds the stream idle,
    // so its next small op runs inline (runInlineIfIdle) rather than racing this thread's
    // last store. The task's kernel has run; reporting it touches nothing of the ring.
    finished.report();
    if (const Waiting waiting = waiting_.load(); waiting != Waiting::Nothing) {
      // A producer waits for room or for an empty ring. It re-checks its condition when woken;
      // waking it only when that may hold (the queue down to half its limits, or empty)
      // spares both threads a futex call per task while the queue is full.
      const bool empty = head + 1 == tail_.load();
      if (empty || (waiting == Waiting::ForRoom && resumable(limits()))) {
        { std::lock_guard<std::mutex> lock(mutex_); }
        drained_.notify_all();
      }
    }
  }
}

Stream::Finished Stream::execute(Task& task) noexcept {
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
  Finished finished{std::move(task.done), std::move(error)};
  task = Task{};
  return finished;
}

}  // namespace neocog
