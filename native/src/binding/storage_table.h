// The storages JavaScript holds, by number. lib/tensor/memory.ts keeps one SharedStorage per
// allocation that owns an id here; tensor descriptors carry the id (args.h).
//
// An id rather than a wrapped JavaScript object per storage (an ObjectWrap, as before):
// each wrapped object cost a constructor call into JavaScript, a weak reference tracked in
// Node-API's lists and a phantom callback and finalizer at garbage collection — measured as
// the largest native share of a 16-element add (issue 11). The FinalizationRegistry of
// lib/tensor/memory.ts is what frees a forgotten tensor's storage; whatever JavaScript never
// released is freed with the addon instance (a worker's exit, the process's).
#pragma once

#include <cstdint>
#include <vector>

#include "core/storage.h"

namespace neocog::binding {

class StorageTable {
 public:
  StorageTable() = default;
  ~StorageTable() = default;  // drops the storages without touching V8 (the environment is going away)
  StorageTable(const StorageTable&) = delete;
  StorageTable& operator=(const StorageTable&) = delete;

  // Registers a new allocation and returns its id (a non-negative integer below 2^53). Its
  // bytes are not reported to V8 here: lib/tensor/memory.ts reports only storages that
  // outlive the job that made them (adjustExternalMemory), see its reportToCollector.
  double add(StoragePtr storage);
  // The storage of a live id; throws a Disposed error "<op>: <arg> has been disposed" for a
  // released one and an Internal error for anything that was never an id.
  const StoragePtr& get(double id, const char* op, const char* arg) const;
  // Drops the table's reference (the memory is freed once no queued op uses it). Releasing
  // an id twice, or a stale one, does nothing.
  void release(double id);
  // Live entries, for tests.
  size_t size() const { return slots_.size() - free_.size(); }

 private:
  // An id is slot + generation * 2^32; the generation advances when a slot is released, so a
  // stale id does not reach the storage that later reuses its slot.
  static constexpr double kSlots = 4294967296.0;
  static constexpr uint32_t kGenerations = 1u << 20;  // keeps ids below 2^52
  struct Slot {
    StoragePtr storage;
    uint32_t generation = 0;
  };
  Slot* find(double id);

  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;
};

}  // namespace neocog::binding
