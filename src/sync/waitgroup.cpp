// waitgroup.cpp: sync::WaitGroup (mirrors sync/waitgroup.go).
//
// state_ packs the counter (high 32 bits) and the number of waiters (low
// 32 bits) in one word, so Add sees both in one atomic step. Waiters park on
// sema_. When Add brings the counter to zero with waiters present, nothing
// else may touch the state (the counter is zero, so no Wait increments the
// waiters, and an Add from zero concurrently with Wait is misuse): Add
// resets the state to zero and releases each waiter once. A waiter that
// wakes to a non-zero state knows the WaitGroup was reused (Add) before all
// waiters had returned.
//
// Misuse panics with Go's messages, which tests and users match on:
// negative counter; Add from zero racing with Wait; reuse before Wait
// returned.
//
// TSan: each Done (a negative Add) releases on the WaitGroup (merged, so
// every Done is ordered before Wait); Wait acquires it before returning.
#include <string>

#include "gort/panic.hpp"
#include "gort/sync.hpp"
#include "runtime/sanitizer.hpp"
#include "runtime/sema.hpp"

namespace gort::sync {

namespace {
[[noreturn]] void panicMisuse(const char* msg) { gort::panic(std::string(msg)); }
}  // namespace

void WaitGroup::Add(int delta) {
  if (delta < 0) internal::san::release(this);
  const uint64_t state = state_.fetch_add(uint64_t(int64_t(delta)) << 32, std::memory_order_acq_rel) +
                         (uint64_t(int64_t(delta)) << 32);
  const int32_t v = int32_t(state >> 32);  // counter
  const uint32_t w = uint32_t(state);      // waiters
  if (v < 0) panicMisuse("sync: negative WaitGroup counter");
  if (w != 0 && delta > 0 && v == delta) panicMisuse("sync: WaitGroup misuse: Add called concurrently with Wait");
  if (v > 0 || w == 0) return;
  // Counter zero with waiters: we are the only one touching the state now
  // (see the file comment); check that cheaply, then release them.
  if (state_.load(std::memory_order_relaxed) != state) {
    panicMisuse("sync: WaitGroup misuse: Add called concurrently with Wait");
  }
  state_.store(0, std::memory_order_relaxed);
  for (uint32_t i = 0; i < w; i++) internal::semrelease(&sema_);
}

void WaitGroup::Wait() {
  uint64_t state = state_.load(std::memory_order_acquire);
  for (;;) {
    if ((state >> 32) == 0) break;  // counter zero: nothing to wait for
    // Count ourselves a waiter, then park until Add releases us.
    if (state_.compare_exchange_weak(state, state + 1, std::memory_order_acq_rel, std::memory_order_acquire)) {
      internal::semacquire(&sema_);
      if (state_.load(std::memory_order_acquire) != 0) {
        panicMisuse("sync: WaitGroup is reused before previous Wait has returned");
      }
      break;
    }
  }
  internal::san::acquire(this);
}

}  // namespace gort::sync
