#include "binding/addon.h"

#include <cstdlib>
#include <cstring>


namespace neocog::binding {

void runCompletion(Napi::Env env, Napi::Function, std::nullptr_t*, Completion* completion) {
  std::unique_ptr<Completion> owned(completion);  // adopt what post() released
  if (env == nullptr || !owned || !*owned) return;
  try {
    (*owned)(env);
  } catch (const Napi::Error&) {
    // Only when the environment is being torn down (a terminated worker, process.exit)
    // can settling a promise fail; nobody is left to tell, and throwing out of this
    // callback would abort the whole process.
  }
}

namespace {
bool syncModeFromEnvironment() {
  const char* value = std::getenv("NEOCOG_SYNC");
  return value != nullptr && std::strcmp(value, "") != 0 && std::strcmp(value, "0") != 0;
}
}  // namespace

Addon::Addon(Napi::Env env, Napi::Object exports)
    : env_(env),
      completions_(CompletionQueue::New(env, "neocog.completions", 0, 1)),
      runtime_(std::make_unique<Runtime>(syncModeFromEnvironment())) {
  completions_.Unref(env);
  // Environment cleanup hooks run in reverse order of registration, so this one stops the
  // streams before the completion queue above is torn down: no stream thread posts into a
  // dead queue while a worker is terminated or the process exits with ops in flight.
  napi_add_env_cleanup_hook(env, &Addon::stopStreams, this);

  DefineAddon(exports, {
      InstanceMethod("adjustExternalMemory", &Addon::AdjustExternalMemory),
      InstanceMethod("cudaDeviceCount", &Addon::CudaDeviceCount),
      InstanceMethod("cudaLoad", &Addon::CudaLoad),
      InstanceMethod("cudaProperties", &Addon::CudaProperties),
      InstanceMethod("distCollective", &Addon::DistCollective),
      InstanceMethod("distDestroy", &Addon::DistDestroy),
      InstanceMethod("distInitMpi", &Addon::DistInitMpi),
      InstanceMethod("distInitNccl", &Addon::DistInitNccl),
      InstanceMethod("distNcclUniqueId", &Addon::DistNcclUniqueId),
      InstanceMethod("empty", &Addon::Empty),
      InstanceMethod("emptyPinned", &Addon::EmptyPinned),
      InstanceMethod("emptyCache", &Addon::EmptyCache),
      InstanceMethod("fence", &Addon::Fence),
      InstanceMethod("memoryStats", &Addon::MemoryStats),
      InstanceMethod("profile", &Addon::Profile),
      InstanceMethod("queueLimits", &Addon::QueueLimits),
      InstanceMethod("readAsync", &Addon::ReadAsync),
      InstanceMethod("readSync", &Addon::ReadSync),
      InstanceMethod("releaseStorage", &Addon::ReleaseStorage),
      InstanceMethod("setQueueLimits", &Addon::SetQueueLimits),
      InstanceMethod("numThreads", &Addon::NumThreads),
      InstanceMethod("setNumThreads", &Addon::SetNumThreads),
      InstanceMethod("storageBytes", &Addon::StorageBytes),
      InstanceMethod("storagePinned", &Addon::StoragePinned),
      InstanceMethod("synchronize", &Addon::Synchronize),
      InstanceMethod("synchronizeSync", &Addon::SynchronizeSync),
      InstanceMethod("syncMode", &Addon::SyncMode),
      InstanceMethod("upload", &Addon::Upload),
      InstanceMethod("wrapShared", &Addon::WrapShared),
      InstanceMethod("mapFile", &Addon::MapFile),
  });
  defineOps(exports);
}

Addon::~Addon() {
  closing_ = true;
  // Joins the stream threads, so nothing posts completions after this. The completion
  // queue itself is finalized by Node-API with the environment.
  napi_remove_env_cleanup_hook(env_, &Addon::stopStreams, this);
  processGroup_.reset();
  runtime_.reset();
}

void Addon::stopStreams(void* addon) {
  Addon* self = static_cast<Addon*>(addon);
  // Before the streams stop: storages that die from here on leave their references to the
  // environment, which frees them (the completion queue may be gone when the last one dies).
  self->closing_ = true;
  // MPI must be finalised before the process exits (mpirun fails a job whose process exits
  // without MPI_Finalize), after the collectives still queued.
  self->processGroup_.reset();
  self->runtime_->shutdown();
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

void Addon::releaseReference(napi_ref reference) noexcept {
  if (closing_) return;
  if (std::this_thread::get_id() == jsThread_) {
    napi_delete_reference(env_, reference);
    return;
  }
  try {
    // Not paired with beginAsync(): a storage dying must not hold the process open.
    auto owned = std::make_unique<Completion>([reference](Napi::Env env) { napi_delete_reference(env, reference); });
    if (completions_.NonBlockingCall(owned.get()) == napi_ok) owned.release();
  } catch (...) {
    // Out of memory: leaking one reference (the environment frees it at exit) beats aborting.
  }
}

}  // namespace neocog::binding

using NeocogAddon = neocog::binding::Addon;
NODE_API_ADDON(NeocogAddon)
