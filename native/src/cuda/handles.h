// One device's CUDA stream and its cuDNN / cuBLAS handles, created on first use (creating a
// cuDNN handle costs tens of milliseconds and device memory) and destroyed with the backend.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

namespace neocog::cuda {

class DeviceHandles {
 public:
  explicit DeviceHandles(int device);
  ~DeviceHandles();
  DeviceHandles(const DeviceHandles&) = delete;
  DeviceHandles& operator=(const DeviceHandles&) = delete;

  int device() const { return device_; }
  cudaStream_t stream() const { return stream_; }
  cudnnHandle_t cudnn();
  cublasHandle_t cublas();
  // Makes this device current on the calling thread.
  void activate() const;

 private:
  int device_;
  cudaStream_t stream_ = nullptr;
  cudnnHandle_t cudnn_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
};

}  // namespace neocog::cuda
