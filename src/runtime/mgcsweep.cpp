// mgcsweep.cpp: sweeping (mirrors runtime/mgcsweep.go). Once marking ends,
// a span's mark bits say which of its objects live: the sweep makes them the
// allocation bits, so every unmarked slot is free again, counts the objects
// freed, and gives a span left empty back to the heap. Spans are swept
// lazily, by the mcentral that hands them to an mcache; in the background,
// by sysmon (bgsweepTick, at most 1% of a CPU, Go's bgsweep is as
// unobtrusive); and by finishSweep, which sweeps what is left before the
// next cycle starts.
//
// sweepLock keeps the background sweeper and a cycle's start apart (Go
// counts active sweepers for the same purpose): a span must never be
// claimed under one sweepgen and swept under the next. Sweepers on a P need
// no such lock: a cycle starts with the world stopped, and a P stops only
// between allocations. Threads off the scheduler sweep under the shared
// cache's lock, which the cycle's start holds too.
//
// The cycle protocol (sweepgen, mheap.hpp) is driven by the collector:
// With the world stopped, sweepTermination finishes the last cycle's sweep
// and starts a new mark-bit epoch; once marking ends, startSweepCycle
// flushes every mcache and moves the heap's sweepgen on by 2, which turns
// every swept span into an unswept one. Tests drive the pair through
// export_test.hpp too.
#include <bit>
#include <cstring>

#include "runtime/check.hpp"
#include "runtime/export_test.hpp"
#include "runtime/mcache.hpp"
#include "runtime/mgc.hpp"
#include "runtime/mheap.hpp"
#include "runtime/mprof.hpp"
#include "runtime/os_linux.hpp"
#include "runtime/panic.hpp"
#include "runtime/proc.hpp"
#include "runtime/runtime1.hpp"
#include "runtime/sanitizer.hpp"

namespace gort::internal {

namespace {

// GODEBUG=clobberfree=1: what the sweep frees reads as 0xdeadbeef, so a
// use after free shows.
void clobberFreed(const mspan* s) {
  for (uintptr_t i = 0; i < s->nelems; i++) {
    if (!s->allocated(i) || s->marked(i)) continue;
    auto* w = reinterpret_cast<uint32_t*>(s->base() + i * s->elemsize);
    for (uintptr_t k = 0; k < s->elemsize / 4; k++) w[k] = 0xdeadbeef;
  }
}

uintptr_t countMarked(const mspan* s) {
  uintptr_t n = 0;
  uintptr_t bytes = alignUp(s->nelems, 8) / 8;
  for (uintptr_t i = 0; i < bytes; i++) n += uintptr_t(std::popcount(s->gcmarkBits[i]));
  return n;
}

}  // namespace

bool mspan::sweep(bool preserve) {
  uint32_t sg = heap().sweepgen.load(std::memory_order_relaxed);
  if (state.load(std::memory_order_relaxed) != mSpanState::inUse || sweepgen.load(std::memory_order_relaxed) != sg - 1) {
    throw_("mspan.sweep: bad span state");
  }
  sweepDestructors(this);
  if (debug.clobberfree) clobberFreed(this);
  if (mProfSampledLive()) mProfSweep(this);  // the heap profile's frees
  uintptr_t nalloc = countMarked(this);
  if (nalloc > allocCount) throw_("sweep increased allocation count");
  uintptr_t nfreed = allocCount - nalloc;
  allocCount = uint32_t(nalloc);
  freeindex = 0;
  allocBits = gcmarkBits;
  gcmarkBits = newMarkBits(nelems);
  refillAllocCache(0);
  sweepgen.store(sg, std::memory_order_release);

  mcacheStats& stats = sweeperStats();
  int sc = spanclass.sizeclass();
  mcentral& central = heap().central[spanclass.v];
  if (sc != 0) {
    stats.nfree[sc].add(nfreed);
    san::release(&stats);
    if (nfreed) needzero = true;
    if (preserve) return false;
    if (nalloc == 0) {
      freeDestructorRecords(this);
      heap().freeSpan(this);
      return true;
    }
    central.putSwept(this);
    return false;
  }
  if (nfreed) {
    stats.largeFree.add(elemsize);
    stats.largeFreeCount.add(1);
  }
  san::release(&stats);
  if (preserve) return false;
  if (nfreed) {
    freeDestructorRecords(this);
    heap().freeSpan(this);
    return true;
  }
  central.putSwept(this);
  return false;
}

namespace {

mutex sweepLock{LockRank::sweep};
std::atomic<bool> sweepPending{false};  // spans may be unswept

// Sweep until every span is swept (true) or the deadline passes.
bool sweepUntil(int64_t deadline) {
  for (mcentral& c : heap().central) {
    while (c.sweepOne()) {
      if (deadline && nanotime() >= deadline) return false;
    }
  }
  return true;
}

}  // namespace

void finishSweep() {
  lockGuard guard(&sweepLock);
  sweepUntil(0);
  sweepPending.store(false, std::memory_order_relaxed);
}

namespace {

// sweepLock and the shared cache's lock held, the world stopped.
void beginSweepCycle() {
  forEachMcache([](mcache* c) { c->releaseAll(); });
  heap().sweepgen.fetch_add(2, std::memory_order_acq_rel);
  forEachMcache([](mcache* c) { c->flushGen = heap().sweepgen.load(std::memory_order_relaxed); });
  sweepPending.store(true, std::memory_order_release);
}

}  // namespace

void sweepTermination() {
  assertWorldStopped("sweepTermination");
  lockGuard sweeping(&sweepLock);
  sweepUntil(0);
  sweepPending.store(false, std::memory_order_relaxed);
  nextMarkBitArenaEpoch();
}

void startSweepCycle() {
  assertWorldStopped("startSweepCycle");
  lockGuard sweeping(&sweepLock);
  lockGuard shared(sharedCacheLock());
  beginSweepCycle();
}

void bgsweepTick(int64_t sinceNs) {
  if (!sweepPending.load(std::memory_order_acquire)) return;
  lockGuard guard(&sweepLock);
  lockGuard shared(sharedCacheLock());  // what it frees is charged to the shared cache's counters
  if (sweepUntil(nanotime() + sinceNs / 100)) sweepPending.store(false, std::memory_order_relaxed);
}

}  // namespace gort::internal

namespace gort::internal::exported {

void SweepCycle(const std::vector<const void*>& keep) {
  RuntimeEntry entry;
  finishSweep();
  stopTheWorld("sweep cycle (test)");
  sweepTermination();
  for (const void* p : keep) {
    mspan* s;
    uintptr_t i;
    if (findObject(uintptr_t(p), &s, &i) == 0) throw_("SweepCycle: not a heap object");
    s->setMarked(i);
  }
  startSweepCycle();
  startTheWorld();
}

void FinishSweep() {
  RuntimeEntry entry;
  finishSweep();
}

}  // namespace gort::internal::exported
