// Convolution geometry shared by the CPU and CUDA backends: the output-size formula
// (PyTorch's, floor mode) used to check shapes before a library sees them, and the layout of
// convPointwiseDepthwise's intermediate when its two convolutions run apart.
#pragma once

#include <cstdint>

#include "kernels/host_device.h"
#include "neocog/op_params.h"

namespace neocog::kernels {

NC_HOST_DEVICE int64_t convOutputSize(int64_t in, int64_t kernel, int64_t stride, int64_t padBegin, int64_t padEnd,
                                      int64_t dilation) {
  return (in + padBegin + padEnd - dilation * (kernel - 1) - 1) / stride + 1;
}

// convPointwiseDepthwise's pointwise output: `input` [N, C, H, W] with `channels` channels,
// dense channels-last (what the depthwise convolution reads fastest on both libraries).
inline Layout pointwiseOutputLayout(const Layout& input, int64_t channels) {
  Layout m = input;
  m.shape[1] = channels;
  m.strides[1] = 1;
  m.strides[3] = channels;
  m.strides[2] = m.shape[3] * channels;
  m.strides[0] = m.shape[2] * m.strides[2];
  return m;
}

}  // namespace neocog::kernels
