// Allocation, host <-> device transfers and stream synchronisation.
#include <cstring>
#include <future>
#include <vector>

#include "binding/addon.h"
#include "binding/args.h"
#include "binding/errors.h"

namespace neocog::binding {

namespace {

using HostBuffer = std::shared_ptr<std::vector<uint8_t>>;

// Hands the bytes to JavaScript without another copy; the ArrayBuffer owns them.
Napi::ArrayBuffer toArrayBuffer(Napi::Env env, const HostBuffer& buffer) {
  if (buffer->empty()) return Napi::ArrayBuffer::New(env, 0);
  auto owner = std::make_unique<HostBuffer>(buffer);
  auto release = [](Napi::Env, void*, HostBuffer* held) { std::unique_ptr<HostBuffer> adopted(held); };
  Napi::ArrayBuffer result = Napi::ArrayBuffer::New(env, buffer->data(), buffer->size(), release, owner.get());
  owner.release();  // now owned by the ArrayBuffer's finalizer
  return result;
}

struct ReadRequest {
  StoragePtr storage;
  size_t offset = 0;
  HostBuffer buffer;
};

ReadRequest readRequest(Addon& addon, const Napi::CallbackInfo& info, const char* op) {
  ReadRequest request;
  request.storage = storageArg(addon, info[0], op, "storage");
  const double offset = numberArg(info, 1, op, "byteOffset"), length = numberArg(info, 2, op, "byteLength");
  if (offset < 0 || length < 0 || offset + length > static_cast<double>(request.storage->bytes())) {
    fail(ErrorKind::Internal, std::string(op) + ": read outside the storage");
  }
  request.offset = static_cast<size_t>(offset);
  request.buffer = std::make_shared<std::vector<uint8_t>>(static_cast<size_t>(length));
  return request;
}

Task readTask(const ReadRequest& request) {
  Task task;
  task.op = "data";
  task.inputs = {request.storage};
  task.run = [request] {
    if (request.buffer->empty()) return;
    const char* source = static_cast<const char*>(request.storage->data()) + request.offset;
    request.storage->context().backend->copyToHost(request.buffer->data(), source, request.buffer->size());
  };
  return task;
}

}  // namespace

Napi::Value Addon::Empty(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    const Device device = deviceArg(info[0], "empty");
    const double bytes = numberArg(info, 1, "empty", "byteLength");
    if (bytes < 0) fail(ErrorKind::Internal, "empty: negative byteLength");
    return Napi::Number::New(info.Env(), storages().add(runtime().allocate(device, static_cast<size_t>(bytes))));
  });
}

Napi::Value Addon::EmptyPinned(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    const double bytes = numberArg(info, 0, "pinMemory", "byteLength");
    if (bytes < 0) fail(ErrorKind::Internal, "pinMemory: negative byteLength");
    return Napi::Number::New(info.Env(), storages().add(runtime().allocatePinned(static_cast<size_t>(bytes))));
  });
}

// adjustExternalMemory(deltaBytes): tells V8 how much native memory JavaScript objects hold
// (napi_adjust_external_memory), so that collection runs under native-memory pressure.
// lib/tensor/memory.ts reports only the storages of tensors that outlive the job that made
// them: reporting every op output made V8 start a mark-compact in every training step of a
// small CNN (simpleCnn b64: 40 ms a step instead of 16), for tensors that scopes and
// backward() free anyway.
Napi::Value Addon::AdjustExternalMemory(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    const double delta = numberArg(info, 0, "adjustExternalMemory", "deltaBytes");
    int64_t total = 0;
    napi_adjust_external_memory(info.Env(), static_cast<int64_t>(delta), &total);
    return Napi::Number::New(info.Env(), static_cast<double>(total));
  });
}

// releaseStorage(id): the storage is freed once no queued op uses it; a released id is ignored.
Napi::Value Addon::ReleaseStorage(const Napi::CallbackInfo& info) {
  if (info[0].IsNumber()) storages().release(info[0].As<Napi::Number>().DoubleValue());
  return info.Env().Undefined();
}

Napi::Value Addon::StorageBytes(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    return Napi::Number::New(info.Env(), static_cast<double>(storageArg(*this, info[0], "storageBytes", "storage")->bytes()));
  });
}

Napi::Value Addon::StoragePinned(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    return Napi::Boolean::New(info.Env(), storageArg(*this, info[0], "isPinned", "storage")->pinned());
  });
}

Napi::Value Addon::EmptyCache(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    runtime().context(deviceArg(info[0], "emptyCache"))->allocator.emptyCache();
    return info.Env().Undefined();
  });
}

Napi::Value Addon::MemoryStats(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    const AllocatorStats stats = runtime().context(deviceArg(info[0], "memory"))->allocator.stats();
    Napi::Object result = Napi::Object::New(info.Env());
    result.Set("allocatedBytes", static_cast<double>(stats.allocatedBytes));
    result.Set("cachedBytes", static_cast<double>(stats.cachedBytes));
    result.Set("peakBytes", static_cast<double>(stats.peakBytes));
    return result;
  });
}

Napi::Value Addon::ReadAsync(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    const ReadRequest request = readRequest(*this, info, "data");
    Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(info.Env());
    Task task = readTask(request);
    HostBuffer buffer = request.buffer;
    task.done = [this, buffer, deferred](const ErrorPtr& error) {
      post([this, buffer, deferred, error](Napi::Env env) {
        if (error) {
          runtime().errorDelivered(error);
          deferred.Reject(toJsError(env, error->kind(), error->what()).Value());
        } else {
          deferred.Resolve(toArrayBuffer(env, buffer));
        }
      });
    };
    beginAsync(info.Env());
    // Reads do not raise other ops' pending errors: only their own tensor's failure.
    request.storage->context().stream.enqueue(std::move(task));
    return deferred.Promise();
  });
}

Napi::Value Addon::ReadSync(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    const ReadRequest request = readRequest(*this, info, "dataSync");
    auto finished = std::make_shared<std::promise<ErrorPtr>>();
    std::future<ErrorPtr> result = finished->get_future();
    Task task = readTask(request);
    task.done = [finished](const ErrorPtr& error) { finished->set_value(error); };
    request.storage->context().stream.enqueue(std::move(task));
    if (ErrorPtr error = result.get()) {
      runtime().errorDelivered(error);
      throw Error(error->kind(), error->what());
    }
    return toArrayBuffer(info.Env(), request.buffer);
  });
}

Napi::Value Addon::Synchronize(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto context = runtime().context(deviceArg(info[0], "synchronize"));
    Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(info.Env());
    Task task;
    task.op = "synchronize";
    task.run = [backend = context->backend.get()] { backend->synchronize(); };
    task.done = [this, deferred](const ErrorPtr& error) {
      post([this, deferred, error](Napi::Env env) {
        try {
          if (error) throw Error(error->kind(), error->what());
          runtime().throwPendingError();  // a queued kernel failed before this point
          deferred.Resolve(env.Undefined());
        } catch (const Error& e) {
          deferred.Reject(toJsError(env, e.kind(), e.what()).Value());
        }
      });
    };
    beginAsync(info.Env());
    context->stream.enqueue(std::move(task));
    return deferred.Promise();
  });
}

// fence(device): a promise that resolves once the stream has run everything queued before
// it. Unlike synchronize() it neither waits for the device nor reports other ops' errors:
// loops use it to stay a bounded distance ahead of the stream.
Napi::Value Addon::Fence(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto context = runtime().context(deviceArg(info[0], "fence"));
    Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(info.Env());
    Task task;
    task.op = "fence";
    task.run = [] {};
    task.done = [this, deferred](const ErrorPtr&) {
      post([deferred](Napi::Env env) { deferred.Resolve(env.Undefined()); });
    };
    beginAsync(info.Env());
    context->stream.enqueue(std::move(task));
    return deferred.Promise();
  });
}

Napi::Value Addon::QueueLimits(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    const neocog::QueueLimits limits = runtime().context(deviceArg(info[0], "queueLimits"))->stream.limits();
    Napi::Object result = Napi::Object::New(info.Env());
    result.Set("maxTasks", static_cast<double>(limits.maxTasks));
    result.Set("maxBytes", static_cast<double>(limits.maxBytes));
    return result;
  });
}

// setQueueLimits(device, maxTasks, maxBytes); lib/ validated both as positive integers.
Napi::Value Addon::SetQueueLimits(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    auto context = runtime().context(deviceArg(info[0], "setQueueLimits"));
    const double tasks = numberArg(info, 1, "setQueueLimits", "maxTasks");
    const double bytes = numberArg(info, 2, "setQueueLimits", "maxBytes");
    if (!(tasks >= 1) || !(bytes >= 1)) fail(ErrorKind::Internal, "setQueueLimits: limits must be positive");
    context->stream.setLimits({static_cast<size_t>(tasks), static_cast<size_t>(bytes)});
    return info.Env().Undefined();
  });
}

Napi::Value Addon::NumThreads(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    return Napi::Number::New(info.Env(), runtime().context(deviceArg(info[0], "numThreads"))->backend->hostThreads());
  });
}

// Queued on the stream like an op: ops queued before keep the old count, those after get the new.
Napi::Value Addon::SetNumThreads(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    auto context = runtime().context(deviceArg(info[0], "setNumThreads"));
    const double threads = numberArg(info, 1, "setNumThreads", "threads");
    if (!(threads >= 1 && threads <= 1024)) fail(ErrorKind::Internal, "setNumThreads: threads must be in [1, 1024]");
    Task task;
    task.op = "setNumThreads";
    task.run = [backend = context->backend.get(), n = static_cast<int>(threads)] { backend->setHostThreads(n); };
    context->stream.enqueue(std::move(task));
    return info.Env().Undefined();
  });
}

Napi::Value Addon::SynchronizeSync(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    auto context = runtime().context(deviceArg(info[0], "synchronize"));
    std::shared_future<void> reached = context->stream.fence();
    reached.wait();
    context->backend->synchronize();
    runtime().throwPendingError();
    return info.Env().Undefined();
  });
}

// profile(device, on): starts timing ops on the device's stream, or waits for the queued
// work, stops and returns [{op, count, milliseconds}].
Napi::Value Addon::Profile(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto context = runtime().context(deviceArg(info[0], "profile"));
    Napi::Env env = info.Env();
    if (info[1].ToBoolean().Value()) {
      Backend* backend = context->backend.get();
      context->stream.setProfiling(true, backend->hostAccessible() ? std::function<void()>{} : [backend] { backend->synchronize(); });
      return Napi::Array::New(env);
    }
    context->stream.fence().wait();
    context->stream.setProfiling(false);
    const auto timings = context->stream.profile();
    Napi::Array rows = Napi::Array::New(env, timings.size());
    uint32_t i = 0;
    for (const auto& [op, timing] : timings) {
      Napi::Object row = Napi::Object::New(env);
      row.Set("op", op);
      row.Set("count", static_cast<double>(timing.count));
      row.Set("milliseconds", timing.milliseconds);
      rows.Set(i++, row);
    }
    return rows;
  });
}

Napi::Value Addon::SyncMode(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), runtime().syncMode());
}

Napi::Value Addon::Upload(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    const StoragePtr storage = storageArg(*this, info[0], "upload", "storage");
    if (!info[1].IsTypedArray()) fail(ErrorKind::Internal, "upload: source must be a typed array");
    const Napi::TypedArray source = info[1].As<Napi::TypedArray>();
    const size_t bytes = source.ByteLength();
    if (bytes > storage->bytes()) fail(ErrorKind::Internal, "upload: source larger than the storage");
    const uint8_t* data = static_cast<const uint8_t*>(source.ArrayBuffer().Data()) + source.ByteOffset();
    if (bytes == 0) return info.Env().Undefined();

    Backend& backend = *storage->context().backend;
    if (backend.hostAccessible()) {
      // `storage` is freshly allocated (lib/tensor only uploads into new storages), so no
      // queued kernel can be using it: copy now and skip the queue.
      std::memcpy(storage->data(), data, bytes);
      return info.Env().Undefined();
    }
    auto staged = std::make_shared<std::vector<uint8_t>>(data, data + bytes);
    Task task;
    task.op = "upload";
    task.outputs = {storage};
    task.run = [storage, staged] {
      storage->context().backend->copyFromHost(storage->data(), staged->data(), staged->size());
    };
    storage->context().stream.enqueue(std::move(task));
    return info.Env().Undefined();
  });
}

}  // namespace neocog::binding
