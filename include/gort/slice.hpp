// slice.hpp: Go's slices over arrays on gort's heap.
//
//   auto s = gort::make_slice<int>(3, 10);  // len 3, cap 10, all zero
//   s = gort::append(s, 4, 5);
//   auto t = s(1, 4);                       // s[1:4], shares the array
//   gort::copy(t, s);
//
// A slice is (pointer, length, capacity), copied by value; the default one
// is nil (len 0, cap 0). Every element of the array up to cap exists (is
// constructed, zero-valued if untouched), as in Go. Indexing and reslicing
// check bounds and panic with Go's runtime errors ("index out of range [5]
// with length 3", "slice bounds out of range [:11] with capacity 10");
// append grows the array as Go 1.19 does (double up to 256 elements, then
// by a quarter plus 192, rounded up to the allocator's size class) and
// copies; copy handles overlapping slices. T must be default
// constructible and copy assignable. Arrays live on the heap of new.hpp
// and are collected as its objects are (the elements' destructors, if any,
// run once the array is unreachable).
#pragma once

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <type_traits>

#include "gort/new.hpp"
#include "gort/panic.hpp"

namespace gort {

namespace internal {
// The capacity Go's growslice picks for a slice of cap old that needs
// needed elements of elemSize bytes, rounded up to a size class.
int64_t growCap(int64_t old, int64_t needed, uintptr_t elemSize);
}  // namespace internal

template <class T>
class slice {
 public:
  slice() = default;
  slice(std::nullptr_t) {}

  int64_t size() const noexcept { return len_; }
  bool isNil() const noexcept { return data() == nullptr; }
  T* data() const noexcept { return static_cast<T*>(const_cast<void*>(ptr_.load())); }
  T* begin() const noexcept { return data(); }
  T* end() const noexcept { return data() + len_; }

  T& operator[](int64_t i) const {
    if (uint64_t(i) >= uint64_t(len_)) internal::panicIndex(i, len_);
    return data()[i];
  }
  // s[lo:hi]
  slice operator()(int64_t lo, int64_t hi) const {
    if (uint64_t(hi) > uint64_t(cap_)) internal::panicSliceAcap(hi, cap_);
    if (uint64_t(lo) > uint64_t(hi)) internal::panicSliceB(lo, hi);
    // A slice of capacity 0 keeps the old pointer: one past the array's
    // end would point into the next object and keep it alive.
    return slice(cap_ - lo ? data() + lo : data(), hi - lo, cap_ - lo);
  }

 private:
  template <class U>
  friend int64_t cap(const slice<U>& s) noexcept;
  template <class U>
  friend slice<U> make_slice(int64_t len, int64_t cap);
  template <class U, class... A>
  friend slice<U> append(slice<U> s, A&&... vals);
  slice(T* p, int64_t len, int64_t cap) : ptr_(p), len_(len), cap_(cap) {}

  internal::PtrWord ptr_;  // the array, traced as a Ptr is
  int64_t len_ = 0;
  int64_t cap_ = 0;
};

// A slice's destructor releases nothing on the heap.
template <class T>
inline constexpr bool trivially_collected<slice<T>> = true;

template <class T>
int64_t len(const slice<T>& s) noexcept {
  return s.size();
}
template <class T>
int64_t cap(const slice<T>& s) noexcept {
  return s.cap_;
}

template <class T>
slice<T> make_slice(int64_t len, int64_t cap) {
  static_assert(std::is_default_constructible_v<T>, "make_slice<T>: T must be default constructible");
  constexpr uint64_t kMaxElems = (uint64_t(1) << 47) / (sizeof(T) ? sizeof(T) : 1);
  if (len < 0 || uint64_t(len) > kMaxElems) internal::panicMakeslice("len");
  if (cap < len || uint64_t(cap) > kMaxElems) internal::panicMakeslice("cap");
  const internal::Type* t = &internal::typeOf<T>;
  slice<T> s(static_cast<T*>(internal::mallocgc(uintptr_t(cap) * t->size, t, true)), len, cap);
  if constexpr (!std::is_trivially_default_constructible_v<T>) {
    for (int64_t i = 0; i < cap; i++) ::new (s.data() + i) T();
  }
  if constexpr (!trivially_collected<T>) {
    if (cap) internal::addDestructor(s.data(), t, uint64_t(cap));
  }
  return s;
}
template <class T>
slice<T> make_slice(int64_t len) {
  return make_slice<T>(len, len);
}

// copy(dst, src): the number of elements copied, min(len(dst), len(src)).
template <class T>
int64_t copy(const slice<T>& dst, const slice<T>& src) {
  int64_t n = std::min(dst.size(), src.size());
  if (dst.data() <= src.data()) {
    std::copy(src.data(), src.data() + n, dst.data());
  } else {
    std::copy_backward(src.data(), src.data() + n, dst.data() + n);
  }
  return n;
}

template <class T, class... A>
slice<T> append(slice<T> s, A&&... vals) {
  constexpr int64_t n = sizeof...(A);
  if (s.len_ + n > s.cap_) {
    slice<T> grown = make_slice<T>(s.len_, internal::growCap(s.cap_, s.len_ + n, sizeof(T)));
    std::copy(s.begin(), s.end(), grown.begin());
    s = grown;
  }
  T* at = s.data() + s.len_;
  ((*at++ = std::forward<A>(vals)), ...);
  s.len_ += n;
  return s;
}

}  // namespace gort
