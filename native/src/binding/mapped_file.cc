// mapFile(fd) / mapFileAsync(fd): a CPU storage over the whole file open as `fd`, mapped
// copy-on-write (issue 17: io.loadTorch at torch.load's speed; lib/io/mapped_file.ts). Tensors
// that view it keep the mapping; it goes with the storage's last reference. Not an
// ArrayBuffer: V8 counts those as external memory and collected after every 100 MB load.
#include <memory>

#include "binding/addon.h"
#include "binding/args.h"
#include "binding/errors.h"
#include "core/mapped_file.h"

namespace neocog::binding {

namespace {

int fdArg(const Napi::CallbackInfo& info, const char* op) {
  const double fd = numberArg(info, 0, op, "fd");
  if (fd < 0 || fd != static_cast<int>(fd)) badArgument(op, "fd", "a file descriptor");
  return static_cast<int>(fd);
}

// The storage over the mapping, or null when there is none (the file is read another way).
Napi::Value storageOver(Addon& addon, Napi::Env env, MappedFile mapped) {
  if (mapped.data() == nullptr) return env.Null();
  void* data = mapped.data();
  const size_t bytes = mapped.size();
  auto file = std::make_shared<MappedFile>(std::move(mapped));
  // The release callback owns the mapping: it unmaps when the storage dies, on any thread.
  return Napi::Number::New(env, addon.storages().add(addon.runtime().borrowHost(data, bytes, [file] {})));
}

// Maps on a libuv worker with every page read in, so a cold file's disk reads never hold the
// event loop.
class MapWorker : public Napi::AsyncWorker {
 public:
  MapWorker(Addon& addon, Napi::Env env, int fd) : Napi::AsyncWorker(env), addon_(addon), fd_(fd), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise promise() const { return deferred_.Promise(); }
  void Execute() override { mapped_ = MappedFile::map(fd_, true, &error_); }
  void OnOK() override {
    Napi::Env env = Env();
    try {
      deferred_.Resolve(storageOver(addon_, env, std::move(mapped_)));
    } catch (const std::exception& e) {
      deferred_.Reject(Napi::Error::New(env, e.what()).Value());
    }
  }

 private:
  Addon& addon_;
  int fd_;
  Napi::Promise::Deferred deferred_;
  MappedFile mapped_;
  std::string error_;
};

}  // namespace

Napi::Value Addon::MapFile(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    std::string error;
    return storageOver(*this, info.Env(), MappedFile::map(fdArg(info, "mapFile"), false, &error));
  });
}

Napi::Value Addon::MapFileAsync(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto worker = std::make_unique<MapWorker>(*this, info.Env(), fdArg(info, "mapFileAsync"));
    Napi::Promise promise = worker->promise();
    worker.release()->Queue();  // a queued AsyncWorker deletes itself once it has run
    return promise;
  });
}

}  // namespace neocog::binding
