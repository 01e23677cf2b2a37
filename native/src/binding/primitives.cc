// The primitives' exports, the parsers of their struct arguments, and transfer. Each
// parser mirrors one TypeScript type of lib/native.ts (named in its comment).
#include "binding/primitive.h"

#include <cctype>
#include <cstring>
#include <string>
#include <vector>

namespace neocog::binding {

namespace {

// The struct parameters of one primitive, by the type names its declaration gives them.
template <typename... Params, size_t... I>
void describeStructs(Napi::Object& structs, const char* declaration, void (Backend::*)(Params...),
                     std::index_sequence<I...>) {
  const std::vector<Parameter> params = parameters(declaration);
  const auto describe = [&](auto tag, size_t index) {
    using T = typename decltype(tag)::type;
    if constexpr (HasFields<T>::value) structs.Set(params[index].type, describeStruct<T>());
  };
  (describe(std::common_type<std::decay_t<Params>>{}, I), ...);
}

template <typename... Params>
void describeStructs(Napi::Object& structs, const char* declaration, void (Backend::*method)(Params...)) {
  describeStructs(structs, declaration, method, std::index_sequence_for<Params...>{});
}

}  // namespace

void Addon::defineOps(Napi::Object exports) {
  Napi::Object declarations = Napi::Object::New(exports.Env());
  Napi::Object structs = Napi::Object::New(exports.Env());
#define NEOCOG_PRIMITIVE(name, ...)            \
  declarations.Set(#name, #__VA_ARGS__); \
  describeStructs(structs, #__VA_ARGS__, &Backend::name);
#include "neocog/primitives.def"
#undef NEOCOG_PRIMITIVE
  DefineProperties(exports, {
#define NEOCOG_PRIMITIVE(name, ...) InstanceMethod(#name, &Addon::RunPrimitive<primitives::name>),
#include "neocog/primitives.def"
#undef NEOCOG_PRIMITIVE
                                InstanceMethod("transfer", &Addon::Transfer),
                                // scripts/generate-native-types.mjs writes lib/native_primitives.ts from these.
                                InstanceValue("primitiveDeclarations", declarations),
                                InstanceValue("structDeclarations", structs),
                            });
}

std::vector<Parameter> parameters(const char* declaration) {
  const auto trim = [](const std::string& text) {
    const size_t first = text.find_first_not_of(" \t\n"), last = text.find_last_not_of(" \t\n");
    return first == std::string::npos ? std::string() : text.substr(first, last - first + 1);
  };
  std::vector<Parameter> result;
  const std::string text(declaration);
  for (size_t start = 0; start <= text.size();) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    const std::string parameter = trim(text.substr(start, end - start));
    size_t split = parameter.size();
    while (split > 0 && (std::isalnum(static_cast<unsigned char>(parameter[split - 1])) || parameter[split - 1] == '_')) --split;
    std::string type = parameter.substr(0, split);
    for (const char* noise : {"const ", "&"}) {
      for (size_t at; (at = type.find(noise)) != std::string::npos;) type.erase(at, std::strlen(noise));
    }
    result.push_back(Parameter{trim(type), parameter.substr(split)});
    start = end + 1;
  }
  return result;
}

void Operands::add(const TensorArg& tensor, bool read, bool written) {
  DeviceContext& context = tensor.storage->context();
  if (context_ == nullptr) {
    context_ = &context;
  } else if (&context != context_) {
    fail(ErrorKind::Device, op_ + ": expected all tensors on " + context_->backend->device().str() + ", got one on " +
                                context.backend->device().str());
  }
  if (read) task_.inputs.push_back(tensor.storage);
  if (written) task_.outputs.push_back(tensor.storage);
}

Task Operands::task() && { return std::move(task_); }

// [[param, grad, state0 | null, state1 | null, state2 | null], ...] (NativeOptimizerEntry[]):
// parameters and states are updated in place, gradients only read.
std::vector<OptimizerTensors> parseValue(const Napi::Value& value, Operands& operands, size_t index,
                                         std::vector<OptimizerTensors>*) {
  if (!value.IsArray()) badArgument(operands.op(), operands.name(index), "an array of parameter entries");
  const Napi::Array entries = value.As<Napi::Array>();
  std::vector<OptimizerTensors> tensors;
  tensors.reserve(entries.Length());
  for (uint32_t i = 0; i < entries.Length(); ++i) {
    const Napi::Value entry = entries.Get(i);
    if (!entry.IsArray() || entry.As<Napi::Array>().Length() != 5) {
      badArgument(operands.op(), operands.name(index), "entries [param, grad, state0, state1, state2]");
    }
    const Napi::Array e = entry.As<Napi::Array>();
    OptimizerTensors t;
    t.param = parse<InOutTensor>(e.Get(0u), operands, index);
    t.grad = parse<InputTensor>(e.Get(1u), operands, index);
    for (uint32_t k = 0; k < 3; ++k) {
      const Napi::Value state = e.Get(k + 2);
      if (!state.IsNull() && !state.IsUndefined()) t.state[k] = parse<InOutTensor>(state, operands, index);
    }
    tensors.push_back(t);
  }
  return tensors;
}

// [tensor, ...] updated in place (InOutList).
std::vector<TensorRef> parseValue(const Napi::Value& value, Operands& operands, size_t index, std::vector<TensorRef>*) {
  if (!value.IsArray()) badArgument(operands.op(), operands.name(index), "an array of tensors");
  const Napi::Array list = value.As<Napi::Array>();
  std::vector<TensorRef> tensors;
  tensors.reserve(list.Length());
  for (uint32_t i = 0; i < list.Length(); ++i) tensors.push_back(parse<InOutTensor>(list.Get(i), operands, index));
  return tensors;
}

Napi::Value Addon::Transfer(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    const TensorArg out = tensorArg(*this, info[0], "to", "out");
    const TensorArg in = tensorArg(*this, info[1], "to", "input");
    if (out.ref.dtype != in.ref.dtype || !out.ref.layout.isContiguous() || !in.ref.layout.isContiguous() ||
        out.ref.numel() != in.ref.numel()) {
      fail(ErrorKind::Internal, "to: native transfer needs contiguous operands of one dtype and size");
    }
    const size_t elementSize = dtypeSize(out.ref.dtype);
    const auto offsetOf = [&](const TensorArg& t) {
      return static_cast<size_t>(static_cast<char*>(t.ref.data) - static_cast<char*>(t.storage->data()));
    };
    runtime().throwPendingError();
    runtime().transfer(out.storage, offsetOf(out), in.storage, offsetOf(in),
                       static_cast<size_t>(out.ref.numel()) * elementSize);
    return info.Env().Undefined();
  });
}

}  // namespace neocog::binding
