// The storages a queued task keeps alive: up to kInline of them inside the task, more on the
// heap. Like InlineFunction (inline_function.h), this spares small ops a malloc on the
// JavaScript thread whose free then happens on the stream thread.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <utility>
#include <vector>

#include "core/storage.h"

namespace neocog {

class StorageList {
 public:
  static constexpr size_t kInline = 4;

  StorageList() noexcept = default;
  StorageList(std::initializer_list<StoragePtr> items) {
    for (const StoragePtr& item : items) push_back(item);
  }
  StorageList(StorageList&& other) noexcept { take(other); }
  StorageList& operator=(StorageList&& other) noexcept {
    if (this != &other) {
      clear();
      take(other);
    }
    return *this;
  }
  StorageList& operator=(std::initializer_list<StoragePtr> items) {
    clear();
    for (const StoragePtr& item : items) push_back(item);
    return *this;
  }
  StorageList(const StorageList&) = delete;
  StorageList& operator=(const StorageList&) = delete;

  void push_back(StoragePtr item) {
    if (spilled_) {
      heap_.push_back(std::move(item));
    } else if (size_ < kInline) {
      inline_[size_++] = std::move(item);
    } else {
      heap_.reserve(2 * kInline);
      for (size_t i = 0; i < size_; ++i) heap_.push_back(std::move(inline_[i]));
      heap_.push_back(std::move(item));
      size_ = 0;
      spilled_ = true;
    }
  }

  void clear() noexcept {
    for (size_t i = 0; i < size_; ++i) inline_[i].reset();
    size_ = 0;
    heap_.clear();
    spilled_ = false;
  }

  size_t size() const noexcept { return spilled_ ? heap_.size() : size_; }
  bool empty() const noexcept { return size() == 0; }
  const StoragePtr* begin() const noexcept { return spilled_ ? heap_.data() : inline_; }
  const StoragePtr* end() const noexcept { return begin() + size(); }

 private:
  void take(StorageList& other) noexcept {
    for (size_t i = 0; i < other.size_; ++i) inline_[i] = std::move(other.inline_[i]);
    size_ = other.size_;
    heap_ = std::move(other.heap_);
    spilled_ = other.spilled_;
    other.size_ = 0;
    other.heap_.clear();
    other.spilled_ = false;
  }

  StoragePtr inline_[kInline];
  size_t size_ = 0;
  std::vector<StoragePtr> heap_;
  bool spilled_ = false;
};

}  // namespace neocog
