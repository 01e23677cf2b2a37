#include "binding/addon.h"

#include <cstdlib>
#include <cstring>

#include "binding/storage_handle.h"

namespace neocog::binding {

void runCompletion(Napi::Env env, Napi::Function, std::nullptr_t*, Completion* completion) {
  std::unique_ptr<Completion> owned(completion);  // adopt what post() released
  if (env != nullptr && owned && *owned) (*owned)(env);
}

namespace {
bool syncModeFromEnvironment() {
  const char* value = std::getenv("NEOCOG_SYNC");
  return value != nullptr && std::strcmp(value, "") != 0 && std::strcmp(value, "0") != 0;
}
}  // namespace

Addon::Addon(Napi::Env env, Napi::Object exports)
    : completions_(CompletionQueue::New(env, "neocog.completions", 0, 1)),
      runtime_(std::make_unique<Runtime>(syncModeFromEnvironment())) {
  completions_.Unref(env);
  storageConstructor_ = Napi::Persistent(StorageHandle::define(env));

  DefineAddon(exports, {
      InstanceMethod("cudaDeviceCount", &Addon::CudaDeviceCount),
      InstanceMethod("cudaLoad", &Addon::CudaLoad),
      InstanceMethod("cudaProperties", &Addon::CudaProperties),
      InstanceMethod("empty", &Addon::Empty),
      InstanceMethod("emptyPinned", &Addon::EmptyPinned),
      InstanceMethod("emptyCache", &Addon::EmptyCache),
      InstanceMethod("memoryStats", &Addon::MemoryStats),
      InstanceMethod("profile", &Addon::Profile),
      InstanceMethod("readAsync", &Addon::ReadAsync),
      InstanceMethod("readSync", &Addon::ReadSync),
      InstanceMethod("synchronize", &Addon::Synchronize),
      InstanceMethod("synchronizeSync", &Addon::SynchronizeSync),
      InstanceMethod("syncMode", &Addon::SyncMode),
      InstanceMethod("upload", &Addon::Upload),
  });
  defineOps(exports);
}

Addon::~Addon() {
  // Joins the stream threads, so nothing posts completions after this. The completion
  // queue itself is finalized by Node-API with the environment.
  runtime_.reset();
}

void Addon::beginAsync(Napi::Env env) {
  if (pendingAsync_++ == 0) completions_.Ref(env);
}

void Addon::endAsync(Napi::Env env) {
  if (--pendingAsync_ == 0) completions_.Unref(env);
}

void Addon::post(Completion completion) {
  auto owned = std::make_unique<Completion>([this, completion = std::move(completion)](Napi::Env env) {
    endAsync(env);
    completion(env);
  });
  if (completions_.NonBlockingCall(owned.get()) == napi_ok) owned.release();
}

}  // namespace neocog::binding

using NeocogAddon = neocog::binding::Addon;
NODE_API_ADDON(NeocogAddon)
