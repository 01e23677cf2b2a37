// The CUDA implementations behind CudaBackend, one file per topic (same names as cpu/ops.h).
#pragma once

#include "cuda/handles.h"
#include "neocog/backend.h"

namespace neocog::cuda {

void fill(DeviceHandles& h, const TensorRef& out, double value);
void arange(DeviceHandles& h, const TensorRef& out, double start, double step);
void uniform(DeviceHandles& h, const TensorRef& out, RandomState rng, double low, double high);
void normal(DeviceHandles& h, const TensorRef& out, RandomState rng, double mean, double stddev);
void copy(DeviceHandles& h, const TensorRef& out, const TensorRef& in);
void binary(DeviceHandles& h, BinaryOp op, const TensorRef& out, const TensorRef& a, const TensorRef& b);
void matmul(DeviceHandles& h, const TensorRef& out, const TensorRef& a, const TensorRef& b);
void indexSelect(DeviceHandles& h, const TensorRef& out, const TensorRef& in, int dim, const TensorRef& index);

}  // namespace neocog::cuda
