// lock_futex.cpp: runtime mutex and note (mirrors runtime/lock_futex.go).
//
// The mutex spins briefly (the holder is on another CPU for a few hundred
// cycles at most), yields, then sleeps on the futex with the "sleeping" state
// so unlock knows to wake someone. Acquiring a runtime lock counts in m.locks:
// a G holding one must not park or be preempted.
//
// Tried and rejected: a plain-store unlock with the sleepers counted apart
// and the missing store-load fence paid by the sleeper (membarrier, an
// asymmetric Dekker handshake). One locked instruction less made chanbuf 25%
// faster at GOMAXPROCS=1, but with two busy CPUs it was 1.8x slower: waiters
// sleep often under real contention, and ten times the futex calls plus the
// membarrier IPIs cost more than the exchange saved.
#include "runtime/lock_futex.hpp"

#include <sched.h>

#include "runtime/runtime2.hpp"
#include "runtime/sanitizer.hpp"
#include "runtime/stubs.hpp"

namespace gort::internal {

namespace {
constexpr uint32_t kUnlocked = mutex::kUnlocked, kLocked = mutex::kLocked, kSleeping = mutex::kSleeping;
constexpr int kActiveSpin = 4, kActiveSpinCount = 30, kPassiveSpin = 1;

inline void procyield(int n) {
  for (int i = 0; i < n; i++) __builtin_ia32_pause();
}

void incLocks() {
  g* gp = getg();
  if (!gp) return;
  // A goroutine takes runtime locks only inside a RuntimeEntry (proc.cpp):
  // the entry that would find its P handed off must not hold one.
  assertInRuntime();
  gp->mp->locks++;
}
void decLocks() {
  if (g* gp = getg()) gp->mp->locks--;
}
}  // namespace

void lock(mutex* l) {
  incLocks();
  lockUncounted(l);
}

void lockContended(mutex* l, uint32_t v) {
  // wait is what we must leave in key when we take the lock: if we ever saw
  // sleepers we must keep saying so, or a wake-up is lost.
  uint32_t wait = v;
  for (;;) {
    for (int i = 0; i < kActiveSpin; i++) {
      while (l->key.load(std::memory_order_relaxed) == kUnlocked) {
        uint32_t expect = kUnlocked;
        if (l->key.compare_exchange_weak(expect, wait, std::memory_order_acquire)) {
          san::acquire(l);
          return;
        }
      }
      procyield(kActiveSpinCount);
    }
    for (int i = 0; i < kPassiveSpin; i++) {
      while (l->key.load(std::memory_order_relaxed) == kUnlocked) {
        uint32_t expect = kUnlocked;
        if (l->key.compare_exchange_weak(expect, wait, std::memory_order_acquire)) {
          san::acquire(l);
          return;
        }
      }
      sched_yield();
    }
    v = l->key.exchange(kSleeping, std::memory_order_acquire);
    if (v == kUnlocked) {
      san::acquire(l);
      return;
    }
    wait = kSleeping;
    futexsleep(&l->key, kSleeping, -1);
  }
}

bool trylock(mutex* l) {
  uint32_t expect = kUnlocked;
  if (!l->key.compare_exchange_strong(expect, kLocked, std::memory_order_acquire)) return false;
  incLocks();
  san::acquire(l);
  return true;
}

void unlock(mutex* l) {
  unlockUncounted(l);
  decLocks();
}

// Note states: clear, woken, and clear-with-a-sleeper-in-the-kernel. The
// sleeper spins a little before it sleeps and says so in the key, so a
// wake-up that arrives during the spin costs the waker no system call: the
// idle-M hand-off (startm -> notewakeup) is on the critical path of every
// `go` statement that wakes a P.
constexpr uint32_t kNoteClear = 0, kNoteWoken = 1, kNoteSleeping = 2;
constexpr int64_t kNoteSpinNs = 20 * 1000;

void lockEntered(mutex* l) {
  enterRuntime();
  lock(l);
}

void unlockEntered(mutex* l) {
  unlock(l);
  leaveRuntime(getg());
}

void noteclear(note* n) { n->key.store(kNoteClear, std::memory_order_relaxed); }

void notewakeup(note* n) {
  san::release(n);
  uint32_t old = n->key.exchange(kNoteWoken, std::memory_order_acq_rel);
  if (old == kNoteWoken) {
    // Only one wake-up per clear; a second is a runtime bug.
    throw_("notewakeup - double wakeup");
  }
  if (old == kNoteSleeping) futexwakeup(&n->key, 1);
}

void notesleep(note* n) {
  int64_t spinUntil = nanotime() + kNoteSpinNs;
  while (n->key.load(std::memory_order_acquire) == kNoteClear) {
    if (nanotime() > spinUntil) {
      uint32_t expect = kNoteClear;
      if (n->key.compare_exchange_strong(expect, kNoteSleeping, std::memory_order_acq_rel)) {
        while (n->key.load(std::memory_order_acquire) == kNoteSleeping) futexsleep(&n->key, kNoteSleeping, -1);
      }
      break;
    }
    procyield(kActiveSpinCount);
  }
  san::acquire(n);
}

bool notetsleep(note* n, int64_t ns) {
  if (ns < 0) {
    notesleep(n);
    return true;
  }
  int64_t deadline = nanotime() + ns;
  uint32_t expect = kNoteClear;
  if (!n->key.compare_exchange_strong(expect, kNoteSleeping, std::memory_order_acq_rel)) {
    san::acquire(n);
    return true;
  }
  while (n->key.load(std::memory_order_acquire) == kNoteSleeping) {
    futexsleep(&n->key, kNoteSleeping, ns);
    ns = deadline - nanotime();
    if (ns <= 0) {
      // Time is up; leave the note clear unless a wake-up won the race.
      expect = kNoteSleeping;
      if (n->key.compare_exchange_strong(expect, kNoteClear, std::memory_order_acq_rel)) return false;
      break;
    }
  }
  san::acquire(n);
  return true;
}

}  // namespace gort::internal
