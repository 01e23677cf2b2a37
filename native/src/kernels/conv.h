// Convolution geometry shared by the CPU and CUDA backends: the output-size formula
// (PyTorch's, floor mode) used to check shapes before a library sees them.
#pragma once

#include <cstdint>

#include "kernels/host_device.h"
#include "neocog/op_params.h"

namespace neocog::kernels {

NC_HOST_DEVICE int64_t convOutputSize(int64_t in, int64_t kernel, int64_t stride, int64_t padBegin, int64_t padEnd,
                                      int64_t dilation) {
  return (in + padBegin + padEnd - dilation * (kernel - 1) - 1) / stride + 1;
}

}  // namespace neocog::kernels
