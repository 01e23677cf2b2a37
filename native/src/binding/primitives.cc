// The primitives' exports, the parsers of their struct arguments, and transfer. Each
// parser mirrors one TypeScript type of lib/native.ts (named in its comment).
#include "binding/primitive.h"

#include <cctype>
#include <string>
#include <vector>

namespace neocog::binding {

void Addon::defineOps(Napi::Object exports) {
  Napi::Object declarations = Napi::Object::New(exports.Env());
#define NEOCOG_PRIMITIVE(name, ...) declarations.Set(#name, #__VA_ARGS__);
#include "neocog/primitives.def"
#undef NEOCOG_PRIMITIVE
  DefineProperties(exports, {
#define NEOCOG_PRIMITIVE(name, ...) InstanceMethod(#name, &Addon::RunPrimitive<primitives::name>),
#include "neocog/primitives.def"
#undef NEOCOG_PRIMITIVE
                                InstanceMethod("transfer", &Addon::Transfer),
                                // scripts/generate-native-types.mjs writes lib/native_primitives.ts from these.
                                InstanceValue("primitiveDeclarations", declarations),
                            });
}

std::vector<std::string> parameterNames(const char* declaration) {
  std::vector<std::string> names;
  const std::string text(declaration);
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    size_t last = end;
    while (last > start && std::isspace(static_cast<unsigned char>(text[last - 1]))) --last;
    size_t first = last;
    while (first > start && (std::isalnum(static_cast<unsigned char>(text[first - 1])) || text[first - 1] == '_')) --first;
    names.push_back(text.substr(first, last - first));
    start = end + 1;
  }
  return names;
}

void Operands::add(const TensorArg& tensor, bool read, bool written) {
  DeviceContext& context = tensor.storage->context();
  if (context_ == nullptr) {
    context_ = &context;
  } else if (&context != context_) {
    fail(ErrorKind::Device, op_ + ": expected all tensors on " + context_->backend->device().str() + ", got one on " +
                                context.backend->device().str());
  }
  if (read) inputs_.push_back(tensor.storage);
  if (written) outputs_.push_back(tensor.storage);
}

Task Operands::task() && {
  Task task;
  task.inputs = std::move(inputs_);
  task.outputs = std::move(outputs_);
  return task;
}

namespace {

int64_t integerProperty(const Napi::Object& object, const char* key, const Operands& operands, size_t index) {
  const Napi::Value value = object.Get(key);
  if (!value.IsNumber()) badArgument(operands.op(), operands.name(index), std::string("an object with numeric ") + key);
  return value.As<Napi::Number>().Int64Value();
}

float floatProperty(const Napi::Object& object, const char* key, const Operands& operands, size_t index) {
  const Napi::Value value = object.Get(key);
  if (!value.IsNumber()) badArgument(operands.op(), operands.name(index), std::string("an object with numeric ") + key);
  return value.As<Napi::Number>().FloatValue();
}

bool boolProperty(const Napi::Object& object, const char* key) { return object.Get(key).ToBoolean().Value(); }

// Reads `count` integers >= minimum from object[key] into target.
void intList(const Napi::Object& object, const char* key, int count, int64_t minimum, int64_t* target,
             const Operands& operands, size_t index) {
  const Napi::Value list = object.Get(key);
  if (!list.IsArray() || list.As<Napi::Array>().Length() != static_cast<uint32_t>(count)) {
    badArgument(operands.op(), operands.name(index), std::string("a ") + key + " entry per spatial dim");
  }
  for (int i = 0; i < count; ++i) {
    const Napi::Value entry = list.As<Napi::Array>().Get(static_cast<uint32_t>(i));
    target[i] = entry.IsNumber() ? entry.As<Napi::Number>().Int64Value() : minimum - 1;
    if (target[i] < minimum) {
      badArgument(operands.op(), operands.name(index), std::string(key) + " entries >= " + std::to_string(minimum));
    }
  }
}

Napi::Object objectArg(const Napi::Value& value, const Operands& operands, size_t index, const char* what) {
  if (!value.IsObject()) badArgument(operands.op(), operands.name(index), what);
  return value.As<Napi::Object>();
}

}  // namespace

// {spatial, stride, padBegin, padEnd, dilation, groups} (NativeConvParams).
ConvParams parseValue(const Napi::Value& value, Operands& operands, size_t index, ConvParams*) {
  const Napi::Object object = objectArg(value, operands, index, "a convolution parameter object");
  ConvParams p;
  p.spatial = static_cast<int32_t>(integerProperty(object, "spatial", operands, index));
  p.groups = integerProperty(object, "groups", operands, index);
  if (p.spatial < 1 || p.spatial > 3 || p.groups < 1) {
    badArgument(operands.op(), operands.name(index), "1 to 3 spatial dims and groups >= 1");
  }
  intList(object, "stride", p.spatial, 1, p.stride, operands, index);
  intList(object, "padBegin", p.spatial, 0, p.padBegin, operands, index);
  intList(object, "padEnd", p.spatial, 0, p.padEnd, operands, index);
  intList(object, "dilation", p.spatial, 1, p.dilation, operands, index);
  return p;
}

// {spatial, mode, adaptive, countIncludePad, divisorOverride, kernel, stride, padding,
// dilation} (NativePoolParams).
PoolParams parseValue(const Napi::Value& value, Operands& operands, size_t index, PoolParams*) {
  const Napi::Object object = objectArg(value, operands, index, "a pooling parameter object");
  PoolParams p;
  p.spatial = static_cast<int32_t>(integerProperty(object, "spatial", operands, index));
  const int64_t mode = integerProperty(object, "mode", operands, index);
  p.divisorOverride = integerProperty(object, "divisorOverride", operands, index);
  if (p.spatial < 1 || p.spatial > 3 || (mode != 0 && mode != 1) || p.divisorOverride < 0) {
    badArgument(operands.op(), operands.name(index), "1 to 3 spatial dims, mode 0 or 1, divisorOverride >= 0");
  }
  p.mode = static_cast<PoolMode>(mode);
  p.adaptive = boolProperty(object, "adaptive");
  p.countIncludePad = boolProperty(object, "countIncludePad");
  intList(object, "kernel", p.spatial, 1, p.kernel, operands, index);
  intList(object, "stride", p.spatial, 1, p.stride, operands, index);
  intList(object, "padding", p.spatial, 0, p.padding, operands, index);
  intList(object, "dilation", p.spatial, 1, p.dilation, operands, index);
  return p;
}

// {pooledH, pooledW, spatialScale, samplingRatio, aligned} (NativeRoiAlignParams).
RoiAlignParams parseValue(const Napi::Value& value, Operands& operands, size_t index, RoiAlignParams*) {
  const Napi::Object object = objectArg(value, operands, index, "a RoI Align parameter object");
  RoiAlignParams p;
  p.pooledH = integerProperty(object, "pooledH", operands, index);
  p.pooledW = integerProperty(object, "pooledW", operands, index);
  p.spatialScale = floatProperty(object, "spatialScale", operands, index);
  p.samplingRatio = integerProperty(object, "samplingRatio", operands, index);
  p.aligned = boolProperty(object, "aligned");
  if (p.pooledH < 1 || p.pooledW < 1) badArgument(operands.op(), operands.name(index), "an output size >= 1");
  return p;
}

// {allowTf32, deterministic} (NativeMathOptions).
MathOptions parseValue(const Napi::Value& value, Operands& operands, size_t index, MathOptions*) {
  const Napi::Object object = objectArg(value, operands, index, "a math options object");
  MathOptions math;
  math.allowTf32 = boolProperty(object, "allowTf32");
  math.deterministic = boolProperty(object, "deterministic");
  return math;
}

// [seed, offset] (NativeRandomState).
RandomState parseValue(const Napi::Value& value, Operands& operands, size_t index, RandomState*) {
  if (!value.IsArray() || value.As<Napi::Array>().Length() != 2) {
    badArgument(operands.op(), operands.name(index), "[seed, offset]");
  }
  const Napi::Array pair = value.As<Napi::Array>();
  return RandomState{static_cast<uint64_t>(numberValue(pair.Get(0u), operands.op(), "seed")),
                     static_cast<uint64_t>(numberValue(pair.Get(1u), operands.op(), "offset"))};
}

// {kind, lr, weightDecay, decoupledWeightDecay, momentum, dampening, nesterov, firstStep,
// beta1, beta2, biasCorrection1, biasCorrection2Sqrt, alpha, centered, eps} (NativeOptimizerStep).
OptimizerStep parseValue(const Napi::Value& value, Operands& operands, size_t index, OptimizerStep*) {
  const Napi::Object o = objectArg(value, operands, index, "an optimizer step object");
  OptimizerStep s;
  const int64_t kind = integerProperty(o, "kind", operands, index);
  if (kind < 0 || kind > 2) badArgument(operands.op(), operands.name(index), "a step with kind 0, 1 or 2");
  s.kind = static_cast<OptimizerKind>(kind);
  s.lr = floatProperty(o, "lr", operands, index);
  s.weightDecay = floatProperty(o, "weightDecay", operands, index);
  s.decoupledWeightDecay = boolProperty(o, "decoupledWeightDecay");
  s.momentum = floatProperty(o, "momentum", operands, index);
  s.dampening = floatProperty(o, "dampening", operands, index);
  s.nesterov = boolProperty(o, "nesterov");
  s.firstStep = boolProperty(o, "firstStep");
  s.beta1 = floatProperty(o, "beta1", operands, index);
  s.beta2 = floatProperty(o, "beta2", operands, index);
  s.biasCorrection1 = floatProperty(o, "biasCorrection1", operands, index);
  s.biasCorrection2Sqrt = floatProperty(o, "biasCorrection2Sqrt", operands, index);
  s.alpha = floatProperty(o, "alpha", operands, index);
  s.centered = boolProperty(o, "centered");
  s.eps = floatProperty(o, "eps", operands, index);
  return s;
}

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
    const TensorArg out = tensorArg(info[0], "to", "out");
    const TensorArg in = tensorArg(info[1], "to", "input");
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
