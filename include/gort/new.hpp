// new.hpp: objects on gort's heap (Go's new(T) and &T{...}).
//
//   gort::Ptr<Node> n = gort::New<Node>(args...);
//
// New<T> allocates a T from gort's allocator (size classes, per-P caches:
// src/runtime/malloc.cpp) and constructs it with args; memory a T does not
// initialise reads as zero, as Go's new(T). A constructor that throws
// leaves garbage behind, never a half-built object anyone can reach.
//
// Ptr<T> is the pointer to such an object. Today it is a plain pointer and
// nothing is ever freed: the heap runs as Go's does with GOGC=off. The
// collector (MEMORY.md) makes Ptr the pointer it traces: a precise slot
// inside heap objects, a root elsewhere; raw T* to heap objects stay valid
// only on goroutine stacks. Destructors of heap objects run only once the
// collector frees them.
//
// T may be any complete object type aligned to at most 8 KiB.
#pragma once

#include <compare>
#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

#include "gort/internal/type.hpp"

namespace gort {

namespace internal {
void* mallocgc(uintptr_t size, const Type* typ, bool needzero);
}  // namespace internal

template <class T>
class Ptr {
 public:
  constexpr Ptr() noexcept = default;
  constexpr Ptr(std::nullptr_t) noexcept {}
  // Copies are where the collector's write barrier will go; they make a
  // type holding a Ptr non-trivially copyable, which is how the allocator
  // knows such objects may hold pointers (scan spans, MEMORY.md §1).
  Ptr(const Ptr& o) noexcept : p_(o.p_) {}
  Ptr& operator=(const Ptr& o) noexcept {
    p_ = o.p_;
    return *this;
  }
  template <class U>
    requires std::is_convertible_v<U*, T*>
  constexpr Ptr(const Ptr<U>& o) noexcept : p_(o.get()) {}

  T* get() const noexcept { return p_; }
  T& operator*() const noexcept { return *p_; }
  T* operator->() const noexcept { return p_; }
  explicit operator bool() const noexcept { return p_ != nullptr; }

  template <class U>
  bool operator==(const Ptr<U>& o) const noexcept {
    return p_ == o.get();
  }
  bool operator==(std::nullptr_t) const noexcept { return p_ == nullptr; }
  template <class U>
  auto operator<=>(const Ptr<U>& o) const noexcept {
    return std::compare_three_way{}(p_, o.get());
  }

 private:
  template <class U, class... A>
  friend Ptr<U> New(A&&... args);
  explicit Ptr(T* p) noexcept : p_(p) {}
  T* p_ = nullptr;
};

template <class T, class... A>
Ptr<T> New(A&&... args) {
  static_assert(std::is_object_v<T> && !std::is_array_v<T>, "New<T>: T must be an object type (use make_slice for arrays)");
  static_assert(alignof(T) <= 8192, "New<T>: T is aligned to more than a page");
  void* mem = internal::mallocgc(internal::typeOf<T>.size, &internal::typeOf<T>, true);
  return Ptr<T>(::new (mem) T(std::forward<A>(args)...));
}

}  // namespace gort

template <class T>
struct std::hash<gort::Ptr<T>> {
  size_t operator()(const gort::Ptr<T>& p) const noexcept { return std::hash<T*>{}(p.get()); }
};
