// Box IoU matrices and NMS on the GPU (math in kernels/boxes.h). NMS follows torchvision's
// CUDA kernel: blocks of 64 boxes compare a row block against a column block and write a
// 64-bit mask of the boxes each row box suppresses; the greedy scan over those masks is
// sequential, so it runs on the host (one copy down, one copy up), as torchvision's does.
#include <cstdint>
#include <vector>

#include "cuda/check.h"
#include "cuda/cudnn_desc.h"
#include "cuda/launch.h"
#include "cuda/cuda_backend.h"
#include "kernels/boxes.h"

namespace neocog::cuda {

namespace {

constexpr int kBoxesPerBlock = 64;  // one bit per box of a column block

__global__ void boxIouKernel(float* out, const float* a, const float* b, int64_t m, int64_t total) {
  NC_GRID_STRIDE_LOOP(k, total) { out[k] = kernels::boxIou(a + (k / m) * 4, b + (k % m) * 4); }
}

__global__ void nmsMaskKernel(const float* boxes, int64_t n, float threshold, int64_t colBlocks,
                              unsigned long long* mask) {
  const int64_t rowBlock = blockIdx.y, colBlock = blockIdx.x;
  if (rowBlock > colBlock) return;  // only boxes after a row box can be suppressed by it
  const int64_t rowCount = n - rowBlock * kBoxesPerBlock < kBoxesPerBlock ? n - rowBlock * kBoxesPerBlock : kBoxesPerBlock;
  const int64_t colCount = n - colBlock * kBoxesPerBlock < kBoxesPerBlock ? n - colBlock * kBoxesPerBlock : kBoxesPerBlock;
  __shared__ float cols[kBoxesPerBlock * 4];
  if (threadIdx.x < colCount) {
    for (int c = 0; c < 4; ++c) cols[threadIdx.x * 4 + c] = boxes[(colBlock * kBoxesPerBlock + threadIdx.x) * 4 + c];
  }
  __syncthreads();
  if (threadIdx.x >= rowCount) return;
  const int64_t row = rowBlock * kBoxesPerBlock + threadIdx.x;
  const float* box = boxes + row * 4;
  unsigned long long bits = 0;
  for (int64_t j = rowBlock == colBlock ? threadIdx.x + 1 : 0; j < colCount; ++j) {
    if (kernels::boxIou(box, cols + j * 4) > threshold) bits |= 1ULL << j;
  }
  mask[row * colBlocks + colBlock] = bits;
}

}  // namespace

void boxIou(DeviceHandles& h, const TensorRef& out, const TensorRef& a, const TensorRef& b) {
  const int64_t total = out.numel();
  if (total == 0) return;
  boxIouKernel<<<gridFor(total), kBlockSize, 0, h.stream()>>>(out.as<float>(), a.as<float>(), b.as<float>(),
                                                               b.layout.shape[0], total);
  checkLaunch("boxIou");
}

void nms(DeviceHandles& h, const TensorRef& keep, const TensorRef& boxes, double iouThreshold) {
  const int64_t n = boxes.layout.shape[0];
  if (n == 0) return;
  const int64_t colBlocks = (n + kBoxesPerBlock - 1) / kBoxesPerBlock;
  const size_t maskWords = static_cast<size_t>(n * colBlocks);
  StreamBuffer mask(maskWords * sizeof(unsigned long long), h.stream());
  // Row blocks after a column block are skipped by the kernel; zero their words.
  check(cudaMemsetAsync(mask.get(), 0, mask.size(), h.stream()), "nms");
  const dim3 grid(static_cast<unsigned>(colBlocks), static_cast<unsigned>(colBlocks));
  nmsMaskKernel<<<grid, kBoxesPerBlock, 0, h.stream()>>>(boxes.as<float>(), n, static_cast<float>(iouThreshold),
                                                         colBlocks, static_cast<unsigned long long*>(mask.get()));
  checkLaunch("nms");
  std::vector<unsigned long long> host(maskWords);
  check(cudaMemcpyAsync(host.data(), mask.get(), mask.size(), cudaMemcpyDeviceToHost, h.stream()), "nms");
  check(cudaStreamSynchronize(h.stream()), "nms");
  std::vector<unsigned long long> removed(static_cast<size_t>(colBlocks), 0);
  std::vector<uint8_t> kept(static_cast<size_t>(n), 0);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t block = i / kBoxesPerBlock, bit = i % kBoxesPerBlock;
    if (removed[block] & (1ULL << bit)) continue;
    kept[i] = 1;
    const unsigned long long* row = host.data() + i * colBlocks;
    for (int64_t j = block; j < colBlocks; ++j) removed[j] |= row[j];
  }
  check(cudaMemcpyAsync(keep.as<uint8_t>(), kept.data(), kept.size(), cudaMemcpyHostToDevice, h.stream()), "nms");
  check(cudaStreamSynchronize(h.stream()), "nms");  // `kept` is freed when this returns
}

// The primitives this file implements (neocog/primitives.def).
void CudaBackend::boxIou(Out out, In a, In b) { cuda::boxIou(handles_, out, a, b); }
void CudaBackend::nms(Out keep, In boxes, double iouThreshold) { cuda::nms(handles_, keep, boxes, iouThreshold); }

}  // namespace neocog::cuda
