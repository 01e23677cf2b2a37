#include "binding/storage_handle.h"

#include "binding/addon.h"
#include "binding/errors.h"

namespace neocog::binding {

Napi::Function StorageHandle::define(Napi::Env env) {
  return DefineClass(env, "StorageHandle",
                     {
                         InstanceMethod("release", &StorageHandle::Release),
                         InstanceMethod("share", &StorageHandle::Share),
                         InstanceAccessor("bytes", &StorageHandle::Bytes, nullptr),
                         InstanceAccessor("pinned", &StorageHandle::Pinned, nullptr),
                         InstanceAccessor("released", &StorageHandle::Released, nullptr),
                     });
}

StorageHandle::StorageHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<StorageHandle>(info) {}

StorageHandle::~StorageHandle() {
  // Finalizers must not call into JavaScript: drop the storage without touching V8's
  // external-memory counter (the handle's own memory is going away with it).
  storage_.reset();
}

Napi::Object StorageHandle::wrap(Napi::Env env, Addon& addon, StoragePtr storage, bool owner) {
  Napi::Object object = addon.storageConstructor().New({});
  StorageHandle* handle = Unwrap(object);
  handle->accountedBytes_ = owner ? static_cast<int64_t>(storage->bytes()) : 0;
  handle->storage_ = std::move(storage);
  if (handle->accountedBytes_ != 0) Napi::MemoryManagement::AdjustExternalMemory(env, handle->accountedBytes_);
  return object;
}

StoragePtr StorageHandle::unwrap(const Napi::Value& value, const char* op, const char* arg) {
  if (!value.IsObject()) fail(ErrorKind::Internal, std::string(op) + ": " + arg + " is not a storage handle");
  StorageHandle* handle = Unwrap(value.As<Napi::Object>());
  if (!handle || !handle->storage_) {
    fail(ErrorKind::Disposed, std::string(op) + ": " + arg + " has been disposed");
  }
  return handle->storage_;
}

void StorageHandle::reset(Napi::Env env) {
  if (!storage_) return;
  if (accountedBytes_ != 0) Napi::MemoryManagement::AdjustExternalMemory(env, -accountedBytes_);
  accountedBytes_ = 0;
  storage_.reset();
}

Napi::Value StorageHandle::Release(const Napi::CallbackInfo& info) {
  reset(info.Env());
  return info.Env().Undefined();
}

Napi::Value StorageHandle::Share(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    StoragePtr storage = unwrap(info.This(), "share", "storage");
    return wrap(info.Env(), *info.Env().GetInstanceData<Addon>(), std::move(storage), /*owner=*/false);
  });
}

Napi::Value StorageHandle::Bytes(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), storage_ ? static_cast<double>(storage_->bytes()) : 0.0);
}

Napi::Value StorageHandle::Pinned(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), storage_ && storage_->pinned());
}

Napi::Value StorageHandle::Released(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !storage_);
}

}  // namespace neocog::binding
