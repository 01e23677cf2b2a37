// Box IoU matrices, NMS and soft-NMS on the GPU (math in kernels/boxes.h). NMS follows torchvision's
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

__global__ void nmsMaskKernel(const float* boxes, const int32_t* categories, int64_t n, float threshold,
                              int64_t colBlocks, unsigned long long* mask) {
  const int64_t rowBlock = blockIdx.y, colBlock = blockIdx.x;
  if (rowBlock > colBlock) return;  // only boxes after a row box can be suppressed by it
  const int64_t rowCount = n - rowBlock * kBoxesPerBlock < kBoxesPerBlock ? n - rowBlock * kBoxesPerBlock : kBoxesPerBlock;
  const int64_t colCount = n - colBlock * kBoxesPerBlock < kBoxesPerBlock ? n - colBlock * kBoxesPerBlock : kBoxesPerBlock;
  __shared__ float cols[kBoxesPerBlock * 4];
  __shared__ int32_t colCategories[kBoxesPerBlock];
  if (threadIdx.x < colCount) {
    for (int c = 0; c < 4; ++c) cols[threadIdx.x * 4 + c] = boxes[(colBlock * kBoxesPerBlock + threadIdx.x) * 4 + c];
    colCategories[threadIdx.x] = categories ? categories[colBlock * kBoxesPerBlock + threadIdx.x] : 0;
  }
  __syncthreads();
  if (threadIdx.x >= rowCount) return;
  const int64_t row = rowBlock * kBoxesPerBlock + threadIdx.x;
  const float* box = boxes + row * 4;
  unsigned long long bits = 0;
  const int32_t category = categories ? categories[row] : 0;
  for (int64_t j = rowBlock == colBlock ? threadIdx.x + 1 : 0; j < colCount; ++j) {
    if (colCategories[j] == category && kernels::boxIou(box, cols + j * 4) > threshold) bits |= 1ULL << j;
  }
  mask[row * colBlocks + colBlock] = bits;
}

constexpr int kSoftNmsThreads = 1024;  // soft-NMS: one block, every step a block-wide argmax

// (value, index) a beats (value, index) b: higher value, then lower index; index n = none.
__device__ bool beats(float av, int64_t ai, float bv, int64_t bi, int64_t n) {
  return ai != n && (bi == n || av > bv || (av == bv && ai < bi));
}

// Soft-NMS is a sequence of dependent selections, so one block runs it: each step finds
// the best remaining box with a block-wide argmax, then decays the others in parallel.
__global__ void softNmsKernel(SoftNmsParams p, const float* boxes, const float* scores, int64_t n, float* s,
                              uint8_t* alive, int32_t* order, float* selected, int32_t* count) {
  __shared__ float warpValue[kSoftNmsThreads / 32];
  __shared__ int64_t warpIndex[kSoftNmsThreads / 32];
  __shared__ int64_t chosen;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
    s[j] = scores[j];
    alive[j] = scores[j] >= p.scoreThreshold;  // NaN never plays
  }
  __syncthreads();
  int64_t k = 0;
  for (;; ++k) {
    float value = 0.0f;
    int64_t index = n;
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
      if (alive[j] && beats(s[j], j, value, index, n)) value = s[j], index = j;
    }
    for (int offset = 16; offset > 0; offset /= 2) {
      const float v = __shfl_down_sync(0xffffffffu, value, offset);
      const int64_t i = __shfl_down_sync(0xffffffffu, index, offset);
      if (beats(v, i, value, index, n)) value = v, index = i;
    }
    if (threadIdx.x % 32 == 0) warpValue[threadIdx.x / 32] = value, warpIndex[threadIdx.x / 32] = index;
    __syncthreads();
    if (threadIdx.x == 0) {
      for (int w = 1; w < kSoftNmsThreads / 32; ++w) {
        if (beats(warpValue[w], warpIndex[w], value, index, n)) value = warpValue[w], index = warpIndex[w];
      }
      chosen = index;
      if (index != n) order[k] = static_cast<int32_t>(index), selected[k] = value, alive[index] = 0;
    }
    __syncthreads();
    const int64_t m = chosen;
    if (m == n) break;
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
      if (j == m || !alive[j]) continue;
      s[j] *= kernels::softNmsDecay(p, kernels::boxIou(boxes + m * 4, boxes + j * 4));
      if (!(s[j] >= p.scoreThreshold)) alive[j] = 0;
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) *count = static_cast<int32_t>(k);
  for (int64_t j = k + threadIdx.x; j < n; j += blockDim.x) order[j] = -1, selected[j] = 0.0f;
}

}  // namespace

void boxIou(DeviceHandles& h, const TensorRef& out, const TensorRef& a, const TensorRef& b) {
  const int64_t total = out.numel();
  if (total == 0) return;
  boxIouKernel<<<gridFor(total), kBlockSize, 0, h.stream()>>>(out.as<float>(), a.as<float>(), b.as<float>(),
                                                               b.layout.shape[0], total);
  checkLaunch("boxIou");
}

void nms(DeviceHandles& h, const TensorRef& keep, const TensorRef& boxes, const TensorRef& categories,
         const TensorRef& limit, double iouThreshold) {
  const int64_t n = boxes.layout.shape[0];
  if (n == 0) return;
  const int64_t colBlocks = (n + kBoxesPerBlock - 1) / kBoxesPerBlock;
  const size_t maskWords = static_cast<size_t>(n * colBlocks);
  StreamBuffer mask(maskWords * sizeof(unsigned long long), h.stream());
  // Row blocks after a column block are skipped by the kernel; zero their words.
  check(cudaMemsetAsync(mask.get(), 0, mask.size(), h.stream()), "nms");
  const dim3 grid(static_cast<unsigned>(colBlocks), static_cast<unsigned>(colBlocks));
  nmsMaskKernel<<<grid, kBoxesPerBlock, 0, h.stream()>>>(
      boxes.as<float>(), categories.data ? categories.as<int32_t>() : nullptr, n, static_cast<float>(iouThreshold),
      colBlocks, static_cast<unsigned long long*>(mask.get()));
  checkLaunch("nms");
  std::vector<unsigned long long> host(maskWords);
  int32_t taking = static_cast<int32_t>(n);
  check(cudaMemcpyAsync(host.data(), mask.get(), mask.size(), cudaMemcpyDeviceToHost, h.stream()), "nms");
  if (limit.data != nullptr) {
    check(cudaMemcpyAsync(&taking, limit.data, sizeof(taking), cudaMemcpyDeviceToHost, h.stream()), "nms");
  }
  check(cudaStreamSynchronize(h.stream()), "nms");
  std::vector<unsigned long long> removed(static_cast<size_t>(colBlocks), 0);
  std::vector<uint8_t> kept(static_cast<size_t>(n), 0);
  for (int64_t i = 0; i < n && i < taking; ++i) {  // boxes past the limit stay unkept
    const int64_t block = i / kBoxesPerBlock, bit = i % kBoxesPerBlock;
    if (removed[block] & (1ULL << bit)) continue;
    kept[i] = 1;
    const unsigned long long* row = host.data() + i * colBlocks;
    for (int64_t j = block; j < colBlocks; ++j) removed[j] |= row[j];
  }
  check(cudaMemcpyAsync(keep.as<uint8_t>(), kept.data(), kept.size(), cudaMemcpyHostToDevice, h.stream()), "nms");
  check(cudaStreamSynchronize(h.stream()), "nms");  // `kept` is freed when this returns
}

void softNms(DeviceHandles& h, const SoftNmsParams& p, const TensorRef& order, const TensorRef& selectedScores,
             const TensorRef& count, const TensorRef& boxes, const TensorRef& scores) {
  const int64_t n = boxes.layout.shape[0];
  StreamBuffer decayed(static_cast<size_t>(n > 0 ? n : 1) * (sizeof(float) + 1), h.stream());
  float* s = static_cast<float*>(decayed.get());
  softNmsKernel<<<1, kSoftNmsThreads, 0, h.stream()>>>(p, boxes.as<float>(), scores.as<float>(), n, s,
                                                        reinterpret_cast<uint8_t*>(s + n), order.as<int32_t>(),
                                                        selectedScores.as<float>(), count.as<int32_t>());
  checkLaunch("softNms");
}

// The primitives this file implements (neocog/primitives.def).
void CudaBackend::boxIou(Out out, In a, In b) { cuda::boxIou(handles_, out, a, b); }
void CudaBackend::nms(Out keep, In boxes, OptIn categories, OptIn limit, double iouThreshold) {
  cuda::nms(handles_, keep, boxes, categories, limit, iouThreshold);
}
void CudaBackend::softNms(const SoftNmsParams& params, Out order, Out selectedScores, Out count, In boxes, In scores) {
  cuda::softNms(handles_, params, order, selectedScores, count, boxes, scores);
}

}  // namespace neocog::cuda
