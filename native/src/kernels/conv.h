// Convolution geometry shared by the CPU and CUDA backends: the output-size formula
// (PyTorch's, floor mode) used to check shapes before a library sees them, and the layout of
// convDepthwiseBlock's intermediates when its convolutions run apart.
#pragma once

#include <cstdint>

#include "kernels/host_device.h"
#include "neocog/op_params.h"

namespace neocog::kernels {

NC_HOST_DEVICE int64_t convOutputSize(int64_t in, int64_t kernel, int64_t stride, int64_t padBegin, int64_t padEnd,
                                      int64_t dilation) {
  return (in + padBegin + padEnd - dilation * (kernel - 1) - 1) / stride + 1;
}

// A convolution's output [N, channels, *outSpatial] for `input` [N, C, H, W] and a kernel of
// kernelH x kernelW, dense channels-last (what a depthwise convolution reads fastest on both
// libraries): convDepthwiseBlock's intermediates.
inline Layout convOutputLayout(const Layout& input, int64_t channels, const ConvParams& p, int64_t kernelH,
                               int64_t kernelW) {
  Layout m = input;
  m.shape[1] = channels;
  m.shape[2] = convOutputSize(input.shape[2], kernelH, p.stride[0], p.padBegin[0], p.padEnd[0], p.dilation[0]);
  m.shape[3] = convOutputSize(input.shape[3], kernelW, p.stride[1], p.padBegin[1], p.padEnd[1], p.dilation[1]);
  m.strides[1] = 1;
  m.strides[3] = channels;
  m.strides[2] = m.shape[3] * channels;
  m.strides[0] = m.shape[2] * m.strides[2];
  return m;
}

}  // namespace neocog::kernels
