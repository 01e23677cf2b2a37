// index_select and index_add on the GPU. Indices are checked by a first kernel that records the first bad
// one; the host reads that flag back so the error names the value, as the CPU backend does.
#include <string>

#include "cuda/check.h"
#include "cuda/launch.h"
#include "cuda/cuda_backend.h"
#include "kernels/dispatch.h"
#include "kernels/indexing.h"

namespace neocog::cuda {

namespace {

__global__ void checkIndexKernel(const int32_t* index, Layout layout, int64_t n, int64_t size, int32_t* badValue,
                                 int32_t* found) {
  NC_GRID_STRIDE_LOOP(k, n) {
    const int32_t v = index[kernels::stridedOffset(layout, k)];
    if (!kernels::indexInRange(v, size) && atomicExch(found, 1) == 0) *badValue = v;
  }
}

template <typename T>
__global__ void indexSelectKernel(T* out, Layout outLayout, const T* in, Layout inLayout, int dim,
                                  const int32_t* index, Layout indexLayout, int64_t n) {
  NC_GRID_STRIDE_LOOP(i, n) {
    out[kernels::stridedOffset(outLayout, i)] =
        in[kernels::indexSelectSource(outLayout, inLayout, dim, index, indexLayout, i)];
  }
}

// Atomic accumulation: repeated indices add up in any order (float sums may differ from
// the CPU's in the last bits, as in PyTorch's CUDA index_add_).
template <typename T>
__global__ void indexAddKernel(T* out, Layout outLayout, int dim, const int32_t* index, Layout indexLayout,
                               const T* source, Layout sourceLayout, int64_t n) {
  NC_GRID_STRIDE_LOOP(i, n) {
    int64_t rest = i, outOffset = 0, srcOffset = 0;
    for (int d = sourceLayout.ndim - 1; d >= 0; --d) {
      const int64_t coord = rest % sourceLayout.shape[d];
      rest /= sourceLayout.shape[d];
      srcOffset += coord * sourceLayout.strides[d];
      outOffset += (d == dim ? index[kernels::stridedOffset(indexLayout, coord)] : coord) * outLayout.strides[d];
    }
    atomicAdd(out + outOffset, source[srcOffset]);
  }
}

template <typename T>
__global__ void gatherKernel(T* out, Layout outLayout, const T* input, Layout inputLayout, int dim,
                             const int32_t* index, Layout indexLayout, int64_t n) {
  NC_GRID_STRIDE_LOOP(i, n) {
    const int32_t v = index[kernels::stridedOffset(indexLayout, i)];
    out[kernels::stridedOffset(outLayout, i)] = input[kernels::gatherOffset(indexLayout, inputLayout, dim, v, i)];
  }
}

template <typename T>
__global__ void scatterAddKernel(T* out, Layout outLayout, int dim, const int32_t* index, Layout indexLayout,
                                 const T* source, Layout sourceLayout, int64_t n) {
  NC_GRID_STRIDE_LOOP(i, n) {
    const int32_t v = index[kernels::stridedOffset(indexLayout, i)];
    atomicAdd(out + kernels::gatherOffset(indexLayout, outLayout, dim, v, i), source[kernels::stridedOffset(sourceLayout, i)]);
  }
}

// Two int32 of device scratch, freed on every path.
class ScratchFlags {
 public:
  explicit ScratchFlags(cudaStream_t stream) : stream_(stream) {
    check(cudaMallocAsync(reinterpret_cast<void**>(&flags_), 2 * sizeof(int32_t), stream_), "indexSelect");
    check(cudaMemsetAsync(flags_, 0, 2 * sizeof(int32_t), stream_), "indexSelect");
  }
  ~ScratchFlags() { cudaFreeAsync(flags_, stream_); }
  ScratchFlags(const ScratchFlags&) = delete;
  ScratchFlags& operator=(const ScratchFlags&) = delete;
  int32_t* get() const { return flags_; }

 private:
  cudaStream_t stream_;
  int32_t* flags_ = nullptr;
};

}  // namespace

// Throws Error(Index) naming the first out-of-range value found (waits for the stream).
void checkIndices(DeviceHandles& h, const char* op, const TensorRef& index, int dim, int64_t size) {
  const int64_t count = index.numel();
  if (count == 0) return;
  ScratchFlags flags(h.stream());
  checkIndexKernel<<<gridFor(count), kBlockSize, 0, h.stream()>>>(index.as<int32_t>(), index.layout, count, size,
                                                                   flags.get(), flags.get() + 1);
  checkLaunch(op);
  int32_t host[2] = {0, 0};
  check(cudaMemcpyAsync(host, flags.get(), sizeof(host), cudaMemcpyDeviceToHost, h.stream()), op);
  check(cudaStreamSynchronize(h.stream()), op);
  if (host[1] != 0) {
    fail(ErrorKind::Index, std::string(op) + ": index " + std::to_string(host[0]) + " is out of range for dimension " +
                               std::to_string(dim) + " with size " + std::to_string(size));
  }
}

void indexSelect(DeviceHandles& h, const TensorRef& out, const TensorRef& in, int dim, const TensorRef& index) {
  checkIndices(h, "indexSelect", index, dim, in.layout.shape[dim]);
  const int64_t n = out.numel();
  if (n == 0) return;
  kernels::dispatchDType(out.dtype, "indexSelect", [&](auto tag) {
    using T = decltype(tag);
    indexSelectKernel<T><<<gridFor(n), kBlockSize, 0, h.stream()>>>(out.as<T>(), out.layout, in.as<T>(), in.layout,
                                                                    dim, index.as<int32_t>(), index.layout, n);
  });
  checkLaunch("indexSelect");
}

void indexAdd(DeviceHandles& h, const TensorRef& out, int dim, const TensorRef& index, const TensorRef& source) {
  const int64_t n = source.numel();
  if (n == 0) return;
  if (out.dtype == DType::Float32) {
    indexAddKernel<float><<<gridFor(n), kBlockSize, 0, h.stream()>>>(out.as<float>(), out.layout, dim, index.as<int32_t>(),
                                                                     index.layout, source.as<float>(), source.layout, n);
  } else if (out.dtype == DType::Int32) {
    indexAddKernel<int><<<gridFor(n), kBlockSize, 0, h.stream()>>>(out.as<int>(), out.layout, dim, index.as<int32_t>(),
                                                                   index.layout, source.as<int>(), source.layout, n);
  } else {
    fail(ErrorKind::DType, std::string("indexAdd: unsupported dtype ") + dtypeName(out.dtype) + " on CUDA");
  }
  checkLaunch("indexAdd");
}

void gather(DeviceHandles& h, const TensorRef& out, const TensorRef& input, int dim, const TensorRef& index) {
  checkIndices(h, "gather", index, dim, input.layout.shape[dim]);
  const int64_t n = out.numel();
  if (n == 0) return;
  kernels::dispatchDType(out.dtype, "gather", [&](auto tag) {
    using T = decltype(tag);
    gatherKernel<T><<<gridFor(n), kBlockSize, 0, h.stream()>>>(out.as<T>(), out.layout, input.as<T>(), input.layout, dim,
                                                               index.as<int32_t>(), index.layout, n);
  });
  checkLaunch("gather");
}

void scatterAdd(DeviceHandles& h, const TensorRef& out, int dim, const TensorRef& index, const TensorRef& source) {
  // An index outside the target would write past the allocation: refuse it as gather does.
  checkIndices(h, "scatterAdd", index, dim, out.layout.shape[dim]);
  const int64_t n = index.numel();
  if (n == 0) return;
  if (out.dtype == DType::Float32) {
    scatterAddKernel<float><<<gridFor(n), kBlockSize, 0, h.stream()>>>(out.as<float>(), out.layout, dim, index.as<int32_t>(),
                                                                       index.layout, source.as<float>(), source.layout, n);
  } else if (out.dtype == DType::Int32) {
    scatterAddKernel<int><<<gridFor(n), kBlockSize, 0, h.stream()>>>(out.as<int>(), out.layout, dim, index.as<int32_t>(),
                                                                     index.layout, source.as<int>(), source.layout, n);
  } else {
    fail(ErrorKind::DType, std::string("scatterAdd: unsupported dtype ") + dtypeName(out.dtype) + " on CUDA");
  }
  checkLaunch("scatterAdd");
}

// The primitives this file implements (neocog/primitives.def).
void CudaBackend::indexSelect(Out out, In input, int32_t dim, In index) {
  cuda::indexSelect(handles_, out, input, dim, index);
}
void CudaBackend::indexAdd(InOut out, int32_t dim, In index, In source) {
  cuda::indexAdd(handles_, out, dim, index, source);
}
void CudaBackend::gather(Out out, In input, int32_t dim, In index) { cuda::gather(handles_, out, input, dim, index); }
void CudaBackend::scatterAdd(InOut out, int32_t dim, In index, In source) {
  cuda::scatterAdd(handles_, out, dim, index, source);
}

}  // namespace neocog::cuda
