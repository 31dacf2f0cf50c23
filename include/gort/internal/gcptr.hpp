// internal/gcptr.hpp: the word behind Ptr<T> and slice<T> (MEMORY.md §1).
// Not public API.
//
// Where a collected pointer is stored decides what storing it costs:
//   a goroutine stack   nothing: the collector scans stacks conservatively;
//   a heap object       the word's bit in its arena's pointer bitmap is set,
//                       so the precise heap scan reads it (and, once marking
//                       is concurrent, the write barrier runs);
//   anywhere else       (malloc memory, globals, a plain thread's stack) the
//                       word is a root: registered while it holds a pointer.
// The first test is inline (every goroutine stack lies in one reserved
// region); the rest is the out-of-line slow path in mbarrier.cpp.
//
// A slot's kind is a property of its address and never changes while the
// slot exists, so a root is unregistered by the same test that registered
// it. Null needs nothing anywhere: a null root is not registered and a null
// heap word has no bit (its bit is set when a pointer is first stored).
#pragma once

#include <atomic>
#include <cstdint>
#include <type_traits>

namespace gort::internal {

// Every goroutine stack is carved from [lo, hi) (stack.cpp), except those
// of chunks mapped after the region filled up, which the slow path knows.
struct StackRegion {
  std::atomic<uintptr_t> lo{0}, hi{0};
};
extern StackRegion stackRegion;

[[gnu::always_inline]] inline bool inStackRegion(const void* p) noexcept {
  auto a = reinterpret_cast<uintptr_t>(p);
  return a - stackRegion.lo.load(std::memory_order_relaxed) <
         stackRegion.hi.load(std::memory_order_relaxed) - stackRegion.lo.load(std::memory_order_relaxed);
}

// The slow paths, for a slot outside the stack region (mbarrier.cpp).
void slotInitSlow(const void* const* slot, const void* v) noexcept;
void slotStoreSlow(const void** slot, const void* v) noexcept;
void slotDestroySlow(const void* const* slot, const void* v) noexcept;

// A collected pointer word with the store rules above. Ptr<T> and slice<T>
// hold one; T* conversions are theirs.
class PtrWord {
 public:
  constexpr PtrWord() noexcept = default;
  explicit PtrWord(const void* v) noexcept : v_(v) { init(); }
  PtrWord(const PtrWord& o) noexcept : v_(o.v_) { init(); }
  PtrWord& operator=(const PtrWord& o) noexcept {
    store(o.v_);
    return *this;
  }
  ~PtrWord() {
    if (v_ && !inStackRegion(this)) slotDestroySlow(&v_, v_);
  }

  const void* load() const noexcept { return v_; }
  void store(const void* v) noexcept {
    if (inStackRegion(this)) {
      v_ = v;
    } else {
      slotStoreSlow(&v_, v);
    }
  }

 private:
  void init() noexcept {
    if (v_ && !inStackRegion(this)) slotInitSlow(&v_, v_);
  }
  const void* v_ = nullptr;
};

}  // namespace gort::internal
