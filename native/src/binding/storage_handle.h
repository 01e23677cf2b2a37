// The JavaScript handle of a Storage. Each Tensor owns one handle; views get their own
// handle (share()) on the same Storage, so disposing one tensor never frees memory another
// still views. Garbage collection of a forgotten handle also frees (the backstop).
#pragma once

#include <napi.h>

#include "core/storage.h"

namespace neocog::binding {

class Addon;

class StorageHandle : public Napi::ObjectWrap<StorageHandle> {
 public:
  static Napi::Function define(Napi::Env env);
  // `owner`: the handle of a new allocation, which reports its bytes to V8. Views' handles
  // (share()) report none, or V8 would count the memory once per view and collect far
  // too often.
  static Napi::Object wrap(Napi::Env env, Addon& addon, StoragePtr storage, bool owner = true);
  // The storage of a live handle; throws a Disposed error naming `op` otherwise.
  static StoragePtr unwrap(const Napi::Value& value, const char* op, const char* arg);

  explicit StorageHandle(const Napi::CallbackInfo& info);
  ~StorageHandle() override;

 private:
  Napi::Value Release(const Napi::CallbackInfo& info);
  Napi::Value Share(const Napi::CallbackInfo& info);
  Napi::Value Bytes(const Napi::CallbackInfo& info);
  Napi::Value Pinned(const Napi::CallbackInfo& info);
  Napi::Value Released(const Napi::CallbackInfo& info);

  void reset(Napi::Env env);

  StoragePtr storage_;
  int64_t accountedBytes_ = 0;  // reported to V8 so GC pressure reflects native memory
};

}  // namespace neocog::binding
