#include "binding/args.h"

#include <string>

#include "binding/storage_handle.h"
#include "neocog/error.h"

namespace neocog::binding {

namespace {

[[noreturn]] void badArgument(const char* op, const char* name, const std::string& expected) {
  fail(ErrorKind::Internal, std::string(op) + ": native argument " + name + " must be " + expected);
}

int64_t integerProperty(const Napi::Object& object, const char* key, const char* op, const char* name) {
  const Napi::Value value = object.Get(key);
  if (!value.IsNumber()) badArgument(op, name, std::string("an object with numeric ") + key);
  return value.As<Napi::Number>().Int64Value();
}

// Reads `count` integers >= minimum from object[key] into target.
void intList(const Napi::Object& object, const char* key, int count, int64_t minimum, int64_t* target, const char* op) {
  const Napi::Value list = object.Get(key);
  if (!list.IsArray() || list.As<Napi::Array>().Length() != static_cast<uint32_t>(count)) {
    badArgument(op, "params", std::string("a ") + key + " entry per spatial dim");
  }
  for (int i = 0; i < count; ++i) {
    target[i] = list.As<Napi::Array>().Get(static_cast<uint32_t>(i)).As<Napi::Number>().Int64Value();
    if (target[i] < minimum) badArgument(op, "params", std::string(key) + " >= " + std::to_string(minimum));
  }
}

}  // namespace

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

ConvParams convParamsArg(const Napi::Value& value, const char* op) {
  if (!value.IsObject()) badArgument(op, "params", "a convolution parameter object");
  const Napi::Object object = value.As<Napi::Object>();
  ConvParams p;
  p.spatial = static_cast<int32_t>(integerProperty(object, "spatial", op, "params"));
  p.groups = integerProperty(object, "groups", op, "params");
  if (p.spatial < 1 || p.spatial > 3 || p.groups < 1) badArgument(op, "params", "1 to 3 spatial dims and groups >= 1");
  intList(object, "stride", p.spatial, 1, p.stride, op);
  intList(object, "padBegin", p.spatial, 0, p.padBegin, op);
  intList(object, "padEnd", p.spatial, 0, p.padEnd, op);
  intList(object, "dilation", p.spatial, 1, p.dilation, op);
  p.math.allowTf32 = object.Get("allowTf32").ToBoolean().Value();
  p.math.deterministic = object.Get("deterministic").ToBoolean().Value();
  return p;
}

PoolParams poolParamsArg(const Napi::Value& value, const char* op) {
  if (!value.IsObject()) badArgument(op, "params", "a pooling parameter object");
  const Napi::Object object = value.As<Napi::Object>();
  PoolParams p;
  p.spatial = static_cast<int32_t>(integerProperty(object, "spatial", op, "params"));
  const int64_t mode = integerProperty(object, "mode", op, "params");
  p.divisorOverride = integerProperty(object, "divisorOverride", op, "params");
  if (p.spatial < 1 || p.spatial > 3 || (mode != 0 && mode != 1) || p.divisorOverride < 0) {
    badArgument(op, "params", "1 to 3 spatial dims, mode 0 or 1, divisorOverride >= 0");
  }
  p.mode = static_cast<PoolMode>(mode);
  p.adaptive = object.Get("adaptive").ToBoolean().Value();
  p.countIncludePad = object.Get("countIncludePad").ToBoolean().Value();
  intList(object, "kernel", p.spatial, 1, p.kernel, op);
  intList(object, "stride", p.spatial, 1, p.stride, op);
  intList(object, "padding", p.spatial, 0, p.padding, op);
  intList(object, "dilation", p.spatial, 1, p.dilation, op);
  return p;
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

double numberArg(const Napi::CallbackInfo& info, size_t index, const char* op, const char* name) {
  if (!info[index].IsNumber()) badArgument(op, name, "a number");
  return info[index].As<Napi::Number>().DoubleValue();
}

std::string stringArg(const Napi::CallbackInfo& info, size_t index, const char* op, const char* name) {
  if (!info[index].IsString()) badArgument(op, name, "a string");
  return info[index].As<Napi::String>().Utf8Value();
}

}  // namespace neocog::binding
