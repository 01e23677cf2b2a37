// The neutral interface between bench/kernels/ab_main.cc and the two builds of
// ab_kernels.cc (one against the base commit's kernels, one against the working tree's):
// plain structs, so the two builds need not share neocog's types.
#pragma once

#include <cstdint>

struct AbTensor {
  void* data = nullptr;
  int dtype = 0;  // neocog::DType
  int ndim = 0;
  int64_t shape[8] = {};
  int64_t strides[8] = {};
};

struct AbPool {
  int64_t kernel = 1, stride = 1, padding = 0;
};

struct AbKernels {
  void (*copy)(const AbTensor& out, const AbTensor& in);
  void (*binaryAdd)(const AbTensor& out, const AbTensor& a, const AbTensor& b);
  void (*normal)(const AbTensor& out, uint64_t seed, uint64_t offset);
  void (*batchNormForward)(const AbTensor& out, const AbTensor& input, const AbTensor& weight, const AbTensor& bias,
                           const AbTensor& mean, const AbTensor& var);
  void (*batchNormBackward)(const AbTensor& gradInput, const AbTensor& gradWeight, const AbTensor& gradBias,
                            const AbTensor& gradOutput, const AbTensor& input, const AbTensor& weight,
                            const AbTensor& mean, const AbTensor& var);
  void (*maxPoolForward)(const AbPool& p, const AbTensor& out, const AbTensor& indices, const AbTensor& input);
  void (*maxPoolBackward)(const AbPool& p, const AbTensor& gradInput, const AbTensor& gradOutput,
                          const AbTensor& indices);
};

AbKernels oldKernels();
AbKernels newKernels();
