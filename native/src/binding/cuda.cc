// Loading the CUDA plugin and querying devices. lib/cuda.ts finds the plugin and the
// cuDNN/cuBLAS libraries; this only opens what it is given.
#include <string>
#include <vector>

#include "binding/addon.h"
#include "binding/args.h"
#include "binding/errors.h"

namespace neocog::binding {

Napi::Value Addon::CudaLoad(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    const std::string pluginPath = stringArg(info, 0, "cudaLoad", "pluginPath");
    if (!info[1].IsArray()) fail(ErrorKind::Internal, "cudaLoad: dependencies must be an array");
    const Napi::Array list = info[1].As<Napi::Array>();
    std::vector<std::string> dependencies;
    for (uint32_t i = 0; i < list.Length(); ++i) dependencies.push_back(list.Get(i).As<Napi::String>().Utf8Value());
    runtime().loadCuda(pluginPath, dependencies);
    return info.Env().Undefined();
  });
}

Napi::Value Addon::CudaDeviceCount(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    return Napi::Number::New(info.Env(), runtime().cudaDeviceCount());
  });
}

Napi::Value Addon::CudaProperties(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    const DeviceProperties p = runtime().cudaProperties(static_cast<int>(numberArg(info, 0, "cudaProperties", "device")));
    Napi::Object result = Napi::Object::New(info.Env());
    result.Set("name", p.name);
    result.Set("totalMemory", static_cast<double>(p.totalMemory));
    result.Set("major", p.major);
    result.Set("minor", p.minor);
    result.Set("multiProcessorCount", p.multiProcessorCount);
    result.Set("cudnnVersion", p.cudnnVersion);
    result.Set("cublasVersion", p.cublasVersion);
    result.Set("runtimeVersion", p.runtimeVersion);
    result.Set("driverVersion", p.driverVersion);
    return result;
  });
}

}  // namespace neocog::binding
