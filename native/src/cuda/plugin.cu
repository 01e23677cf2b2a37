// The plugin's entry point and device queries.
#include <cstring>
#include <memory>
#include <string>

#include "cuda/check.h"
#include "cuda/nccl_communicator.h"
#include "cuda/plugin_impl.h"
#include "neocog/plugin.h"

namespace neocog::cuda {

namespace {

class CudaPlugin final : public DevicePlugin {
 public:
  int deviceCount() override {
    int count = 0;
    const cudaError_t status = cudaGetDeviceCount(&count);
    if (status == cudaErrorInsufficientDriver) {
      cudaGetLastError();
      int driver = 0;
      cudaDriverGetVersion(&driver);
      fail(ErrorKind::Device, driver == 0
                                  ? "no NVIDIA driver: libcuda.so.1 was not found (cudaGetDeviceCount: "
                                    "cudaErrorInsufficientDriver, error 35)"
                                  : "the NVIDIA driver (CUDA " + std::to_string(driver / 1000) + "." +
                                        std::to_string(driver % 1000 / 10) + ") is older than this build's CUDA " +
                                        std::to_string(CUDART_VERSION / 1000) + " runtime");
    }
    if (status == cudaErrorNoDevice) {
      cudaGetLastError();
      return 0;
    }
    check(status, "cudaGetDeviceCount");
    return count;
  }

  DeviceProperties properties(int device) override {
    cudaDeviceProp prop{};
    check(cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties");
    DeviceProperties result;
    result.name = prop.name;
    result.totalMemory = prop.totalGlobalMem;
    result.major = prop.major;
    result.minor = prop.minor;
    result.multiProcessorCount = prop.multiProcessorCount;
    result.cudnnVersion = static_cast<int>(cudnnGetVersion());
    int major = 0, minor = 0, patch = 0;
    check(cublasGetProperty(MAJOR_VERSION, &major), "cublasGetProperty");
    check(cublasGetProperty(MINOR_VERSION, &minor), "cublasGetProperty");
    check(cublasGetProperty(PATCH_LEVEL, &patch), "cublasGetProperty");
    result.cublasVersion = major * 10000 + minor * 100 + patch;
    check(cudaRuntimeGetVersion(&result.runtimeVersion), "cudaRuntimeGetVersion");
    check(cudaDriverGetVersion(&result.driverVersion), "cudaDriverGetVersion");
    return result;
  }

  std::unique_ptr<Backend> createBackend(int device) override { return makeCudaBackend(device); }

  void* allocatePinned(size_t bytes) override {
    void* ptr = nullptr;
    // Portable: pinned for every device of the process, not only the current one.
    const cudaError_t status = cudaHostAlloc(&ptr, bytes, cudaHostAllocPortable);
    if (status == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      fail(ErrorKind::OutOfMemory, "pinMemory: no page-locked host memory left for " + std::to_string(bytes) + " bytes");
    }
    check(status, "pinMemory (cudaHostAlloc)");
    return ptr;
  }

  void freePinned(void* ptr) noexcept override { cudaFreeHost(ptr); }

  std::string ncclUniqueId() override { return newNcclUniqueId(); }

  std::unique_ptr<Communicator> createCommunicator(Backend& backend, const std::string& uniqueId, int rank,
                                                   int size) override {
    return makeNcclCommunicator(backend, uniqueId, rank, size);
  }
};

}  // namespace

}  // namespace neocog::cuda

extern "C" int neocog_cuda_plugin_create(const char* abi, std::unique_ptr<neocog::DevicePlugin>* out,
                                         std::string* error) {
  if (abi == nullptr || std::strcmp(abi, neocog::kPluginAbi) != 0) {
    *error = std::string("plugin ABI ") + neocog::kPluginAbi + " does not match the addon's " +
             (abi ? abi : "(none)") +
             " (install @neocog/linux-x64-cuda13 of the same version as neocog, or rebuild neocog)";
    return 1;
  }
  try {
    *out = std::make_unique<neocog::cuda::CudaPlugin>();
    return 0;
  } catch (const std::exception& e) {
    *error = e.what();
    return 1;
  }
}
