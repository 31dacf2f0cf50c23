// mcache.hpp: a P's allocation cache (mirrors runtime/mcache.go): one span
// per span class to allocate from, the tiny block, the page cache, and the
// P's allocation counters.
//
// Only the M holding the P touches its mcache, so the fast path takes no
// lock and makes no atomic read-modify-write. The counters are atomics only
// so that ReadMemStats may read them from another thread; their owner
// updates them with a plain load and store. Threads without a P share one
// mcache under a lock (malloc.cpp).
#pragma once

#include <atomic>
#include <cstdint>

#include "runtime/malloc.hpp"
#include "runtime/lock_futex.hpp"
#include "runtime/mpagealloc.hpp"

namespace gort::internal {

struct mspan;

// Counters with one writer (the P's M, or a holder of the owner's lock).
struct ownedCounter {
  std::atomic<uint64_t> v{0};
  void add(uint64_t n) { v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  uint64_t load() const { return v.load(std::memory_order_relaxed); }
};

struct mcacheStats {
  ownedCounter nmalloc[kNumSizeClasses];  // small objects, per size class (tiny blocks in class 2)
  ownedCounter nfree[kNumSizeClasses];
  ownedCounter tinyAllocs;  // allocations packed into tiny blocks
  ownedCounter largeAlloc, largeAllocCount;  // bytes, objects
  ownedCounter largeFree, largeFreeCount;
};

struct mcache {
  uintptr_t tiny = 0;        // the current tiny block, or 0
  uintptr_t tinyoffset = 0;  // bytes of it in use
  // Heap profile (mprof.cpp): bytes left until the next sampled allocation;
  // armed once the first distance is drawn.
  intptr_t nextSample = 0;
  bool sampleArmed = false;
  mspan* alloc[kNumSpanClasses];
  pageCache pcache;
  uint32_t flushGen = 0;  // the sweepgen it last flushed at
  mcacheStats stats;
  mcache* nextFree = nullptr;

  mcache();
  // Replace alloc[spc], which has no free slot, with a span that has one.
  void refill(spanClass spc);
  // Give every cached span back to its mcentral (at a new sweep cycle, or
  // when the P goes away).
  void releaseAll();
  // Flush if a sweep cycle began since the last flush.
  void prepareForSweep();
};

// The mcache the current M's P owns, or null off a P.
mcache* currentMcache();
mcache* allocmcache();
mcache* allocmcacheInit();  // mallocinit's: the heap exists already
// Flushes c (spans, page cache) and folds its counters into the dead
// caches' totals, then frees it.
void freemcache(mcache* c);
// The counters of the caches already freed (mstats.cpp sums them too).
mcacheStats& deadCacheStats();
// The counters freed objects are charged to: the current P's, or off a P
// the shared cache's (its lock held, or the world stopped). The caller
// san::release()s them once written.
mcacheStats& sweeperStats();
mcacheStats& sweeperStatsNoP();  // the shared cache's
// Every P's mcache and the shared one: the world stopped and the shared
// cache's lock held (threads off the scheduler do not stop with the world;
// they allocate, and sweep, only under that lock).
void forEachMcache(void (*fn)(mcache*));
mutex* sharedCacheLock();

}  // namespace gort::internal
