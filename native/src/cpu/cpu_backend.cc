#include "cpu/cpu_backend.h"

#include <cstdlib>
#include <cstring>
#include <string>

#include "neocog/error.h"

namespace neocog::cpu {

namespace {

// 64-byte alignment: a full AVX-512 register and a cache line.
constexpr size_t kAlignment = 64;

}  // namespace

void* CpuBackend::rawAllocate(size_t bytes) {
  void* ptr = std::aligned_alloc(kAlignment, (bytes + kAlignment - 1) / kAlignment * kAlignment);
  if (!ptr) fail(ErrorKind::OutOfMemory, "cpu: out of memory allocating " + std::to_string(bytes) + " bytes");
  return ptr;
}

void CpuBackend::rawFree(void* ptr) noexcept { std::free(ptr); }
void CpuBackend::copyToHost(void* dst, const void* src, size_t bytes) { std::memcpy(dst, src, bytes); }
void CpuBackend::copyFromHost(void* dst, const void* src, size_t bytes) { std::memcpy(dst, src, bytes); }

}  // namespace neocog::cpu

namespace neocog {

std::unique_ptr<Backend> makeCpuBackend() { return std::make_unique<cpu::CpuBackend>(); }

}  // namespace neocog
