// Unwrapping JavaScript arguments into plain C++ values. TypeScript validated them; these
// checks are the backstop that keeps a wrong call from touching memory out of bounds.
#pragma once

#include <napi.h>

#include "core/storage.h"
#include "neocog/backend.h"
#include "neocog/device.h"
#include "neocog/layout.h"

namespace neocog::binding {

struct TensorArg {
  StoragePtr storage;
  TensorRef ref;
};

// A tensor descriptor {storage, dtype, shape, strides, offset} (lib/native.ts: NativeTensor).
TensorArg tensorArg(const Napi::Value& value, const char* op, const char* name);
// A tensor descriptor, or null/undefined for an absent optional operand (data == nullptr).
TensorArg optionalTensorArg(const Napi::Value& value, const char* op, const char* name);
// {spatial, stride, padBegin, padEnd, dilation, groups} (lib/native.ts: NativeConvParams).
ConvParams convParamsArg(const Napi::Value& value, const char* op);
// {spatial, mode, adaptive, countIncludePad, divisorOverride, kernel, stride, padding,
// dilation} (lib/native.ts: NativePoolParams).
PoolParams poolParamsArg(const Napi::Value& value, const char* op);
// "cpu" or "cuda:N".
Device deviceArg(const Napi::Value& value, const char* op);
double numberArg(const Napi::CallbackInfo& info, size_t index, const char* op, const char* name);
std::string stringArg(const Napi::CallbackInfo& info, size_t index, const char* op, const char* name);

}  // namespace neocog::binding
