// RAII owners of cuDNN descriptors.
#pragma once

#include <cudnn.h>

#include <memory>

#include "cuda/check.h"

namespace neocog::cuda {

template <typename T, cudnnStatus_t (*Create)(T*), cudnnStatus_t (*Destroy)(T)>
class CudnnDescriptor {
 public:
  CudnnDescriptor() { check(Create(&handle_), "cudnnCreate*Descriptor"); }
  ~CudnnDescriptor() { Destroy(handle_); }
  CudnnDescriptor(const CudnnDescriptor&) = delete;
  CudnnDescriptor& operator=(const CudnnDescriptor&) = delete;
  T get() const { return handle_; }

 private:
  T handle_{};
};

using TensorDescriptor = CudnnDescriptor<cudnnTensorDescriptor_t, cudnnCreateTensorDescriptor, cudnnDestroyTensorDescriptor>;
using FilterDescriptor = CudnnDescriptor<cudnnFilterDescriptor_t, cudnnCreateFilterDescriptor, cudnnDestroyFilterDescriptor>;
using ConvolutionDescriptor =
    CudnnDescriptor<cudnnConvolutionDescriptor_t, cudnnCreateConvolutionDescriptor, cudnnDestroyConvolutionDescriptor>;

// Device scratch from the driver's stream-ordered pool (cudaMallocAsync), freed on the
// stream when it goes out of scope, so the memory is reusable by later work on it.
class StreamBuffer {
 public:
  StreamBuffer(size_t bytes, cudaStream_t stream) : stream_(stream), bytes_(bytes) {
    if (bytes_ > 0) check(cudaMallocAsync(&data_, bytes_, stream_), "cudaMallocAsync");
  }
  ~StreamBuffer() {
    if (data_) cudaFreeAsync(data_, stream_);
  }
  StreamBuffer(const StreamBuffer&) = delete;
  StreamBuffer& operator=(const StreamBuffer&) = delete;
  void* get() const { return data_; }
  size_t size() const { return bytes_; }

 private:
  cudaStream_t stream_;
  size_t bytes_;
  void* data_ = nullptr;
};

}  // namespace neocog::cuda
