// Unwrapping JavaScript arguments into plain C++ values. TypeScript validated them; these
// checks are the backstop that keeps a wrong call from touching memory out of bounds.
#pragma once

#include <napi.h>

#include <string>

#include "core/storage.h"
#include "neocog/backend.h"
#include "neocog/device.h"
#include "neocog/layout.h"

namespace neocog::binding {

// Throws an Internal error: "<op>: native argument <name> must be <expected>".
[[noreturn]] void badArgument(const char* op, const char* name, const std::string& expected);

struct TensorArg {
  StoragePtr storage;
  TensorRef ref;
};

// A tensor descriptor {storage, dtype, shape, strides, offset} (lib/native.ts: NativeTensor).
TensorArg tensorArg(const Napi::Value& value, const char* op, const char* name);
// A tensor descriptor, or null/undefined for an absent optional operand (data == nullptr).
TensorArg optionalTensorArg(const Napi::Value& value, const char* op, const char* name);
// "cpu" or "cuda:N".
Device deviceArg(const Napi::Value& value, const char* op);
// Throws an Internal error naming op and argument unless `value` is a number.
double numberValue(const Napi::Value& value, const char* op, const char* name);
double numberArg(const Napi::CallbackInfo& info, size_t index, const char* op, const char* name);
std::string stringArg(const Napi::CallbackInfo& info, size_t index, const char* op, const char* name);

}  // namespace neocog::binding
