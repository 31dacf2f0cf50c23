// lockrank.hpp: every runtime lock's rank, and the order they may nest in
// (mirrors runtime/lockrank.go and lockrank_on.go).
//
// Each runtime mutex is constructed with a LockRank. The partial order in
// lockrank.cpp is the one statement of the runtime's lock order: for each
// rank, the ranks that may already be held when it is taken. Checked builds
// (check.hpp) keep each thread's held locks and, on every acquire, check the
// new rank against each of them: a violation is the fatal error "lock
// ordering problem", naming both ranks, before the acquire could deadlock.
// A trylock cannot deadlock, so it is recorded but not checked (the timer
// runner takes t.mu under ts.mu that way, against the order).
#pragma once

#include <cstdint>

namespace gort::internal {

struct mutex;

// Outer ranks first (a rank is usually taken before the ones below it);
// lockrank.cpp's table is what is checked.
enum class LockRank : uint8_t {
  context,      // package context: a cancelCtx's mu (held while it closes channels)
  start,        // startLock: runtime start-up
  netpollInit,  // netpoll's initLock
  pollDesc,     // a pollDesc's lock
  timer,        // a timer's mu
  timerRun,     // a sync timer's runLock, held while its function runs
  sched,        // sched.lock
  timers,       // a P's timer heap (ts.mu)
  hchan,        // a channel's lock
  semaRoot,     // a semaphore table root
  notifyList,   // a sync.Cond's ticket list
  sudog,        // sched.sudoglock: the global sudog cache
  gFree,        // sched.gFreeLock: the global free-G lists
  gSlab,        // the g slab's carving point
  stack,        // the stack pools
  pollCache,    // the pollDesc free list
  sweep,        // sweep cycles against the background sweeper (mgcsweep.cpp)
  allocNoP,     // the mcache of threads without a P (malloc.cpp)
  mcentral,     // an mcentral's span lists
  mheap,        // mheap.lock: pages, arenas, span records
  gcBits,       // the mark-bit arenas (mheap.cpp)
  sig,          // the signal table
  symtab,       // libbacktrace's lookups (traceback.cpp)
  leaf,         // any lock under which no other is taken (tests' own locks)
  count
};

// Checked builds only (lock_futex.hpp calls these): check and record an
// acquire of l; record a successful trylock; forget l at its release.
void lockRankAcquire(const mutex* l, LockRank r);
void lockRankTrylocked(const mutex* l, LockRank r);
void lockRankRelease(const mutex* l);
// Whether this thread holds l (as recorded by the calls above).
bool lockRankHeld(const mutex* l);
// The process is dying: the crash path may take locks in any order.
void lockRankStop();

}  // namespace gort::internal
