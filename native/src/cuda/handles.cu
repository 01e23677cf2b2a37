#include "cuda/check.h"
#include "cuda/handles.h"

namespace neocog::cuda {

DeviceHandles::DeviceHandles(int device) : device_(device) {
  activate();
  check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
}

DeviceHandles::~DeviceHandles() {
  cudaSetDevice(device_);
  if (cublas_) cublasDestroy(cublas_);
  if (cudnn_) cudnnDestroy(cudnn_);
  if (stream_) {
    cudaStreamSynchronize(stream_);
    cudaStreamDestroy(stream_);
  }
}

void DeviceHandles::activate() const { check(cudaSetDevice(device_), "cudaSetDevice"); }

cudnnHandle_t DeviceHandles::cudnn() {
  if (!cudnn_) {
    check(cudnnCreate(&cudnn_), "cudnnCreate");
    check(cudnnSetStream(cudnn_, stream_), "cudnnSetStream");
  }
  return cudnn_;
}

cublasHandle_t DeviceHandles::cublas() {
  if (!cublas_) {
    check(cublasCreate(&cublas_), "cublasCreate");
    check(cublasSetStream(cublas_, stream_), "cublasSetStream");
    // FP32 stays FP32 unless a caller opts into TF32 (the CUDA issue adds that option).
    check(cublasSetMathMode(cublas_, CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
  }
  return cublas_;
}

}  // namespace neocog::cuda
