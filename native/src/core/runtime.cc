#include "core/runtime.h"

#include <future>

#include "neocog/backend.h"

namespace neocog {

Runtime::Runtime(bool syncMode) : syncMode_(syncMode) { cpu_ = makeContext(nullptr, makeCpuBackend()); }

Runtime::~Runtime() { shutdown(); }

void Runtime::shutdown() noexcept {
  // Contexts may outlive the runtime (storages own them); their streams must not.
  cpu_->stream.shutdown();
  for (auto& context : cuda_) {
    if (context) context->stream.shutdown();
  }
}

std::shared_ptr<DeviceContext> Runtime::makeContext(std::shared_ptr<LibraryHandle> library,
                                                    std::unique_ptr<Backend> backend) {
  return std::make_shared<DeviceContext>(std::move(library), std::move(backend),
                                         [this](const ErrorPtr& error) { recordError(error); });
}

std::shared_ptr<DeviceContext> Runtime::context(Device device) {
  if (device.type == DeviceType::CPU) return cpu_;
  if (!cudaLibrary_) fail(ErrorKind::Device, "CUDA is not loaded in this runtime");
  const int count = cudaDeviceCount();
  if (device.index < 0 || device.index >= count) {
    fail(ErrorKind::Device, "device " + device.str() + " does not exist (" + std::to_string(count) +
                                " CUDA device(s) present)");
  }
  if (cuda_.size() < static_cast<size_t>(count)) cuda_.resize(count);
  auto& slot = cuda_[device.index];
  if (!slot) slot = makeContext(cudaLibrary_, cudaLibrary_->plugin->createBackend(device.index));
  return slot;
}

StoragePtr Runtime::allocate(Device device, size_t bytes) {
  return std::make_shared<Storage>(context(device), bytes);
}

StoragePtr Runtime::allocatePinned(size_t bytes) {
  if (!cudaLibrary_ || cudaDeviceCount() == 0) fail(ErrorKind::Device, "pinMemory: no CUDA device to pin memory for");
  return std::make_shared<Storage>(cpu_, bytes, cudaLibrary_);
}

StoragePtr Runtime::borrowHost(void* data, size_t bytes, std::function<void()> release) {
  return std::make_shared<Storage>(context(Device{DeviceType::CPU, 0}), data, bytes, std::move(release));
}

void Runtime::loadCuda(const std::string& pluginPath, const std::vector<std::string>& dependencies) {
  if (cudaLibrary_) return;
  cudaLibrary_ = loadDevicePlugin(pluginPath, dependencies);
}

DevicePlugin& Runtime::cudaPlugin() {
  if (!cudaLibrary_) fail(ErrorKind::Device, "CUDA is not loaded in this runtime");
  return *cudaLibrary_->plugin;
}

int Runtime::cudaDeviceCount() {
  if (!cudaLibrary_) fail(ErrorKind::Device, "CUDA is not loaded in this runtime");
  if (cudaDeviceCount_ < 0) cudaDeviceCount_ = cudaLibrary_->plugin->deviceCount();
  return cudaDeviceCount_;
}

DeviceProperties Runtime::cudaProperties(int device) {
  const int count = cudaDeviceCount();
  if (device < 0 || device >= count) {
    fail(ErrorKind::Device, "cuda:" + std::to_string(device) + " does not exist (" + std::to_string(count) +
                                " CUDA device(s) present)");
  }
  return cudaLibrary_->plugin->properties(device);
}

void Runtime::recordError(const ErrorPtr& error) {
  std::lock_guard<std::mutex> lock(pendingMutex_);
  if (!pending_) pending_ = error;
  hasPending_.store(true, std::memory_order_release);
}

void Runtime::throwPendingError() {
  if (!hasPending_.load(std::memory_order_acquire)) return;
  ErrorPtr error;
  {
    std::lock_guard<std::mutex> lock(pendingMutex_);
    error.swap(pending_);
    hasPending_.store(false, std::memory_order_release);
  }
  if (error) throw Error(error->kind(), std::string(error->what()) + " (raised by an earlier queued op)");
}

void Runtime::errorDelivered(const ErrorPtr& error) {
  std::lock_guard<std::mutex> lock(pendingMutex_);
  if (pending_ == error) {
    pending_.reset();
    hasPending_.store(false, std::memory_order_release);
  }
}

void Runtime::submit(DeviceContext& context, Task task, bool mayRunInline) {
  throwPendingError();
  const auto run = [&] {
    if (!mayRunInline || !context.stream.runInlineIfIdle(task)) context.stream.enqueue(std::move(task));
  };
  if (!syncMode_) {
    run();
    return;
  }
  auto finished = std::make_shared<std::promise<ErrorPtr>>();
  auto result = finished->get_future();
  task.done = [finished, done = std::move(task.done)](const ErrorPtr& error) {
    if (done) done(error);
    finished->set_value(error);
  };
  run();
  if (ErrorPtr error = result.get()) {
    errorDelivered(error);
    throw Error(error->kind(), error->what());
  }
}

void Runtime::transfer(const StoragePtr& dst, size_t dstOffset, const StoragePtr& src, size_t srcOffset,
                       size_t bytes) {
  DeviceContext& from = src->context();
  DeviceContext& to = dst->context();
  // The copy runs on whichever side is not host-accessible (the CUDA stream); the other
  // stream is fenced before it and waits for it after, so neither overtakes the copy.
  const bool runOnDestination = !to.backend->hostAccessible();
  DeviceContext& runner = runOnDestination ? to : from;
  DeviceContext& other = runOnDestination ? from : to;

  auto copied = std::make_shared<std::promise<void>>();
  Task copy;
  copy.op = "to";
  copy.inputs = {src};
  copy.outputs = {dst};
  copy.waitFor = {other.stream.fence()};
  copy.run = [dst, dstOffset, src, srcOffset, bytes, runOnDestination] {
    char* target = static_cast<char*>(dst->data()) + dstOffset;
    const char* source = static_cast<const char*>(src->data()) + srcOffset;
    if (runOnDestination) {
      dst->context().backend->copyFromHost(target, source, bytes);
    } else {
      src->context().backend->copyToHost(target, source, bytes);
    }
  };
  copy.done = [copied](const ErrorPtr&) { copied->set_value(); };

  Task hold;
  hold.op = "to";
  hold.waitFor = {copied->get_future().share()};
  hold.run = [] {};

  submit(runner, std::move(copy));
  other.stream.enqueue(std::move(hold));
}

}  // namespace neocog
