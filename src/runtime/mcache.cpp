// mcache.cpp: the per-P allocation cache (mirrors runtime/mcache.go); see
// mcache.hpp for what it holds and who may touch it.
#include "runtime/mcache.hpp"
#include "runtime/mgc.hpp"

#include "runtime/lock_futex.hpp"
#include "runtime/mheap.hpp"
#include "runtime/panic.hpp"
#include "runtime/proc.hpp"
#include "runtime/runtime2.hpp"

namespace gort::internal {

namespace {

// A span with no free slot: every mcache entry starts here, so the fast
// path needs no null check.
mspan emptymspan;

mutex cacheLock{LockRank::mheap};  // the free records (taken like the heap lock)
mcache* cacheFree = nullptr;
mcacheStats deadStats;

void fold(ownedCounter& into, ownedCounter& from) {
  into.add(from.load());
  from.v.store(0, std::memory_order_relaxed);
}

}  // namespace

mcache::mcache() {
  for (auto& s : alloc) s = &emptymspan;
}

mcache* currentMcache() {
  g* gp = getg();
  if (!gp || !gp->mp->pp) return nullptr;
  return gp->mp->pp->mcache;
}

void mcache::refill(spanClass spc) {
  mspan* s = alloc[spc.v];
  if (s->allocCount != s->nelems) throw_("refill of span with free space remaining");
  mcentral& central = heap().central[spc.v];
  if (s != &emptymspan) central.uncacheSpan(s);
  s = central.cacheSpan();
  if (s->allocCount == s->nelems) throw_("span has no free space");
  // Cached: no sweeper may take it until the next cycle's flush.
  s->sweepgen.store(heap().sweepgen.load(std::memory_order_relaxed) + 3, std::memory_order_relaxed);
  gcNoteAlloc(uint64_t(s->nelems - s->allocCount) * s->elemsize);
  alloc[spc.v] = s;
}

void mcache::releaseAll() {
  for (int i = 0; i < kNumSpanClasses; i++) {
    mspan* s = alloc[i];
    if (s == &emptymspan) continue;
    gcNoteUncached(uint64_t(s->nelems - s->allocCount) * s->elemsize);
    heap().central[i].uncacheSpan(s);
    alloc[i] = &emptymspan;
  }
  tiny = 0;
  tinyoffset = 0;
}

void mcache::prepareForSweep() {
  uint32_t sg = heap().sweepgen.load(std::memory_order_acquire);
  if (flushGen == sg) return;
  releaseAll();
  flushGen = sg;
}

mcache* allocmcache() {
  mallocinit();
  return allocmcacheInit();
}

mcache* allocmcacheInit() {
  mcache* c;
  {
    lockGuard guard(&cacheLock);
    c = cacheFree;
    if (c) cacheFree = c->nextFree;
  }
  if (!c) {
    void* mem = sysAlloc(alignUp(sizeof(mcache), 4096), &heapStats().cacheSys);
    c = new (mem) mcache();
  } else {
    c->nextFree = nullptr;
  }
  c->flushGen = heap().sweepgen.load(std::memory_order_relaxed);
  heapStats().cacheInuse.fetch_add(sizeof(mcache), std::memory_order_relaxed);
  return c;
}

void freemcache(mcache* c) {
  c->releaseAll();
  {
    lockGuard guard(&heap().lock);
    heap().pages.flushCache(&c->pcache);
  }
  lockGuard guard(&cacheLock);
  mcacheStats& s = c->stats;
  for (int i = 0; i < kNumSizeClasses; i++) {
    fold(deadStats.nmalloc[i], s.nmalloc[i]);
    fold(deadStats.nfree[i], s.nfree[i]);
  }
  for (auto [into, from] : {std::pair{&deadStats.tinyAllocs, &s.tinyAllocs}, {&deadStats.largeAlloc, &s.largeAlloc},
                            {&deadStats.largeAllocCount, &s.largeAllocCount}, {&deadStats.largeFree, &s.largeFree},
                            {&deadStats.largeFreeCount, &s.largeFreeCount}}) {
    fold(*into, *from);
  }
  c->nextFree = cacheFree;
  cacheFree = c;
  heapStats().cacheInuse.fetch_sub(sizeof(mcache), std::memory_order_relaxed);
}

mcacheStats& deadCacheStats() { return deadStats; }

}  // namespace gort::internal
