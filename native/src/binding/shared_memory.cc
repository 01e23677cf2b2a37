// Storages that borrow a SharedArrayBuffer's memory (issue 15): the weights a pool of
// worker threads shares, one copy for all. Node 20's napi_get_arraybuffer_info refuses a
// SharedArrayBuffer, but napi_get_typedarray_info gives the data pointer of a view on one.
#include <cstdint>

#include "binding/addon.h"
#include "binding/args.h"
#include "binding/errors.h"

namespace neocog::binding {

namespace {
// float32/int32 kernels read whole elements; lib/ places packed tensors at 64-byte offsets.
constexpr uintptr_t kMinAlignment = 4;
}  // namespace

// wrapShared(view: Uint8Array): a CPU storage id over the view's bytes, without a copy. The
// storage holds a reference to the view (so to its buffer) until it dies. The memory is
// never freed by neocog, and whoever else writes it races with queued kernels: lib/ uses it
// for weights that are read-only by contract.
Napi::Value Addon::WrapShared(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    napi_env env = info.Env();
    napi_value view = info[0];
    bool isTypedArray = false;
    if (napi_is_typedarray(env, view, &isTypedArray) != napi_ok || !isTypedArray) {
      badArgument("wrapShared", "view", "a Uint8Array");
    }
    napi_typedarray_type type;
    size_t length = 0, byteOffset = 0;
    void* data = nullptr;
    napi_value buffer;
    if (napi_get_typedarray_info(env, view, &type, &length, &data, &buffer, &byteOffset) != napi_ok || type != napi_uint8_array) {
      badArgument("wrapShared", "view", "a Uint8Array");
    }
    if (length > 0 && reinterpret_cast<uintptr_t>(data) % kMinAlignment != 0) {
      badArgument("wrapShared", "view", "a view starting at a 4-byte-aligned address");
    }
    napi_ref reference;
    if (napi_create_reference(env, view, 1, &reference) != napi_ok) fail(ErrorKind::Internal, "wrapShared: cannot reference the view");
    StoragePtr storage;
    try {
      storage = runtime().borrowHost(data, length, [this, reference] { releaseReference(reference); });
    } catch (...) {
      napi_delete_reference(env, reference);
      throw;
    }
    return Napi::Number::New(env, storages().add(std::move(storage)));
  });
}

}  // namespace neocog::binding
