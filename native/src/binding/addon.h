// The addon instance: one per Node.js environment (main thread or worker), holding that
// environment's Runtime. Node-API code lives only in this folder.
#pragma once

#include <napi.h>

#include <atomic>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "binding/storage_table.h"
#include "core/runtime.h"
#include "dist/process_group.h"

namespace neocog::binding {

using Completion = std::function<void(Napi::Env)>;
using ProcessGroupDone = dist::ProcessGroup::Done;

void runCompletion(Napi::Env env, Napi::Function, std::nullptr_t*, Completion* completion);
using CompletionQueue = Napi::TypedThreadSafeFunction<std::nullptr_t, Completion, runCompletion>;

class Addon : public Napi::Addon<Addon> {
 public:
  Addon(Napi::Env env, Napi::Object exports);
  ~Addon();

  Runtime& runtime() { return *runtime_; }
  // The storages JavaScript holds, by id (lib/tensor/memory.ts).
  StorageTable& storages() { return storages_; }

  // Runs `completion` on the JavaScript thread; callable from stream threads. Pair every
  // post with a beginAsync() made on the JavaScript thread when the work was queued: it
  // keeps the event loop alive until the completion has run.
  void beginAsync(Napi::Env env);
  void post(Completion completion);
  // Deletes a reference from any thread: at once on the JavaScript thread, else posted there
  // without keeping the event loop alive (nobody waits for it). Once the environment is
  // being torn down it does nothing: Node-API frees the references left with it.
  void releaseReference(napi_ref reference) noexcept;

 private:
  // Primitives (primitive.h, primitives.cc): one entry shared by every declaration in
  // neocog/primitives.def, plus transfer between devices.
  void defineOps(Napi::Object exports);
  template <typename Declared>
  Napi::Value RunPrimitive(const Napi::CallbackInfo& info);
  Napi::Value Transfer(const Napi::CallbackInfo& info);

  // Memory and streams (memory.cc).
  Napi::Value AdjustExternalMemory(const Napi::CallbackInfo& info);
  Napi::Value Empty(const Napi::CallbackInfo& info);
  Napi::Value EmptyPinned(const Napi::CallbackInfo& info);
  Napi::Value EmptyCache(const Napi::CallbackInfo& info);
  Napi::Value Fence(const Napi::CallbackInfo& info);
  Napi::Value MemoryStats(const Napi::CallbackInfo& info);
  Napi::Value QueueLimits(const Napi::CallbackInfo& info);
  Napi::Value ReleaseStorage(const Napi::CallbackInfo& info);
  Napi::Value StorageBytes(const Napi::CallbackInfo& info);
  Napi::Value StoragePinned(const Napi::CallbackInfo& info);
  Napi::Value ReadAsync(const Napi::CallbackInfo& info);
  Napi::Value ReadSync(const Napi::CallbackInfo& info);
  Napi::Value SetQueueLimits(const Napi::CallbackInfo& info);
  Napi::Value NumThreads(const Napi::CallbackInfo& info);
  Napi::Value SetNumThreads(const Napi::CallbackInfo& info);
  Napi::Value Synchronize(const Napi::CallbackInfo& info);
  Napi::Value SynchronizeSync(const Napi::CallbackInfo& info);
  Napi::Value Profile(const Napi::CallbackInfo& info);
  Napi::Value SyncMode(const Napi::CallbackInfo& info);
  Napi::Value Upload(const Napi::CallbackInfo& info);

  // Storages over a SharedArrayBuffer's memory (shared_memory.cc).
  Napi::Value WrapShared(const Napi::CallbackInfo& info);
  Napi::Value MapFile(const Napi::CallbackInfo& info);

  // CUDA plugin (cuda.cc).
  Napi::Value CudaDeviceCount(const Napi::CallbackInfo& info);
  Napi::Value CudaLoad(const Napi::CallbackInfo& info);
  Napi::Value CudaProperties(const Napi::CallbackInfo& info);

  // Process group (distributed.cc).
  Napi::Value DistCollective(const Napi::CallbackInfo& info);
  Napi::Value DistDestroy(const Napi::CallbackInfo& info);
  Napi::Value DistInitMpi(const Napi::CallbackInfo& info);
  Napi::Value DistInitNccl(const Napi::CallbackInfo& info);
  Napi::Value DistNcclUniqueId(const Napi::CallbackInfo& info);
  dist::ProcessGroup& processGroup(const char* op);

  void endAsync(Napi::Env env);
  static void stopStreams(void* addon);

  napi_env env_;
  std::thread::id jsThread_ = std::this_thread::get_id();
  // Set when the environment starts going away: from then on references are left to it.
  std::atomic<bool> closing_{false};
  CompletionQueue completions_;
  size_t pendingAsync_ = 0;
  StorageTable storages_;
  std::unique_ptr<Runtime> runtime_;  // stops its stream threads before the queue goes
  // After runtime_, so destroyed first: finalising MPI waits for the group's queued calls.
  std::unique_ptr<dist::ProcessGroup> processGroup_;
};

}  // namespace neocog::binding
