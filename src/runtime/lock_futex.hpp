// lock_futex.hpp: runtime locks and notes on Linux futexes (lock_futex.go).
//
// A runtime mutex blocks the whole M, not just the G, so it guards only short
// critical sections inside the runtime; user-visible blocking (sync.Mutex,
// channels) parks goroutines instead. A note is a one-shot event an M sleeps
// on (an idle M's park, stop-the-world's stopnote).
#pragma once

#include <atomic>
#include <cstdint>

#include "runtime/sanitizer.hpp"

namespace gort::internal {

struct mutex {
  static constexpr uint32_t kUnlocked = 0, kLocked = 1, kSleeping = 2;  // possible sleepers
  std::atomic<uint32_t> key{0};
};

void lock(mutex* l);
void unlock(mutex* l);

// The halves of lock/unlock that leave m.locks alone, inline for the hot
// callers (channel operations), which count the lock themselves: the
// uncontended pair is then two exchanges and no call.
void lockContended(mutex* l, uint32_t seen);
void futexwakeup(std::atomic<uint32_t>* addr, uint32_t cnt);
inline void lockUncounted(mutex* l) {
  uint32_t v = l->key.exchange(mutex::kLocked, std::memory_order_acquire);
  if (v != mutex::kUnlocked) {
    lockContended(l, v);
    return;
  }
  san::acquire(l);
}
inline void unlockUncounted(mutex* l) {
  san::release(l);
  if (l->key.exchange(mutex::kUnlocked, std::memory_order_release) == mutex::kSleeping) futexwakeup(&l->key, 1);
}
// Takes l only if it is free; never blocks (the timer runner uses it to
// take locks against their order without deadlock).
bool trylock(mutex* l);

// lock/unlock inside a RuntimeEntry (stubs.hpp): lockGuard's, so that the
// library code that guards its own state with a runtime mutex (context,
// signal) holds no lock at the entry that may find its P handed off.
void lockEntered(mutex* l);
void unlockEntered(mutex* l);

// RAII guard for the common case; runtime code still says lock/unlock where
// the critical section is not a scope.
class lockGuard {
 public:
  explicit lockGuard(mutex* l) : l_(l) { lockEntered(l_); }
  ~lockGuard() { unlockEntered(l_); }
  lockGuard(const lockGuard&) = delete;
  lockGuard& operator=(const lockGuard&) = delete;

 private:
  mutex* l_;
};

struct note;
void noteclear(note* n);
void notewakeup(note* n);
void notesleep(note* n);
// Sleeps at most ns nanoseconds (ns < 0: forever); true if woken.
bool notetsleep(note* n, int64_t ns);

// futex wrappers (os_linux.cpp; futexwakeup is declared above).
void futexsleep(std::atomic<uint32_t>* addr, uint32_t val, int64_t ns);

}  // namespace gort::internal
