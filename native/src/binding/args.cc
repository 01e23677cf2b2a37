#include "binding/args.h"

#include <cmath>
#include <string>

#include "binding/addon.h"
#include "neocog/error.h"

namespace neocog::binding {

void badArgument(const char* op, const char* name, const std::string& expected) {
  fail(ErrorKind::Internal, std::string(op) + ": native argument " + name + " must be " + expected);
}

TensorArg tensorArg(Addon& addon, const Napi::Value& value, const char* op, const char* name) {
  // One Node-API call reads the whole descriptor: separate properties and arrays took
  // dozens, most of a small op's dispatch cost.
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (napi_get_typedarray_info(value.Env(), value, &type, &length, &data, nullptr, nullptr) != napi_ok ||
      type != napi_float64_array) {
    badArgument(op, name, "a tensor descriptor (Float64Array)");
  }
  double* values = static_cast<double*>(data);
  if (length < 4) badArgument(op, name, "a descriptor of storage, dtype, ndim and offset");
  const auto integer = [&](double v) {
    if (!(v >= 0 && v <= 9007199254740991.0) || v != static_cast<double>(static_cast<int64_t>(v))) {
      badArgument(op, name, "a layout of non-negative integers");
    }
    return static_cast<int64_t>(v);
  };
  TensorArg arg;
  const int64_t dtype = integer(values[1]);
  if (!isValidDType(static_cast<int32_t>(dtype))) badArgument(op, name, "a valid dtype code");
  arg.ref.dtype = static_cast<DType>(dtype);
  const int64_t ndim = integer(values[2]);
  if (ndim > kMaxDims || length != static_cast<size_t>(4 + 2 * ndim)) {
    badArgument(op, name, "at most " + std::to_string(kMaxDims) + " dims with one stride per dim");
  }
  const int64_t offset = integer(values[3]);
  arg.ref.layout.ndim = static_cast<int32_t>(ndim);
  int64_t lastElement = 0;
  bool empty = false;
  for (int64_t d = 0; d < ndim; ++d) {
    const int64_t size = integer(values[4 + d]);
    const int64_t stride = integer(values[4 + ndim + d]);
    arg.ref.layout.shape[d] = size;
    arg.ref.layout.strides[d] = stride;
    if (size == 0) empty = true;
    else lastElement += (size - 1) * stride;
  }

  const size_t elementSize = dtypeSize(arg.ref.dtype);
  if (values[0] < 0) {
    // A new output: exactly the view's extent, which for the dense layouts lib/ asks for is
    // numel elements, as a separate empty() call would have allocated.
    const double code = values[0];
    if (code != std::floor(code) || code < -2.0 - 1024) badArgument(op, name, "a device code (-1 cpu, -2 - n cuda:n)");
    const Device device = code == -1 ? Device{DeviceType::CPU, 0} : Device{DeviceType::CUDA, static_cast<int>(-2 - code)};
    const size_t elements = empty ? 0 : static_cast<size_t>(offset + lastElement + 1);
    arg.storage = addon.runtime().allocate(device, elements * elementSize);
    values[0] = addon.storages().add(arg.storage);
  } else {
    arg.storage = addon.storages().get(values[0], op, name);
  }
  const size_t capacity = arg.storage->bytes() / elementSize;
  if (offset < 0 || (!empty && static_cast<size_t>(offset + lastElement) >= capacity)) {
    badArgument(op, name, "a view inside its storage");
  }
  arg.ref.data = static_cast<char*>(arg.storage->data()) + static_cast<size_t>(offset) * elementSize;
  return arg;
}

TensorArg optionalTensorArg(Addon& addon, const Napi::Value& value, const char* op, const char* name) {
  if (value.IsNull() || value.IsUndefined()) return TensorArg{};
  return tensorArg(addon, value, op, name);
}

StoragePtr storageArg(Addon& addon, const Napi::Value& value, const char* op, const char* name) {
  if (!value.IsNumber()) fail(ErrorKind::Internal, std::string(op) + ": " + name + " is not a storage");
  return addon.storages().get(value.As<Napi::Number>().DoubleValue(), op, name);
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
