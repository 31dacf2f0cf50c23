// lock_futex.hpp: runtime locks and notes on Linux futexes (lock_futex.go).
//
// A runtime mutex blocks the whole M, not just the G, so it guards only short
// critical sections inside the runtime; user-visible blocking (sync.Mutex,
// channels) parks goroutines instead. A note is a one-shot event an M sleeps
// on (an idle M's park, stop-the-world's stopnote).
#pragma once

#include <atomic>
#include <cstdint>

#include "runtime/check.hpp"
#include "runtime/lockrank.hpp"
#include "runtime/sanitizer.hpp"

namespace gort::internal {

// Every runtime mutex has a rank (lockrank.hpp), given where it is defined.
struct mutex {
  static constexpr uint32_t kUnlocked = 0, kLocked = 1, kSleeping = 2;  // possible sleepers
  // Held by an owner that releases with a plain store (plainReleaseMutex).
  static constexpr uint32_t kLockedPlain = 3;
  constexpr explicit mutex(LockRank r) noexcept : rank(r) {}
  std::atomic<uint32_t> key{0};
  LockRank rank;
};

// The checked-build halves of every acquire and release.
inline void rankAcquire(const mutex* l) {
  if constexpr (kChecked) lockRankAcquire(l, l->rank);
}
inline void rankRelease(const mutex* l) {
  if constexpr (kChecked) lockRankRelease(l);
}

// A mutex whose owner may release it with a plain store (see below).
struct plainReleaseMutex : mutex {
  using mutex::mutex;
  // Waiters for a kLockedPlain owner: it cannot see them in key, so they
  // count themselves here, behind a membarrier.
  std::atomic<uint32_t> sleepers{0};
};

void lock(mutex* l);
void unlock(mutex* l);

// The halves of lock/unlock that leave m.locks alone, inline for the hot
// callers (channel operations), which count the lock themselves: the
// uncontended pair is then two exchanges and no call.
// sleepers: a plainReleaseMutex's, else null.
void lockContended(mutex* l, uint32_t seen, std::atomic<uint32_t>* sleepers = nullptr);
void futexwakeup(std::atomic<uint32_t>* addr, uint32_t cnt);
inline void lockUncounted(mutex* l) {
  rankAcquire(l);
  uint32_t v = l->key.exchange(mutex::kLocked, std::memory_order_acquire);
  if (v != mutex::kUnlocked) {
    lockContended(l, v);
    return;
  }
  san::acquire(l);
}
inline void unlockUncounted(mutex* l) {
  rankRelease(l);
  san::release(l);
  if (l->key.exchange(mutex::kUnlocked, std::memory_order_release) == mutex::kSleeping) futexwakeup(&l->key, 1);
}
// Plain-release locks (channel locks). An unlock is an exchange so that it
// sees the sleepers a waiter left in key; while GOMAXPROCS is 1 the only
// contenders of a goroutine on a lock are threads outside the scheduler,
// so an owner may instead take l as kLockedPlain and release it with a
// plain store, then look at l.sleepers; a waiter that finds kLockedPlain
// counts itself in sleepers and runs membarrier(2), which stands in for
// the fence the owner leaves out between its store and its load (the
// asymmetric Dekker of stray.cpp's hand-off). One locked instruction
// per lock/unlock pair instead of two; under real contention (GOMAXPROCS
// above 1) the waiters' membarriers would cost more than that saves (see
// lock_futex.cpp), so plainReleaseLocks is set only while GOMAXPROCS is 1
// and membarrier works (proc.cpp keeps it with gomaxprocs).
extern std::atomic<bool> plainReleaseLocks;
inline void lockPlainRelease(plainReleaseMutex* l) {
  rankAcquire(l);
  uint32_t v = mutex::kUnlocked;
  uint32_t want = plainReleaseLocks.load(std::memory_order_relaxed) ? mutex::kLockedPlain : mutex::kLocked;
  if (!l->key.compare_exchange_strong(v, want, std::memory_order_acquire)) {
    lockContended(l, v, &l->sleepers);
    return;
  }
  san::acquire(l);
}
inline void unlockPlainRelease(plainReleaseMutex* l) {
  rankRelease(l);
  san::release(l);
  // Nobody but the owner changes a kLockedPlain key. Without the flag the
  // key is not even loaded first: under contention that load would cost a
  // second trip of the cache line.
  if (plainReleaseLocks.load(std::memory_order_relaxed) &&
      l->key.load(std::memory_order_relaxed) == mutex::kLockedPlain) {
    l->key.store(mutex::kUnlocked, std::memory_order_release);
    std::atomic_signal_fence(std::memory_order_seq_cst);
    if (l->sleepers.load(std::memory_order_relaxed) != 0) futexwakeup(&l->key, 1);
    return;
  }
  // (A kLockedPlain taken before GOMAXPROCS grew still has its sleepers.)
  uint32_t v = l->key.exchange(mutex::kUnlocked, std::memory_order_release);
  if (v == mutex::kSleeping || (v == mutex::kLockedPlain && l->sleepers.load(std::memory_order_relaxed) != 0)) {
    futexwakeup(&l->key, 1);
  }
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
