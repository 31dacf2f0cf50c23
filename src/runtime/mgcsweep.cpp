// mgcsweep.cpp: sweeping (mirrors runtime/mgcsweep.go). Once marking ends,
// a span's mark bits say which of its objects live: the sweep makes them the
// allocation bits, so every unmarked slot is free again, counts the objects
// freed, and gives a span left empty back to the heap. Spans are swept
// lazily, by the mcentral that hands them to an mcache, or by finishSweep,
// which sweeps what is left before the next cycle starts.
//
// The cycle protocol (sweepgen, mheap.hpp) is driven by the collector:
// startSweepCycle, with the world stopped, flushes every mcache and moves
// the heap's sweepgen on by 2, which turns every swept span into an unswept
// one; before marking begins, finishSweep and nextMarkBitArenaEpoch.
// Until the collector lands, tests drive it through export_test.hpp.
#include <bit>
#include <cstring>

#include "runtime/check.hpp"
#include "runtime/export_test.hpp"
#include "runtime/mcache.hpp"
#include "runtime/mheap.hpp"
#include "runtime/panic.hpp"

namespace gort::internal {

namespace {

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
    if (nfreed) needzero = true;
    if (preserve) return false;
    if (nalloc == 0) {
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
  if (preserve) return false;
  if (nfreed) {
    heap().freeSpan(this);
    return true;
  }
  central.putSwept(this);
  return false;
}

void finishSweep() {
  for (mcentral& c : heap().central) {
    while (c.sweepOne()) {
    }
  }
}

void startSweepCycle() {
  assertWorldStopped("startSweepCycle");
  forEachMcache([](mcache* c) { c->releaseAll(); });
  heap().sweepgen.fetch_add(2, std::memory_order_acq_rel);
  forEachMcache([](mcache* c) { c->flushGen = heap().sweepgen.load(std::memory_order_relaxed); });
}

}  // namespace gort::internal

namespace gort::internal::exported {

void SweepCycle(const std::vector<const void*>& keep) {
  stopTheWorld("sweep cycle (test)");
  finishSweep();
  nextMarkBitArenaEpoch();
  for (const void* p : keep) {
    mspan* s;
    uintptr_t i;
    if (findObject(uintptr_t(p), &s, &i) == 0) throw_("SweepCycle: not a heap object");
    s->setMarked(i);
  }
  startSweepCycle();
  startTheWorld();
}

void FinishSweep() { finishSweep(); }

}  // namespace gort::internal::exported
