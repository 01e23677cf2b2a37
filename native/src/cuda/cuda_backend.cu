#include "cuda/cuda_backend.h"

#include <memory>
#include <string>

#include "cuda/check.h"
#include "cuda/plugin_impl.h"

namespace neocog::cuda {

void* CudaBackend::rawAllocate(size_t bytes) {
  handles_.activate();
  void* ptr = nullptr;
  const cudaError_t status = cudaMalloc(&ptr, bytes);
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    fail(ErrorKind::OutOfMemory, device().str() + ": out of memory allocating " + std::to_string(bytes) + " bytes");
  }
  check(status, "cudaMalloc");
  return ptr;
}

void CudaBackend::rawFree(void* ptr, size_t) noexcept {
  cudaSetDevice(handles_.device());
  cudaFree(ptr);  // synchronises the device, so no queued kernel still uses ptr
}

void CudaBackend::copyToHost(void* dst, const void* src, size_t bytes) {
  handles_.activate();
  check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, handles_.stream()), "copy to host");
  check(cudaStreamSynchronize(handles_.stream()), "copy to host");
}

void CudaBackend::copyFromHost(void* dst, const void* src, size_t bytes) {
  handles_.activate();
  check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, handles_.stream()), "copy to device");
  // The host buffer is released when this task ends, so the copy must have read it.
  check(cudaStreamSynchronize(handles_.stream()), "copy to device");
}

void CudaBackend::synchronize() {
  handles_.activate();
  check(cudaStreamSynchronize(handles_.stream()), "synchronize");
}

std::unique_ptr<Backend> makeCudaBackend(int device) { return std::make_unique<CudaBackend>(device); }

}  // namespace neocog::cuda
