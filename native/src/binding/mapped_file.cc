// mapFile(fd): a CPU storage over the whole file open as `fd`, mapped copy-on-write (issue 17:
// io.loadTorch at torch.load's speed; lib/io/mapped_file.ts); readInMapping(storage) reads its
// pages in on a libuv worker. Tensors that view it keep the mapping; it goes with the
// storage's last reference. Not an ArrayBuffer: V8 counts those as external memory and
// collected after every 100 MB load.
#include <memory>

#include "binding/addon.h"
#include "binding/args.h"
#include "binding/errors.h"
#include "core/mapped_file.h"

namespace neocog::binding {

namespace {

// Reads a mapping's pages in on a libuv worker, so that a cold file's disk reads never hold
// the event loop; the storage stays alive until it is done.
class ReadInWorker : public Napi::AsyncWorker {
 public:
  ReadInWorker(Napi::Env env, StoragePtr storage)
      : Napi::AsyncWorker(env), storage_(std::move(storage)), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise promise() const { return deferred_.Promise(); }
  void Execute() override { MappedFile::readIn(storage_->data(), storage_->bytes()); }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }

 private:
  StoragePtr storage_;
  Napi::Promise::Deferred deferred_;
};

}  // namespace

Napi::Value Addon::MapFile(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    const double fd = numberArg(info, 0, "mapFile", "fd");
    if (fd < 0 || fd != static_cast<int>(fd)) badArgument("mapFile", "fd", "a file descriptor");
    MappedFile mapped = MappedFile::map(static_cast<int>(fd));
    if (mapped.data() == nullptr) return info.Env().Null();  // the file is read another way
    void* data = mapped.data();
    const size_t bytes = mapped.size();
    auto file = std::make_shared<MappedFile>(std::move(mapped));
    // The release callback owns the mapping: it unmaps when the storage dies, on any thread.
    return Napi::Number::New(info.Env(), storages().add(runtime().borrowHost(data, bytes, [file] {})));
  });
}

Napi::Value Addon::ReadInMapping(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto worker = std::make_unique<ReadInWorker>(info.Env(), storageArg(*this, info[0], "readInMapping", "storage"));
    Napi::Promise promise = worker->promise();
    worker.release()->Queue();  // a queued AsyncWorker deletes itself once it has run
    return promise;
  });
}

}  // namespace neocog::binding
