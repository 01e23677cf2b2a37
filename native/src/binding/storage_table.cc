#include "binding/storage_table.h"

#include <cmath>
#include <string>

#include "neocog/error.h"

namespace neocog::binding {

double StorageTable::add(StoragePtr storage) {
  uint32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  slots_[slot].storage = std::move(storage);
  return static_cast<double>(slot) + static_cast<double>(slots_[slot].generation) * kSlots;
}

StorageTable::Slot* StorageTable::find(double id) {
  if (!(id >= 0) || id != std::floor(id)) return nullptr;
  const double generation = std::floor(id / kSlots);
  const double slot = id - generation * kSlots;
  if (slot >= static_cast<double>(slots_.size())) return nullptr;
  Slot& entry = slots_[static_cast<size_t>(slot)];
  return static_cast<double>(entry.generation) == generation && entry.storage ? &entry : nullptr;
}

const StoragePtr& StorageTable::get(double id, const char* op, const char* arg) const {
  const Slot* entry = const_cast<StorageTable*>(this)->find(id);
  if (entry == nullptr) {
    if (!(id >= 0) || id != std::floor(id)) fail(ErrorKind::Internal, std::string(op) + ": " + arg + " is not a storage");
    fail(ErrorKind::Disposed, std::string(op) + ": " + arg + " has been disposed");
  }
  return entry->storage;
}

void StorageTable::release(double id) {
  Slot* entry = find(id);
  if (entry == nullptr) return;
  entry->storage.reset();
  entry->generation = (entry->generation + 1) % kGenerations;
  free_.push_back(static_cast<uint32_t>(entry - slots_.data()));
}

}  // namespace neocog::binding
