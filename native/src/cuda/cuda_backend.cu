// The CUDA backend: one per device, driven by that device's stream thread in the addon.
// Kernels are enqueued on the device's cudaStream_t and run asynchronously; copies to the
// host and synchronize() wait for the stream.
#include <memory>
#include <string>

#include "cuda/check.h"
#include "cuda/handles.h"
#include "cuda/ops.h"
#include "cuda/plugin_impl.h"

namespace neocog::cuda {

namespace {

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(int device) : handles_(device) {}

  Device device() const override { return Device{DeviceType::CUDA, handles_.device()}; }
  bool hostAccessible() const override { return false; }

  void* rawAllocate(size_t bytes) override {
    handles_.activate();
    void* ptr = nullptr;
    const cudaError_t status = cudaMalloc(&ptr, bytes);
    if (status == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      fail(ErrorKind::OutOfMemory, device().str() + ": out of memory allocating " + std::to_string(bytes) + " bytes");
    }
    check(status, "cudaMalloc");
    return ptr;
  }
  void rawFree(void* ptr) noexcept override {
    cudaSetDevice(handles_.device());
    cudaFree(ptr);  // synchronises the device, so no queued kernel still uses ptr
  }
  void copyToHost(void* dst, const void* src, size_t bytes) override {
    handles_.activate();
    check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, handles_.stream()), "copy to host");
    check(cudaStreamSynchronize(handles_.stream()), "copy to host");
  }
  void copyFromHost(void* dst, const void* src, size_t bytes) override {
    handles_.activate();
    check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, handles_.stream()), "copy to device");
    // The host buffer is released when this task ends, so the copy must have read it.
    check(cudaStreamSynchronize(handles_.stream()), "copy to device");
  }
  void synchronize() override {
    handles_.activate();
    check(cudaStreamSynchronize(handles_.stream()), "synchronize");
  }

  void fill(const TensorRef& out, double value) override { run([&] { cuda::fill(handles_, out, value); }); }
  void arange(const TensorRef& out, double start, double step) override {
    run([&] { cuda::arange(handles_, out, start, step); });
  }
  void uniform(const TensorRef& out, RandomState rng, double low, double high) override {
    run([&] { cuda::uniform(handles_, out, rng, low, high); });
  }
  void normal(const TensorRef& out, RandomState rng, double mean, double stddev) override {
    run([&] { cuda::normal(handles_, out, rng, mean, stddev); });
  }
  void copy(const TensorRef& out, const TensorRef& in) override { run([&] { cuda::copy(handles_, out, in); }); }
  void binary(BinaryOp op, const TensorRef& out, const TensorRef& a, const TensorRef& b) override {
    run([&] { cuda::binary(handles_, op, out, a, b); });
  }
  void compare(CompareOp op, const TensorRef& out, const TensorRef& a, const TensorRef& b) override {
    run([&] { cuda::compare(handles_, op, out, a, b); });
  }
  void where(const TensorRef& out, const TensorRef& cond, const TensorRef& a, const TensorRef& b) override {
    run([&] { cuda::where(handles_, out, cond, a, b); });
  }
  void unary(UnaryOp op, const TensorRef& out, const TensorRef& in, double alpha) override {
    run([&] { cuda::unary(handles_, op, out, in, alpha); });
  }
  void unaryBackward(UnaryOp op, const TensorRef& gradIn, const TensorRef& gradOut, const TensorRef& input,
                     double alpha) override {
    run([&] { cuda::unaryBackward(handles_, op, gradIn, gradOut, input, alpha); });
  }
  void reduce(ReduceOp op, const TensorRef& out, const TensorRef& in) override {
    run([&] { cuda::reduce(handles_, op, out, in); });
  }
  void scan(ScanOp op, const TensorRef& out, const TensorRef& in, int dim, bool reverse) override {
    run([&] { cuda::scan(handles_, op, out, in, dim, reverse); });
  }
  void convForward(const ConvParams& p, const TensorRef& out, const TensorRef& input, const TensorRef& weight,
                   const TensorRef& bias) override {
    run([&] { cuda::convForward(handles_, convPlans_, p, out, input, weight, bias); });
  }
  void convBackwardData(const ConvParams& p, const TensorRef& gradInput, const TensorRef& gradOutput,
                        const TensorRef& weight) override {
    run([&] { cuda::convBackwardData(handles_, convPlans_, p, gradInput, gradOutput, weight); });
  }
  void convBackwardWeight(const ConvParams& p, const TensorRef& gradWeight, const TensorRef& gradBias,
                          const TensorRef& gradOutput, const TensorRef& input) override {
    run([&] { cuda::convBackwardWeight(handles_, convPlans_, p, gradWeight, gradBias, gradOutput, input); });
  }
  void poolForward(const PoolParams& p, const TensorRef& out, const TensorRef& indices, const TensorRef& input) override {
    run([&] { cuda::poolForward(handles_, p, out, indices, input); });
  }
  void poolBackward(const PoolParams& p, const TensorRef& gradInput, const TensorRef& gradOutput,
                    const TensorRef& indices) override {
    run([&] { cuda::poolBackward(handles_, p, gradInput, gradOutput, indices); });
  }
  void batchNormForward(const TensorRef& out, const TensorRef& input, const TensorRef& weight, const TensorRef& bias,
                        const TensorRef& mean, const TensorRef& var, bool training, double eps) override {
    run([&] { cuda::batchNormForward(handles_, out, input, weight, bias, mean, var, training, eps); });
  }
  void batchNormBackward(const TensorRef& gradInput, const TensorRef& gradWeight, const TensorRef& gradBias,
                         const TensorRef& gradOutput, const TensorRef& input, const TensorRef& weight,
                         const TensorRef& mean, const TensorRef& var, double eps) override {
    run([&] { cuda::batchNormBackward(handles_, gradInput, gradWeight, gradBias, gradOutput, input, weight, mean, var, eps); });
  }
  void crossEntropyForward(const TensorRef& losses, const TensorRef& weights, const TensorRef& logits,
                           const TensorRef& target, const TensorRef& weight, int64_t ignoreIndex,
                           double smoothing) override {
    run([&] { cuda::crossEntropyForward(handles_, losses, weights, logits, target, weight, ignoreIndex, smoothing); });
  }
  void crossEntropyBackward(const TensorRef& gradLogits, const TensorRef& gradLosses, const TensorRef& logits,
                            const TensorRef& target, const TensorRef& weight, int64_t ignoreIndex,
                            double smoothing) override {
    run([&] {
      cuda::crossEntropyBackward(handles_, gradLogits, gradLosses, logits, target, weight, ignoreIndex, smoothing);
    });
  }
  void matmul(const TensorRef& out, const TensorRef& a, const TensorRef& b, const MathOptions& math) override {
    run([&] { cuda::matmul(handles_, out, a, b, math); });
  }
  void indexSelect(const TensorRef& out, const TensorRef& in, int dim, const TensorRef& index) override {
    run([&] { cuda::indexSelect(handles_, out, in, dim, index); });
  }
  void indexAdd(const TensorRef& out, int dim, const TensorRef& index, const TensorRef& source) override {
    run([&] { cuda::indexAdd(handles_, out, dim, index, source); });
  }
  void gather(const TensorRef& out, const TensorRef& input, int dim, const TensorRef& index) override {
    run([&] { cuda::gather(handles_, out, input, dim, index); });
  }
  void argsort(const TensorRef& indices, const TensorRef& input, bool descending) override {
    run([&] { cuda::argsort(handles_, indices, input, descending); });
  }
  void scatterAdd(const TensorRef& out, int dim, const TensorRef& index, const TensorRef& source) override {
    run([&] { cuda::scatterAdd(handles_, out, dim, index, source); });
  }
  void unscaleGradients(const std::vector<TensorRef>& grads, float inverseScale, const TensorRef& foundInf) override {
    run([&] { cuda::unscaleGradients(handles_, grads, inverseScale, foundInf); });
  }
  void optimizerStep(const OptimizerStep& step, const std::vector<OptimizerTensors>& tensors) override {
    run([&] { cuda::optimizerStep(handles_, step, tensors); });
  }
  void boxIou(const TensorRef& out, const TensorRef& a, const TensorRef& b) override {
    run([&] { cuda::boxIou(handles_, out, a, b); });
  }
  void nms(const TensorRef& keep, const TensorRef& boxes, double iouThreshold) override {
    run([&] { cuda::nms(handles_, keep, boxes, iouThreshold); });
  }
  void roiAlignForward(const RoiAlignParams& p, const TensorRef& out, const TensorRef& input,
                       const TensorRef& rois) override {
    run([&] { cuda::roiAlignForward(handles_, p, out, input, rois); });
  }
  void roiAlignBackward(const RoiAlignParams& p, const TensorRef& gradInput, const TensorRef& gradOutput,
                        const TensorRef& rois) override {
    run([&] { cuda::roiAlignBackward(handles_, p, gradInput, gradOutput, rois); });
  }

 private:
  template <typename Fn>
  void run(Fn&& fn) {
    handles_.activate();
    fn();
  }

  DeviceHandles handles_;
  ConvPlanCache convPlans_;  // destroyed before the handles
};

}  // namespace

std::unique_ptr<Backend> makeCudaBackend(int device) { return std::make_unique<CudaBackend>(device); }

}  // namespace neocog::cuda
