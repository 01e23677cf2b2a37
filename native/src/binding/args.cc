#include "binding/args.h"

#include <string>

#include "binding/storage_handle.h"
#include "neocog/error.h"

namespace neocog::binding {

void badArgument(const char* op, const char* name, const std::string& expected) {
  fail(ErrorKind::Internal, std::string(op) + ": native argument " + name + " must be " + expected);
}

TensorArg tensorArg(const Napi::Value& value, const char* op, const char* name) {
  // [storage, layout]: layout is a Float64Array [dtype, ndim, offset, ...shape, ...strides]
  // that the Tensor builds once. Reading it is one Node-API call where separate properties
  // and arrays took dozens, most of a small op's dispatch cost.
  if (!value.IsArray() || value.As<Napi::Array>().Length() != 2) badArgument(op, name, "a tensor descriptor");
  const Napi::Array descriptor = value.As<Napi::Array>();
  TensorArg arg;
  arg.storage = StorageHandle::unwrap(descriptor.Get(0u), op, name);
  const Napi::Value layoutValue = descriptor.Get(1u);
  if (!layoutValue.IsTypedArray() || layoutValue.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    badArgument(op, name, "a descriptor with a Float64Array layout");
  }
  const Napi::Float64Array layout = layoutValue.As<Napi::Float64Array>();
  const size_t length = layout.ElementLength();
  const double* values = layout.Data();
  if (length < 3) badArgument(op, name, "a layout of dtype, ndim and offset");
  const auto integer = [&](double v) {
    if (!(v >= 0 && v <= 9007199254740991.0) || v != static_cast<double>(static_cast<int64_t>(v))) {
      badArgument(op, name, "a layout of non-negative integers");
    }
    return static_cast<int64_t>(v);
  };
  const int64_t dtype = integer(values[0]);
  if (!isValidDType(static_cast<int32_t>(dtype))) badArgument(op, name, "a valid dtype code");
  arg.ref.dtype = static_cast<DType>(dtype);
  const int64_t ndim = integer(values[1]);
  if (ndim > kMaxDims || length != static_cast<size_t>(3 + 2 * ndim)) {
    badArgument(op, name, "at most " + std::to_string(kMaxDims) + " dims with one stride per dim");
  }
  const int64_t offset = integer(values[2]);
  arg.ref.layout.ndim = static_cast<int32_t>(ndim);
  int64_t lastElement = 0;
  bool empty = false;
  for (int64_t d = 0; d < ndim; ++d) {
    const int64_t size = integer(values[3 + d]);
    const int64_t stride = integer(values[3 + ndim + d]);
    arg.ref.layout.shape[d] = size;
    arg.ref.layout.strides[d] = stride;
    if (size == 0) empty = true;
    else lastElement += (size - 1) * stride;
  }

  const size_t elementSize = dtypeSize(arg.ref.dtype);
  const size_t capacity = arg.storage->bytes() / elementSize;
  if (offset < 0 || (!empty && static_cast<size_t>(offset + lastElement) >= capacity)) {
    badArgument(op, name, "a view inside its storage");
  }
  arg.ref.data = static_cast<char*>(arg.storage->data()) + static_cast<size_t>(offset) * elementSize;
  return arg;
}

TensorArg optionalTensorArg(const Napi::Value& value, const char* op, const char* name) {
  if (value.IsNull() || value.IsUndefined()) return TensorArg{};
  return tensorArg(value, op, name);
}

Device deviceArg(const Napi::Value& value, const char* op) {
  if (!value.IsString()) badArgument(op, "device", "a string");
  const std::string text = value.As<Napi::String>().Utf8Value();
  if (text == "cpu") return Device{DeviceType::CPU, 0};
  if (text.rfind("cuda:", 0) == 0 && text.size() > 5) {
    return Device{DeviceType::CUDA, std::stoi(text.substr(5))};
  }
  badArgument(op, "device", "\"cpu\" or \"cuda:N\"");
}

double numberValue(const Napi::Value& value, const char* op, const char* name) {
  if (!value.IsNumber()) badArgument(op, name, "a number");
  return value.As<Napi::Number>().DoubleValue();
}

double numberArg(const Napi::CallbackInfo& info, size_t index, const char* op, const char* name) {
  return numberValue(info[index], op, name);
}

std::string stringArg(const Napi::CallbackInfo& info, size_t index, const char* op, const char* name) {
  if (!info[index].IsString()) badArgument(op, name, "a string");
  return info[index].As<Napi::String>().Utf8Value();
}

}  // namespace neocog::binding
