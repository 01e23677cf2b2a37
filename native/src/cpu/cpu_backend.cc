#include "cpu/cpu_backend.h"

#include <omp.h>
#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "neocog/error.h"

namespace neocog::cpu {

namespace {

// 64-byte alignment: a full AVX-512 register and a cache line.
constexpr size_t kAlignment = 64;

// Blocks from 1 MiB are mapped on their own and left out of fork()ed children
// (MADV_DONTFORK). A fork (Node's child_process spawns by fork + exec) marks every private
// page of the parent copy-on-write, and each page written after it faults once more: a
// DeepLabV3 eval pass whose process held 1.5 GB of cached blocks took 386,000 minor faults
// and 1.44 s, against 1.16 s, after a child process ran. A child that execs needs none of
// this memory; the smaller blocks stay on malloc's heap, which the child's code may use.
constexpr size_t kMappedBytes = size_t{1} << 20;

// Operand bytes up to which a serial kernel runs on the calling thread when the stream is
// idle: 16 KiB is a few hundred nanoseconds of work, far below kParallelGrain, so none of
// these kernels enters OpenMP (which would start a second thread team for the JavaScript
// thread).
constexpr size_t kInlineBytes = 16 << 10;

// Hand-written kernels that stay serial below kParallelGrain. Not here: oneDNN primitives
// (conv, matmul, batch norm) and kernels that parallelise at any size (pooling, the
// optimizer step over many tensors), which would start OpenMP threads on the caller.
constexpr std::string_view kInlinePrimitives[] = {
    "fill",    "arange",      "uniform",    "normal",  "copy",        "binary",      "compare",
    "where",   "unary",       "unaryBackward", "reduce", "scan",      "indexSelect", "indexAdd",
    "gather",  "scatterAdd",  "nonzero",    "argsort", "boxIou",      "nms",
    "crossEntropyForward", "crossEntropyBackward",
};

}  // namespace

bool CpuBackend::runsInline(const char* primitive, size_t bytes) const {
  if (bytes > kInlineBytes) return false;
  for (std::string_view name : kInlinePrimitives) {
    if (name == primitive) return true;
  }
  return false;
}

void* CpuBackend::rawAllocate(size_t bytes) {
  if (bytes >= kMappedBytes) {
    void* ptr = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (ptr == MAP_FAILED) fail(ErrorKind::OutOfMemory, "cpu: out of memory allocating " + std::to_string(bytes) + " bytes");
    ::madvise(ptr, bytes, MADV_DONTFORK);  // best effort: without it a fork only costs faults
    return ptr;
  }
  void* ptr = std::aligned_alloc(kAlignment, (bytes + kAlignment - 1) / kAlignment * kAlignment);
  if (!ptr) fail(ErrorKind::OutOfMemory, "cpu: out of memory allocating " + std::to_string(bytes) + " bytes");
  return ptr;
}

void CpuBackend::rawFree(void* ptr, size_t bytes) noexcept {
  if (bytes >= kMappedBytes) {
    ::munmap(ptr, bytes);
  } else {
    std::free(ptr);
  }
}
void CpuBackend::copyToHost(void* dst, const void* src, size_t bytes) { std::memcpy(dst, src, bytes); }
void CpuBackend::copyFromHost(void* dst, const void* src, size_t bytes) { std::memcpy(dst, src, bytes); }

// OpenMP's default team size (OMP_NUM_THREADS, else the cores), before any setHostThreads.
int CpuBackend::defaultThreads() { return omp_get_max_threads(); }

void CpuBackend::setHostThreads(int threads) {
  omp_set_num_threads(threads);
  threads_.store(omp_get_max_threads(), std::memory_order_relaxed);
}

}  // namespace neocog::cpu

namespace neocog {

std::unique_ptr<Backend> makeCpuBackend() { return std::make_unique<cpu::CpuBackend>(); }

}  // namespace neocog
