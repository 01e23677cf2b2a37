// oneDNN's engine, stream and primitive cache for one CPU backend (one per runtime, used
// only by its stream thread, so the cache needs no lock).
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <list>
#include <memory>
#include <string>
#include <unordered_map>

namespace neocog::cpu {

class DnnlContext {
 public:
  template <typename Primitive>
  struct Entry {
    typename Primitive::primitive_desc pd;
    Primitive primitive;
  };

  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};

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

 private:
  static constexpr size_t kCapacity = 512;
  struct Slot {
    std::shared_ptr<void> value;
    std::list<std::string>::iterator position;
  };
  std::unordered_map<std::string, Slot> entries_;
  std::list<std::string> order_;  // most recently used first
};

}  // namespace neocog::cpu
