// oneDNN's engine, stream and primitive cache for one CPU backend (one per runtime, used
// only by its stream thread, so the cache needs no lock).
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <cstdlib>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "neocog/dtype.h"
#include "neocog/error.h"

namespace neocog::cpu {

// oneDNN's name for a floating dtype (conv and matmul take float32, float16, bfloat16).
inline dnnl::memory::data_type dnnlType(DType t) {
  if (t == DType::BFloat16) return dnnl::memory::data_type::bf16;
  if (t == DType::Float16) return dnnl::memory::data_type::f16;
  return dnnl::memory::data_type::f32;
}

// make() for a primitive descriptor over `dtype` operands. oneDNN may have no 16-bit kernel
// on this CPU (Debian's oneDNN 2.6 has no float16 convolution on x86; bfloat16 runs on any
// AVX-512 CPU, natively with AVX512-BF16/AMX, accumulating in float32): that is the user's
// dtype choice, reported as a DType error (the stream prefixes the op name), not an
// internal failure.
template <typename Make>
auto createFor(DType dtype, Make&& make) -> decltype(make()) {
  try {
    return make();
  } catch (const dnnl::error& e) {
    if (!isHalfDType(dtype)) throw;
    fail(ErrorKind::DType, std::string("oneDNN has no ") + dtypeName(dtype) + " kernel on this CPU (" +
                               e.what() + "); " +
                               (dtype == DType::Float16 ? "use bfloat16 on the CPU, or float16 on CUDA" : "use float32"));
  }
}

class DnnlContext {
 public:
  template <typename Primitive>
  struct Entry {
    typename Primitive::primitive_desc pd;
    Primitive primitive;
  };

  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};

  // What every primitive descriptor is created with: the scratchpad is ours. In oneDNN's
  // default (library) mode a primitive allocates its scratchpad on every execution and frees
  // it after, and in Node's process those blocks tended to come back as fresh pages, faulted
  // in by the kernels (expensive on these VMs; perf counted them in oneDNN's JIT code). One
  // persistent buffer, measured on whole training steps (2-vCPU EPYC, quiet): LeNet-5 b256
  // 14.7-16.8 -> 11.9-12.6 ms, U-Net b1 30-35 -> 27.7-28.8 ms.
  const dnnl::primitive_attr& attr() const { return attr_; }

  // Runs a primitive created with attr() on `args` and the persistent scratchpad buffer
  // (operations run one at a time on the stream thread, so one buffer serves them all).
  template <typename Pd>
  void execute(const dnnl::primitive& primitive, const Pd& pd, std::unordered_map<int, dnnl::memory> args) {
    const dnnl::memory::desc desc = pd.scratchpad_desc();
    if (desc.get_size() > 0) args.emplace(DNNL_ARG_SCRATCHPAD, dnnl::memory(desc, engine, grow(scratchpad_, desc.get_size())));
    primitive.execute(stream, args);
    stream.wait();
  }

  // A host buffer of at least `bytes` for reordered operands, one per slot, reused by
  // every call: a fresh allocation per call went through mmap and page faults (~1 ms for
  // ResNet's 9 MB weight reorders). The stream runs one op at a time, so slots are free
  // again when the next op starts.
  void* scratch(size_t slot, size_t bytes) {
    if (slot >= scratch_.size()) scratch_.resize(slot + 1);
    return grow(scratch_[slot], bytes);
  }

  // The cached primitive for `key`, created with make() (a primitive descriptor) on a miss.
  // Creating a descriptor walks oneDNN's implementation list, which costs more than small
  // convolutions themselves; a training loop asks for the same few keys every step.
  template <typename Primitive, typename Make>
  Entry<Primitive>& cache(const std::string& key, Make&& make) {
    auto found = entries_.find(key);
    if (found != entries_.end()) {
      order_.splice(order_.begin(), order_, found->second.position);
      return *static_cast<Entry<Primitive>*>(found->second.value.get());
    }
    if (entries_.size() >= kCapacity) {
      entries_.erase(order_.back());
      order_.pop_back();
    }
    typename Primitive::primitive_desc pd = make();
    auto entry = std::make_shared<Entry<Primitive>>(Entry<Primitive>{pd, Primitive(pd)});
    order_.push_front(key);
    entries_.emplace(key, Slot{entry, order_.begin()});
    return *entry;
  }

  // cache(), or null where oneDNN refuses the descriptor (it has no kernel for it): the
  // refusal is remembered, so asking again costs a lookup, not a failed creation.
  template <typename Primitive, typename Make>
  Entry<Primitive>* cacheIfSupported(const std::string& key, Make&& make) {
    if (refused_.count(key) != 0) return nullptr;
    try {
      return &cache<Primitive>(key, make);
    } catch (const dnnl::error&) {
      refused_.insert(key);
      return nullptr;
    }
  }

 private:
  struct FreeDeleter {
    void operator()(void* p) const noexcept { std::free(p); }
  };
  struct Buffer {
    std::unique_ptr<void, FreeDeleter> data;
    size_t bytes = 0;
  };
  static void* grow(Buffer& buffer, size_t bytes) {
    if (buffer.bytes < bytes) {
      const size_t rounded = (bytes + 4095) / 4096 * 4096;
      buffer.data.reset(std::aligned_alloc(4096, rounded));
      if (!buffer.data) throw std::bad_alloc();
      buffer.bytes = rounded;
    }
    return buffer.data.get();
  }
  std::vector<Buffer> scratch_;
  Buffer scratchpad_;
  std::unordered_set<std::string> refused_;  // keys cacheIfSupported() found no kernel for
  dnnl::primitive_attr attr_ = [] {
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    return attr;
  }();

  static constexpr size_t kCapacity = 512;
  struct Slot {
    std::shared_ptr<void> value;
    std::list<std::string>::iterator position;
  };
  std::unordered_map<std::string, Slot> entries_;
  std::list<std::string> order_;  // most recently used first
};

}  // namespace neocog::cpu
