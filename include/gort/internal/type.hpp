// internal/type.hpp: the runtime's descriptor of a C++ type (Go's _type),
// which the type-erased runtime uses to handle values it stores: channel
// elements now; map keys and values, heap objects and the collector's
// scanning later. Not public API.
//
// One descriptor per type, a constant made at compile time (typeOf<T>).
// Null function pointers mean "trivial": memcpy for copy and move, nothing
// for destroy, zero bytes for the zero value. Whether a type may hold
// collected pointers follows MEMORY.md's rule: a trivially copyable type
// cannot hold a Ptr (whose copy is not trivial), so only the others are
// scanned.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <new>
#include <type_traits>
#include <typeinfo>
#include <utility>

namespace gort {

// Whether the collector may free a T without running its destructor
// (new.hpp): trivially destructible types, and those that say so.
template <class T>
inline constexpr bool trivially_collected =
    std::is_trivially_destructible_v<T> || requires { typename T::trivially_collected; };

}  // namespace gort

namespace gort::internal {

struct Type {
  static constexpr uint32_t kMayHoldPointers = 1;  // scanned by the collector
  static constexpr uint32_t kCopyable = 2;         // copy may be called (null: memcpy)
  static constexpr uint32_t kComparable = 4;       // equal may be called (a map key needs it and hash)

  uint32_t size;   // 0 marks a zero-size type (an empty trivial type, Go's struct{}): no storage
  uint32_t align;
  uint32_t flags;
  void (*copy)(void* dst, const void* src);     // construct *dst from *src; may throw
  void (*move)(void* dst, void* src) noexcept;  // construct *dst from std::move(*src)
  void (*destroy)(void* p) noexcept;
  void (*zero)(void* p) noexcept;  // construct the zero value T{}
  size_t (*hash)(const void* p, size_t seed);   // null: not hashable
  bool (*equal)(const void* a, const void* b);  // null: not comparable
  const std::type_info* info;                   // for messages (Go prints the type's name)

  constexpr bool mayHoldPointers() const { return flags & kMayHoldPointers; }
  constexpr bool copyable() const { return flags & kCopyable; }
  constexpr bool comparable() const { return flags & kComparable; }
};

template <class T>
inline constexpr bool kZeroSize =
    std::is_empty_v<T> && std::is_trivially_copyable_v<T> && std::is_trivially_default_constructible_v<T>;

template <class T>
concept Hashable = requires(const T& v) {
  { std::hash<T>{}(v) } -> std::convertible_to<size_t>;
};
template <class T>
concept EqualityComparable = requires(const T& a, const T& b) {
  { a == b } -> std::convertible_to<bool>;
};

namespace type_ops {

template <class T>
void copy(void* d, const void* s) {
  ::new (d) T(*static_cast<const T*>(s));
}
template <class T>
void move(void* d, void* s) noexcept {
  ::new (d) T(std::move(*static_cast<T*>(s)));
}
template <class T>
void destroy(void* p) noexcept {
  static_cast<T*>(p)->~T();
}
template <class T>
void zero(void* p) noexcept {
  ::new (p) T();
}
// The seed keeps one map's bucket order from predicting another's (Go seeds
// each map); std::hash alone would not.
template <class T>
size_t hash(const void* p, size_t seed) {
  size_t h = std::hash<T>{}(*static_cast<const T*>(p)) ^ seed;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}
template <class T>
bool equal(const void* a, const void* b) {
  return *static_cast<const T*>(a) == *static_cast<const T*>(b);
}

}  // namespace type_ops

// Each operation is named only where T has it (a discarded branch is never
// instantiated), so a type without one still has a descriptor.
template <class T>
constexpr Type makeType() {
  using CopyFn = void (*)(void*, const void*);
  using MoveFn = void (*)(void*, void*) noexcept;
  using UnaryFn = void (*)(void*) noexcept;
  using HashFn = size_t (*)(const void*, size_t);
  using EqualFn = bool (*)(const void*, const void*);
  constexpr bool trivialCopy = std::is_trivially_copyable_v<T>;
  constexpr bool copyable = std::is_copy_constructible_v<T>;
  CopyFn copy = nullptr;
  MoveFn move = nullptr;
  UnaryFn destroy = nullptr, zero = nullptr;
  HashFn hash = nullptr;
  EqualFn equal = nullptr;
  if constexpr (copyable && !trivialCopy) copy = &type_ops::copy<T>;
  if constexpr (std::is_move_constructible_v<T> && !trivialCopy) move = &type_ops::move<T>;
  if constexpr (!std::is_trivially_destructible_v<T>) destroy = &type_ops::destroy<T>;
  if constexpr (std::is_default_constructible_v<T> &&
                !(std::is_trivially_default_constructible_v<T> && trivialCopy)) {
    zero = &type_ops::zero<T>;
  }
  if constexpr (Hashable<T>) hash = &type_ops::hash<T>;
  if constexpr (EqualityComparable<T>) equal = &type_ops::equal<T>;
  uint32_t flags = (trivialCopy ? 0u : Type::kMayHoldPointers) | (copyable ? Type::kCopyable : 0u) |
                   (EqualityComparable<T> ? Type::kComparable : 0u);
  return Type{kZeroSize<T> ? 0u : uint32_t(sizeof(T)), uint32_t(alignof(T)), flags, copy, move, destroy, zero, hash,
              equal, &typeid(T)};
}

// The descriptor of T.
template <class T>
inline constexpr Type typeOf = makeType<T>();

}  // namespace gort::internal
