// lock_futex.cpp: runtime mutex and note (mirrors runtime/lock_futex.go).
//
// The mutex spins briefly (the holder is on another CPU for a few hundred
// cycles at most), yields, then sleeps on the futex with the "sleeping" state
// so unlock knows to wake someone. The pause between two looks doubles
// (30, 60, 120, 240 pauses; Go waits 30 each time): a waiter that comes back
// too soon takes the lock between two of the holder's back-to-back critical
// sections and the line bounces on every operation, where one that stays
// away lets the holder run a batch. chanbuf at GOMAXPROCS=2 (four producers,
// four consumers, one channel) went from ~66 to ~44 ns per item.
//
// Acquiring a runtime lock counts in m.locks: a G holding one must not park
// or be preempted.
//
// Channel locks may be released with a plain store, the sleepers counted
// apart and the missing store-load fence paid by the sleeper (membarrier, an
// asymmetric Dekker handshake; lock_futex.hpp). One locked instruction less
// makes chanbuf ~25% faster at GOMAXPROCS=1; with two busy CPUs, done
// always, it was 1.8x slower: waiters sleep often under real contention, and
// ten times the futex calls plus the membarrier IPIs cost more than the
// exchange saved. So it is done only while GOMAXPROCS is 1, where the only
// contenders are threads outside the scheduler.
#include "runtime/lock_futex.hpp"

#include <sched.h>

#include "runtime/os_linux.hpp"
#include "runtime/panic.hpp"
#include "runtime/proc.hpp"
#include "runtime/runtime2.hpp"
#include "runtime/sanitizer.hpp"

namespace gort::internal {

std::atomic<bool> plainReleaseLocks{false};

namespace {
constexpr uint32_t kUnlocked = mutex::kUnlocked, kLocked = mutex::kLocked, kSleeping = mutex::kSleeping,
                   kLockedPlain = mutex::kLockedPlain;
constexpr int kActiveSpin = 4, kActiveSpinCount = 30, kPassiveSpin = 1;

inline void procyield(int n) {
  for (int i = 0; i < n; i++) cpuRelax();
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

void lockContended(mutex* l, uint32_t v, std::atomic<uint32_t>* sleepers) {
  // wait is what we must leave in key when we take the lock: if we ever saw
  // sleepers we must keep saying so, or a wake-up is lost.
  uint32_t wait = v == kSleeping ? kSleeping : kLocked;
  bool counted = false;  // in *sleepers, for a kLockedPlain owner
  auto take = [&] {
    while (l->key.load(std::memory_order_relaxed) == kUnlocked) {
      uint32_t expect = kUnlocked;
      if (l->key.compare_exchange_weak(expect, wait, std::memory_order_acquire)) {
        if (counted) sleepers->fetch_sub(1, std::memory_order_relaxed);
        san::acquire(l);
        return true;
      }
    }
    return false;
  };
  for (;;) {
    for (int i = 0; i < kActiveSpin; i++) {
      if (take()) return;
      procyield(kActiveSpinCount << i);
    }
    for (int i = 0; i < kPassiveSpin; i++) {
      if (take()) return;
      sched_yield();
    }
    if (take()) return;
    v = l->key.load(std::memory_order_relaxed);
    if (v == kLockedPlain) {
      if (!sleepers) throw_("lock: a runtime mutex held for a plain release");
      // The owner will look at sleepers, not key, once it has released:
      // count ourselves, and have membarrier make its release visible to
      // us or our count visible to it, before we sleep.
      if (!counted) {
        counted = true;
        sleepers->fetch_add(1, std::memory_order_relaxed);
        membarrier();
        continue;
      }
    } else if (v == kLocked) {
      if (!l->key.compare_exchange_strong(v, kSleeping, std::memory_order_relaxed)) continue;
      v = kSleeping;
    } else if (v != kSleeping) {
      continue;
    }
    wait = kSleeping;
    futexsleep(&l->key, v, -1);
  }
}

bool trylock(mutex* l) {
  uint32_t expect = kUnlocked;
  if (!l->key.compare_exchange_strong(expect, kLocked, std::memory_order_acquire)) return false;
  incLocks();
  if constexpr (kChecked) lockRankTrylocked(l, l->rank);
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
