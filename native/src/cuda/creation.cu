// Creation kernels; the per-element math is kernels/elementwise.h and kernels/random.h.
#include "cuda/check.h"
#include "cuda/launch.h"
#include "cuda/cuda_backend.h"
#include "kernels/dispatch.h"
#include "kernels/elementwise.h"
#include "kernels/random.h"
#include "kernels/strided.h"

namespace neocog::cuda {

namespace {

template <typename T>
__global__ void fillKernel(T* data, Layout layout, int64_t n, T value) {
  NC_GRID_STRIDE_LOOP(i, n) { data[kernels::stridedOffset(layout, i)] = value; }
}

template <typename T>
__global__ void arangeKernel(T* data, Layout layout, int64_t n, double start, double step) {
  NC_GRID_STRIDE_LOOP(i, n) {
    data[kernels::stridedOffset(layout, i)] = kernels::castValue<T>(start + static_cast<double>(i) * step);
  }
}

__global__ void uniformKernel(float* data, Layout layout, int64_t n, RandomState rng, float low, float high) {
  NC_GRID_STRIDE_LOOP(i, n) {
    data[kernels::stridedOffset(layout, i)] = kernels::uniformAt(rng.seed, rng.offset + i, low, high);
  }
}

__global__ void normalKernel(float* data, Layout layout, int64_t n, RandomState rng, float mean, float stddev) {
  NC_GRID_STRIDE_LOOP(i, n) {
    data[kernels::stridedOffset(layout, i)] = kernels::normalAt(rng.seed, rng.offset + i, mean, stddev);
  }
}

}  // namespace

void fill(DeviceHandles& h, const TensorRef& out, double value) {
  const int64_t n = out.numel();
  if (n == 0) return;
  kernels::dispatchWithHalf(out.dtype, "fill", [&](auto tag) {
    using T = decltype(tag);
    fillKernel<T><<<gridFor(n), kBlockSize, 0, h.stream()>>>(out.as<T>(), out.layout, n, kernels::castValue<T>(value));
  });
  checkLaunch("fill");
}

void arange(DeviceHandles& h, const TensorRef& out, double start, double step) {
  const int64_t n = out.numel();
  if (n == 0) return;
  kernels::dispatchDType(out.dtype, "arange", [&](auto tag) {
    using T = decltype(tag);
    arangeKernel<T><<<gridFor(n), kBlockSize, 0, h.stream()>>>(out.as<T>(), out.layout, n, start, step);
  });
  checkLaunch("arange");
}

void uniform(DeviceHandles& h, const TensorRef& out, RandomState rng, double low, double high) {
  const int64_t n = out.numel();
  if (n == 0) return;
  uniformKernel<<<gridFor(n), kBlockSize, 0, h.stream()>>>(out.as<float>(), out.layout, n, rng,
                                                            static_cast<float>(low), static_cast<float>(high));
  checkLaunch("rand");
}

void normal(DeviceHandles& h, const TensorRef& out, RandomState rng, double mean, double stddev) {
  const int64_t n = out.numel();
  if (n == 0) return;
  normalKernel<<<gridFor(n), kBlockSize, 0, h.stream()>>>(out.as<float>(), out.layout, n, rng,
                                                           static_cast<float>(mean), static_cast<float>(stddev));
  checkLaunch("randn");
}

// The primitives this file implements (neocog/primitives.def).
void CudaBackend::fill(Out out, double value) { cuda::fill(handles_, out, value); }
void CudaBackend::arange(Out out, double start, double step) { cuda::arange(handles_, out, start, step); }
void CudaBackend::uniform(Out out, RandomState rng, double low, double high) {
  cuda::uniform(handles_, out, rng, low, high);
}
void CudaBackend::normal(Out out, RandomState rng, double mean, double stddev) {
  cuda::normal(handles_, out, rng, mean, stddev);
}

}  // namespace neocog::cuda
