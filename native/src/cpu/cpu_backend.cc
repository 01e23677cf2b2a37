#include "cpu/cpu_backend.h"

#include <cstdlib>
#include <cstring>
#include <new>

#include "cpu/dnnl_context.h"
#include "cpu/ops.h"
#include "neocog/error.h"

namespace neocog {

namespace {

// 64-byte alignment: a full AVX-512 register and a cache line.
constexpr size_t kAlignment = 64;

class CpuBackend final : public Backend {
 public:
  Device device() const override { return Device{DeviceType::CPU, 0}; }
  bool hostAccessible() const override { return true; }

  void* rawAllocate(size_t bytes) override {
    void* ptr = std::aligned_alloc(kAlignment, (bytes + kAlignment - 1) / kAlignment * kAlignment);
    if (!ptr) {
      fail(ErrorKind::OutOfMemory, "cpu: out of memory allocating " + std::to_string(bytes) + " bytes");
    }
    return ptr;
  }
  void rawFree(void* ptr) noexcept override { std::free(ptr); }
  void copyToHost(void* dst, const void* src, size_t bytes) override { std::memcpy(dst, src, bytes); }
  void copyFromHost(void* dst, const void* src, size_t bytes) override { std::memcpy(dst, src, bytes); }
  void synchronize() override {}

  void fill(const TensorRef& out, double value) override { cpu::fill(out, value); }
  void arange(const TensorRef& out, double start, double step) override { cpu::arange(out, start, step); }
  void uniform(const TensorRef& out, RandomState rng, double low, double high) override {
    cpu::uniform(out, rng, low, high);
  }
  void normal(const TensorRef& out, RandomState rng, double mean, double stddev) override {
    cpu::normal(out, rng, mean, stddev);
  }
  void copy(const TensorRef& out, const TensorRef& in) override { cpu::copy(out, in); }
  void binary(BinaryOp op, const TensorRef& out, const TensorRef& a, const TensorRef& b) override {
    cpu::binary(op, out, a, b);
  }
  void compare(CompareOp op, const TensorRef& out, const TensorRef& a, const TensorRef& b) override {
    cpu::compare(op, out, a, b);
  }
  void where(const TensorRef& out, const TensorRef& cond, const TensorRef& a, const TensorRef& b) override {
    cpu::where(out, cond, a, b);
  }
  void unary(UnaryOp op, const TensorRef& out, const TensorRef& in, double alpha) override {
    cpu::unary(dnnl_, op, out, in, alpha);
  }
  void unaryBackward(UnaryOp op, const TensorRef& gradIn, const TensorRef& gradOut, const TensorRef& input,
                     double alpha) override {
    cpu::unaryBackward(dnnl_, op, gradIn, gradOut, input, alpha);
  }
  void reduce(ReduceOp op, const TensorRef& out, const TensorRef& in) override { cpu::reduce(op, out, in); }
  void scan(ScanOp op, const TensorRef& out, const TensorRef& in, int dim, bool reverse) override {
    cpu::scan(op, out, in, dim, reverse);
  }
  void convForward(const ConvParams& p, const TensorRef& out, const TensorRef& input, const TensorRef& weight,
                   const TensorRef& bias) override {
    cpu::convForward(dnnl_, p, out, input, weight, bias);
  }
  void convBackwardData(const ConvParams& p, const TensorRef& gradInput, const TensorRef& gradOutput,
                        const TensorRef& weight) override {
    cpu::convBackwardData(dnnl_, p, gradInput, gradOutput, weight);
  }
  void convBackwardWeight(const ConvParams& p, const TensorRef& gradWeight, const TensorRef& gradBias,
                          const TensorRef& gradOutput, const TensorRef& input) override {
    cpu::convBackwardWeight(dnnl_, p, gradWeight, gradBias, gradOutput, input);
  }
  void poolForward(const PoolParams& p, const TensorRef& out, const TensorRef& indices, const TensorRef& input) override {
    cpu::poolForward(p, out, indices, input);
  }
  void poolBackward(const PoolParams& p, const TensorRef& gradInput, const TensorRef& gradOutput,
                    const TensorRef& indices) override {
    cpu::poolBackward(p, gradInput, gradOutput, indices);
  }
  void batchNormForward(const TensorRef& out, const TensorRef& input, const TensorRef& weight, const TensorRef& bias,
                        const TensorRef& mean, const TensorRef& var, bool training, double eps) override {
    cpu::batchNormForward(dnnl_, out, input, weight, bias, mean, var, training, eps);
  }
  void batchNormBackward(const TensorRef& gradInput, const TensorRef& gradWeight, const TensorRef& gradBias,
                         const TensorRef& gradOutput, const TensorRef& input, const TensorRef& weight,
                         const TensorRef& mean, const TensorRef& var, double eps) override {
    cpu::batchNormBackward(dnnl_, gradInput, gradWeight, gradBias, gradOutput, input, weight, mean, var, eps);
  }
  void crossEntropyForward(const TensorRef& losses, const TensorRef& weights, const TensorRef& logits,
                           const TensorRef& target, const TensorRef& weight, int64_t ignoreIndex,
                           double smoothing) override {
    cpu::crossEntropyForward(losses, weights, logits, target, weight, ignoreIndex, smoothing);
  }
  void crossEntropyBackward(const TensorRef& gradLogits, const TensorRef& gradLosses, const TensorRef& logits,
                            const TensorRef& target, const TensorRef& weight, int64_t ignoreIndex,
                            double smoothing) override {
    cpu::crossEntropyBackward(gradLogits, gradLosses, logits, target, weight, ignoreIndex, smoothing);
  }
  void matmul(const TensorRef& out, const TensorRef& a, const TensorRef& b, const MathOptions&) override {
    cpu::matmul(dnnl_, out, a, b);  // MathOptions concern GPU math only
  }
  void indexSelect(const TensorRef& out, const TensorRef& in, int dim, const TensorRef& index) override {
    cpu::indexSelect(out, in, dim, index);
  }
  void indexAdd(const TensorRef& out, int dim, const TensorRef& index, const TensorRef& source) override {
    cpu::indexAdd(out, dim, index, source);
  }
  void unscaleGradients(const std::vector<TensorRef>& grads, float inverseScale, const TensorRef& foundInf) override {
    cpu::unscaleGradients(grads, inverseScale, foundInf);
  }
  void optimizerStep(const OptimizerStep& step, const std::vector<OptimizerTensors>& tensors) override {
    cpu::optimizerStep(step, tensors);
  }
  void boxIou(const TensorRef& out, const TensorRef& a, const TensorRef& b) override { cpu::boxIou(out, a, b); }
  void nms(const TensorRef& keep, const TensorRef& boxes, double iouThreshold) override {
    cpu::nms(keep, boxes, iouThreshold);
  }
  void roiAlignForward(const RoiAlignParams& p, const TensorRef& out, const TensorRef& input,
                       const TensorRef& rois) override {
    cpu::roiAlignForward(p, out, input, rois);
  }
  void roiAlignBackward(const RoiAlignParams& p, const TensorRef& gradInput, const TensorRef& gradOutput,
                        const TensorRef& rois) override {
    cpu::roiAlignBackward(p, gradInput, gradOutput, rois);
  }
  void gather(const TensorRef& out, const TensorRef& input, int dim, const TensorRef& index) override {
    cpu::gather(out, input, dim, index);
  }
  void argsort(const TensorRef& indices, const TensorRef& input, bool descending) override {
    cpu::argsort(indices, input, descending);
  }
  void scatterAdd(const TensorRef& out, int dim, const TensorRef& index, const TensorRef& source) override {
    cpu::scatterAdd(out, dim, index, source);
  }

 private:
  cpu::DnnlContext dnnl_;
};

}  // namespace

std::unique_ptr<Backend> makeCpuBackend() { return std::make_unique<CpuBackend>(); }

}  // namespace neocog
