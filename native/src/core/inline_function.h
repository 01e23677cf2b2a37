// A move-only `void()` callable that keeps small targets inside itself. A queued kernel's
// closure (its TensorRefs and parameters) is built on the JavaScript thread and destroyed
// on the stream thread: std::function put each one on the heap, so every small op paid a
// malloc on one thread and a free on another, the two threads contending for one malloc
// arena (measured as the largest native cost of a 16-element add, issue 11). Targets up
// to kInlineBytes (a four-operand kernel) need no allocation; larger ones fall back to the heap.
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace neocog {

class InlineFunction {
 public:
  // Room for a kernel closure of four TensorRefs and a parameter struct (conv forward).
  static constexpr size_t kInlineBytes = 768;

  InlineFunction() noexcept = default;
  InlineFunction(std::nullptr_t) noexcept {}  // NOLINT(google-explicit-constructor): as std::function

  template <typename F, typename = std::enable_if_t<!std::is_same_v<std::decay_t<F>, InlineFunction>>>
  InlineFunction(F&& f) {  // NOLINT(google-explicit-constructor): assigned from lambdas, as std::function
    assign(std::forward<F>(f));
  }

  InlineFunction(InlineFunction&& other) noexcept { moveFrom(other); }
  InlineFunction& operator=(InlineFunction&& other) noexcept {
    if (this != &other) {
      reset();
      moveFrom(other);
    }
    return *this;
  }
  template <typename F, typename = std::enable_if_t<!std::is_same_v<std::decay_t<F>, InlineFunction>>>
  InlineFunction& operator=(F&& f) {
    reset();
    assign(std::forward<F>(f));
    return *this;
  }
  InlineFunction& operator=(std::nullptr_t) noexcept {
    reset();
    return *this;
  }
  InlineFunction(const InlineFunction&) = delete;
  InlineFunction& operator=(const InlineFunction&) = delete;
  ~InlineFunction() { reset(); }

  explicit operator bool() const noexcept { return ops_ != nullptr; }
  void operator()() { ops_->invoke(target()); }

  // Whether the target lives inside this object (no heap allocation); for tests and asserts.
  bool isInline() const noexcept { return ops_ != nullptr && ops_->inlined; }

 private:
  struct Ops {
    void (*invoke)(void* target);
    // Move-constructs the target from `from` into `to`'s storage and destroys `from`'s.
    void (*relocate)(InlineFunction& to, InlineFunction& from) noexcept;
    void (*destroy)(InlineFunction& self) noexcept;
    bool inlined;
  };

  template <typename T>
  static constexpr bool fitsInline =
      sizeof(T) <= kInlineBytes && alignof(T) <= alignof(std::max_align_t) && std::is_nothrow_move_constructible_v<T>;

  template <typename T>
  static const Ops* opsFor() {
    if constexpr (fitsInline<T>) {
      static const Ops ops{
          [](void* target) { (*static_cast<T*>(target))(); },
          [](InlineFunction& to, InlineFunction& from) noexcept {
            T* source = static_cast<T*>(static_cast<void*>(from.storage_));
            ::new (static_cast<void*>(to.storage_)) T(std::move(*source));
            source->~T();
          },
          [](InlineFunction& self) noexcept { static_cast<T*>(static_cast<void*>(self.storage_))->~T(); },
          true,
      };
      return &ops;
    } else {
      static const Ops ops{
          [](void* target) { (*static_cast<T*>(target))(); },
          [](InlineFunction& to, InlineFunction& from) noexcept {
            to.heap_ = from.heap_;
            from.heap_ = nullptr;
          },
          [](InlineFunction& self) noexcept { delete static_cast<T*>(self.heap_); },
          false,
      };
      return &ops;
    }
  }

  template <typename F>
  void assign(F&& f) {
    using T = std::decay_t<F>;
    if constexpr (fitsInline<T>) {
      ::new (static_cast<void*>(storage_)) T(std::forward<F>(f));
    } else {
      heap_ = new T(std::forward<F>(f));
    }
    ops_ = opsFor<T>();
  }

  void moveFrom(InlineFunction& other) noexcept {
    if (other.ops_ == nullptr) return;
    other.ops_->relocate(*this, other);
    ops_ = other.ops_;
    other.ops_ = nullptr;
  }

  void reset() noexcept {
    if (ops_ == nullptr) return;
    ops_->destroy(*this);
    ops_ = nullptr;
  }

  void* target() noexcept { return ops_->inlined ? static_cast<void*>(storage_) : heap_; }

  const Ops* ops_ = nullptr;
  void* heap_ = nullptr;
  alignas(std::max_align_t) unsigned char storage_[kInlineBytes];
};

}  // namespace neocog
