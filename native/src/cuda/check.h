// Every CUDA, cuDNN and cuBLAS status becomes a neocog::Error naming the op and the status.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <string>

#include "neocog/error.h"

namespace neocog::cuda {

inline ErrorKind kindOf(cudaError_t status) {
  return status == cudaErrorMemoryAllocation ? ErrorKind::OutOfMemory : ErrorKind::Device;
}

// Errors that leave the CUDA context unusable; PyTorch calls these "sticky".
inline bool isSticky(cudaError_t status) {
  return status == cudaErrorIllegalAddress || status == cudaErrorLaunchFailure ||
         status == cudaErrorIllegalInstruction || status == cudaErrorMisalignedAddress ||
         status == cudaErrorHardwareStackError || status == cudaErrorAssert;
}

inline void check(cudaError_t status, const char* what) {
  if (status == cudaSuccess) return;
  cudaGetLastError();  // clear a non-sticky error so the next call starts clean
  std::string message = std::string(what) + ": " + cudaGetErrorName(status) + " (" + cudaGetErrorString(status) + ")";
  if (isSticky(status)) message += "; this is a sticky device error: the CUDA context is unusable, restart the process";
  throw Error(kindOf(status), message);
}

inline void check(cudnnStatus_t status, const char* what) {
  if (status == CUDNN_STATUS_SUCCESS) return;
  throw Error(ErrorKind::Device, std::string(what) + ": " + cudnnGetErrorString(status));
}

inline void check(cublasStatus_t status, const char* what) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  const ErrorKind kind = status == CUBLAS_STATUS_ALLOC_FAILED ? ErrorKind::OutOfMemory : ErrorKind::Device;
  throw Error(kind, std::string(what) + ": " + cublasGetStatusName(status) + " (" + cublasGetStatusString(status) + ")");
}

// After a kernel launch: launch-configuration errors are reported here, execution errors at
// the next synchronisation.
inline void checkLaunch(const char* op) { check(cudaGetLastError(), op); }

}  // namespace neocog::cuda
