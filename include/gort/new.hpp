// new.hpp: objects on gort's heap (Go's new(T) and &T{...}).
//
//   gort::Ptr<Node> n = gort::New<Node>(args...);
//
// New<T> allocates a T from gort's allocator (size classes, per-P caches:
// src/runtime/malloc.cpp) and constructs it with args; memory a T does not
// initialise reads as zero, as Go's new(T). A constructor that throws
// leaves garbage behind, never a half-built object anyone can reach.
//
// Ptr<T> is the pointer to such an object, and the collector traces it
// wherever it is (internal/gcptr.hpp): a precise slot inside heap objects,
// a word of a goroutine stack, a registered root anywhere else (malloc
// memory, globals, threads the scheduler does not run). A raw T* to a heap
// object keeps it alive only on a goroutine stack (locals, arguments, this)
// and in the closure given to gort::go; stored anywhere else it is
// invisible to the collector.
//
// Destructors. A T with a non-trivial destructor has it run once the
// object is unreachable, on the runtime's destructor thread, in no
// particular order; it must not dereference Ptrs to other collected
// objects (they may be gone already). A type whose destructor only
// destroys Ptr and slice members has nothing to release on the heap: say
// so (struct Node { using trivially_collected = void; ... }, or specialise
// gort::trivially_collected) and the sweeper frees it in bulk. With a
// finalizer or cleanups on the object, the destructor runs after them
// (runtime_final.hpp).
//
// T may be any complete object type aligned to at most 8 KiB.
#pragma once

#include <compare>
#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

#include "gort/internal/gcptr.hpp"
#include "gort/internal/type.hpp"

namespace gort {

namespace internal {
void* mallocgc(uintptr_t size, const Type* typ, bool needzero);
// Run typ's destructor on the n objects at p once they are unreachable
// (mfinal.cpp).
void addDestructor(void* p, const Type* typ, uint64_t n = 1);
// The runtime's own way into a Ptr (finalizers, weak pointers): one made
// from a raw pointer to a heap object, and the word behind one.
struct PtrAccess;
}  // namespace internal

template <class T>
class Ptr {
 public:
  constexpr Ptr() noexcept = default;
  constexpr Ptr(std::nullptr_t) noexcept {}
  // Not trivially copyable, which is how the allocator knows that objects
  // holding a Ptr may hold pointers (scan spans, MEMORY.md §1).
  Ptr(const Ptr& o) noexcept = default;
  Ptr& operator=(const Ptr& o) noexcept = default;
  template <class U>
    requires std::is_convertible_v<U*, T*>
  Ptr(const Ptr<U>& o) noexcept : w_(static_cast<T*>(o.get())) {}
  Ptr& operator=(std::nullptr_t) noexcept {
    w_.store(nullptr);
    return *this;
  }

  T* get() const noexcept { return static_cast<T*>(const_cast<void*>(w_.load())); }
  T& operator*() const noexcept { return *get(); }
  T* operator->() const noexcept { return get(); }
  explicit operator bool() const noexcept { return w_.load() != nullptr; }

  template <class U>
  bool operator==(const Ptr<U>& o) const noexcept {
    return get() == o.get();
  }
  bool operator==(std::nullptr_t) const noexcept { return get() == nullptr; }
  template <class U>
  auto operator<=>(const Ptr<U>& o) const noexcept {
    return std::compare_three_way{}(get(), o.get());
  }

 private:
  template <class U, class... A>
  friend Ptr<U> New(A&&... args);
  friend struct internal::PtrAccess;
  explicit Ptr(T* p) noexcept : w_(p) {}
  internal::PtrWord w_;
};

namespace internal {
struct PtrAccess {
  template <class T>
  static Ptr<T> adopt(T* p) noexcept {
    return Ptr<T>(p);
  }
  template <class T>
  static PtrWord& word(Ptr<T>& p) noexcept {
    return p.w_;
  }
};
}  // namespace internal

// A Ptr's destructor releases nothing on the heap.
template <class T>
inline constexpr bool trivially_collected<Ptr<T>> = true;

// The object is held by a Ptr from the moment it is allocated, so that a
// collection during T's constructor (which may block) keeps it wherever
// the Ptr lives; the constructor then runs in place.
template <class T, class... A>
Ptr<T> New(A&&... args) {
  static_assert(std::is_object_v<T> && !std::is_array_v<T>, "New<T>: T must be an object type (use make_slice for arrays)");
  static_assert(alignof(T) <= 8192, "New<T>: T is aligned to more than a page");
  const internal::Type* t = &internal::typeOf<T>;
  Ptr<T> p(static_cast<T*>(internal::mallocgc(t->size, t, true)));
  ::new (p.get()) T(std::forward<A>(args)...);
  if constexpr (!trivially_collected<T>) internal::addDestructor(p.get(), t);
  return p;
}

}  // namespace gort

template <class T>
struct std::hash<gort::Ptr<T>> {
  size_t operator()(const gort::Ptr<T>& p) const noexcept { return std::hash<T*>{}(p.get()); }
};
