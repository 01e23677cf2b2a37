// mapFile(fd): a CPU storage over the whole file open as `fd`, mapped copy-on-write (issue 17:
// io.loadTorch at torch.load's speed; lib/io/mapped_file.ts). Its pages fault in where tensors
// are first read. Tensors that view it keep the mapping; it goes with the storage's last
// reference. Not an ArrayBuffer: V8 counts those as external memory and
// collected after every 100 MB load.
#include <memory>

#include "binding/addon.h"
#include "binding/args.h"
#include "binding/errors.h"
#include "core/mapped_file.h"

namespace neocog::binding {

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

}  // namespace neocog::binding
