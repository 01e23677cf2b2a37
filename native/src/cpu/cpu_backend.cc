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
  void matmul(const TensorRef& out, const TensorRef& a, const TensorRef& b) override {
    cpu::matmul(dnnl_, out, a, b);
  }
  void indexSelect(const TensorRef& out, const TensorRef& in, int dim, const TensorRef& index) override {
    cpu::indexSelect(out, in, dim, index);
  }

 private:
  cpu::DnnlContext dnnl_;
};

}  // namespace

std::unique_ptr<Backend> makeCpuBackend() { return std::make_unique<CpuBackend>(); }

}  // namespace neocog
