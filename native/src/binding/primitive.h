// The one binding entry every primitive shares: `name(op, ...arguments)` parses each
// argument by the C++ type its declaration (neocog/primitives.def) gives it, runs the
// primitive's backstop (core/backstops.h), and queues Backend::name on the stream of the
// tensors' device. `op` is the user-facing name (conv2d, convTranspose3dBackward, argsort)
// that the profiler and error messages show.
#pragma once

#include <napi.h>

#include <cstddef>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "binding/addon.h"
#include "binding/args.h"
#include "binding/errors.h"
#include "core/backstops.h"

namespace neocog::binding {

// One parameter of a declaration: "const ConvParams& params" -> {ConvParams, params}.
struct Parameter {
  std::string type, name;
};
std::vector<Parameter> parameters(const char* declaration);

// The storages a call's tensors live in: read ones stay alive until the kernel ran, written
// ones are the task's results. All must be on one device.
class Operands {
 public:
  Operands(Addon& addon, const std::string& op, const std::vector<Parameter>& params)
      : addon_(addon), op_(op), params_(params) {}

  Addon& addon() const { return addon_; }
  const char* op() const { return op_.c_str(); }
  const char* name(size_t index) const { return index < params_.size() ? params_[index].name.c_str() : "argument"; }
  void add(const TensorArg& tensor, bool read, bool written);
  DeviceContext* context() const { return context_; }
  Task task() &&;

 private:
  Addon& addon_;
  const std::string& op_;
  const std::vector<Parameter>& params_;
  DeviceContext* context_ = nullptr;
  Task task_;  // gathers the storages to keep alive (inputs) and to mark written (outputs)
};


// A struct of op_params.h, read field by field from an object with the same names.
template <typename Struct>
Struct parseStruct(const Napi::Value& value, Operands& operands, size_t index);

// The lists, each parsed in one place (primitives.cc).
std::vector<OptimizerTensors> parseValue(const Napi::Value& value, Operands& operands, size_t index,
                                         std::vector<OptimizerTensors>*);
std::vector<TensorRef> parseValue(const Napi::Value& value, Operands& operands, size_t index, std::vector<TensorRef>*);

template <typename T, typename = void>
struct HasFields : std::false_type {};
template <typename T>
struct HasFields<T, std::void_t<decltype(T::fields())>> : std::true_type {};

// Reads one field; integer arrays take one entry per given element (at most their size).
template <typename Member>
void parseField(const Napi::Object& object, const char* name, Member& member, const Operands& operands, size_t index) {
  const Napi::Value value = object.Get(name);
  const auto bad = [&](const char* what) {
    badArgument(operands.op(), operands.name(index), std::string("an object whose ") + name + " is " + what);
  };
  if constexpr (std::is_array_v<Member>) {
    constexpr size_t capacity = std::extent_v<Member>;
    if (!value.IsArray() || value.As<Napi::Array>().Length() > capacity) bad("a list of at most 3 numbers");
    const Napi::Array list = value.As<Napi::Array>();
    for (uint32_t i = 0; i < list.Length(); ++i) {
      const Napi::Value entry = list.Get(i);
      if (!entry.IsNumber()) bad("a list of numbers");
      member[i] = static_cast<std::remove_extent_t<Member>>(entry.As<Napi::Number>().Int64Value());
    }
  } else if constexpr (std::is_same_v<Member, bool>) {
    member = value.ToBoolean().Value();
  } else {
    if (!value.IsNumber()) bad("a number");
    const double number = value.As<Napi::Number>().DoubleValue();
    if constexpr (std::is_enum_v<Member>) member = static_cast<Member>(static_cast<int32_t>(number));
    else member = static_cast<Member>(number);
  }
}

template <typename Struct>
Struct parseStruct(const Napi::Value& value, Operands& operands, size_t index) {
  if (!value.IsObject()) badArgument(operands.op(), operands.name(index), "an object");
  const Napi::Object object = value.As<Napi::Object>();
  Struct parsed;
  std::apply([&](const auto&... field) { (parseField(object, field.name, parsed.*(field.member), operands, index), ...); },
             Struct::fields());
  return parsed;
}

// The TypeScript type of a struct ("name: number, ...") for lib/native_primitives.ts.
template <typename Struct>
std::string describeStruct() {
  std::string text;
  std::apply(
      [&](const auto&... field) {
        const auto describe = [&](const auto& f) {
          using Member = std::remove_reference_t<decltype(std::declval<Struct&>().*(f.member))>;
          const char* type = std::is_array_v<Member> ? "readonly number[]" : std::is_same_v<Member, bool> ? "boolean" : "number";
          text += std::string(text.empty() ? "" : ", ") + f.name + ": " + type;
        };
        (describe(field), ...);
      },
      Struct::fields());
  return text;
}

// parse<T>(value, operands, index) reads one argument of C++ type T.
template <typename T>
T parse(const Napi::Value& value, Operands& operands, size_t index);

template <typename T, bool Read, bool Written, bool Optional>
T parseTensor(const Napi::Value& value, Operands& operands, size_t index) {
  const char* name = operands.name(index);
  TensorArg arg = Optional ? optionalTensorArg(operands.addon(), value, operands.op(), name)
                           : tensorArg(operands.addon(), value, operands.op(), name);
  if (arg.storage) operands.add(arg, Read, Written);
  T tensor;
  static_cast<TensorRef&>(tensor) = arg.ref;
  return tensor;
}

template <typename T>
T parse(const Napi::Value& value, Operands& operands, size_t index) {
  if constexpr (std::is_same_v<T, InputTensor>) return parseTensor<T, true, false, false>(value, operands, index);
  else if constexpr (std::is_same_v<T, OutputTensor>) return parseTensor<T, false, true, false>(value, operands, index);
  else if constexpr (std::is_same_v<T, InOutTensor>) return parseTensor<T, true, true, false>(value, operands, index);
  else if constexpr (std::is_same_v<T, OptionalInputTensor>) return parseTensor<T, true, false, true>(value, operands, index);
  else if constexpr (std::is_same_v<T, OptionalOutputTensor>) return parseTensor<T, false, true, true>(value, operands, index);
  else if constexpr (std::is_same_v<T, OptionalInOutTensor>) return parseTensor<T, true, true, true>(value, operands, index);
  else if constexpr (std::is_same_v<T, bool>) return value.ToBoolean().Value();
  else if constexpr (std::is_enum_v<T>) return static_cast<T>(static_cast<int32_t>(numberValue(value, operands.op(), operands.name(index))));
  else if constexpr (std::is_arithmetic_v<T>) return static_cast<T>(numberValue(value, operands.op(), operands.name(index)));
  else if constexpr (HasFields<T>::value) return parseStruct<T>(value, operands, index);
  else return parseValue(value, operands, index, static_cast<T*>(nullptr));  // the lists (primitives.cc)
}

// What the binding knows of each primitive, from its declaration line.
namespace primitives {
#define NEOCOG_PRIMITIVE(primitive, ...)                               \
  struct primitive {                                                   \
    static constexpr const char* name = #primitive;                    \
    static constexpr const char* declaration = #__VA_ARGS__;           \
    static constexpr auto method = &Backend::primitive;                \
    static constexpr auto check = &backstop::primitive;                \
  };
#include "neocog/primitives.def"
#undef NEOCOG_PRIMITIVE
}  // namespace primitives

template <typename Declared, typename... Params, size_t... I>
Napi::Value queuePrimitive(Addon& addon, const Napi::CallbackInfo& info, std::index_sequence<I...>) {
  static const std::vector<Parameter> params = parameters(Declared::declaration);
  const std::string op = stringArg(info, 0, Declared::name, "op");
  Operands operands(addon, op, params);
  // Braced initialisation evaluates left to right: arguments are parsed in order.
  std::tuple<std::decay_t<Params>...> values{parse<std::decay_t<Params>>(info[I + 1], operands, I)...};
  std::apply([&](const auto&... v) { Declared::check(op.c_str(), v...); }, values);
  DeviceContext* context = operands.context();
  if (context == nullptr) return info.Env().Undefined();  // no tensor at all: nothing to do
  Task task = std::move(operands).task();
  task.op = op;
  Backend* backend = context->backend.get();
  task.run = [backend, values = std::move(values)] {
    backend->activate();
    std::apply([backend](const auto&... v) { (backend->*Declared::method)(v...); }, values);
  };
  size_t bytes = 0;
  for (const StorageList* list : {&task.inputs, &task.outputs}) {
    for (const StoragePtr& storage : *list) bytes += storage ? storage->bytes() : 0;
  }
  const bool mayRunInline = backend->runsInline(Declared::name, bytes);
  addon.runtime().submit(*context, std::move(task), mayRunInline);
  return info.Env().Undefined();
}

template <typename Declared, typename... Params>
Napi::Value callPrimitive(Addon& addon, const Napi::CallbackInfo& info, void (Backend::*)(Params...)) {
  return queuePrimitive<Declared, Params...>(addon, info, std::index_sequence_for<Params...>{});
}

template <typename Declared>
Napi::Value Addon::RunPrimitive(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] { return callPrimitive<Declared>(*this, info, Declared::method); });
}

}  // namespace neocog::binding
