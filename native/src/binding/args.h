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

class Addon;

// Throws an Internal error: "<op>: native argument <name> must be <expected>".
[[noreturn]] void badArgument(const char* op, const char* name, const std::string& expected);

struct TensorArg {
  StoragePtr storage;
  TensorRef ref;
};

// A tensor descriptor (lib/native.ts: NativeTensor): a Float64Array [storage, dtype, ndim,
// offset, ...shape, ...strides]. A negative storage asks for a new allocation on a device
// (-1: cpu, -2 - n: cuda:n) as large as the view: it is made here and its id written back
// into the descriptor, so an op's output costs no call of its own (issue 11).
TensorArg tensorArg(Addon& addon, const Napi::Value& value, const char* op, const char* name);
// A tensor descriptor, or null/undefined for an absent optional operand (data == nullptr).
TensorArg optionalTensorArg(Addon& addon, const Napi::Value& value, const char* op, const char* name);
// A storage id (lib/tensor/memory.ts), live.
StoragePtr storageArg(Addon& addon, const Napi::Value& value, const char* op, const char* name);
// "cpu" or "cuda:N".
Device deviceArg(const Napi::Value& value, const char* op);
// Throws an Internal error naming op and argument unless `value` is a number.
double numberValue(const Napi::Value& value, const char* op, const char* name);
double numberArg(const Napi::CallbackInfo& info, size_t index, const char* op, const char* name);
std::string stringArg(const Napi::CallbackInfo& info, size_t index, const char* op, const char* name);

}  // namespace neocog::binding
