// mstats.cpp: runtime.ReadMemStats (mirrors runtime/mstats.go). The
// allocation counters live in each P's mcache (written by their owner,
// mcache.hpp); the heap's shape in HeapStats (malloc.hpp). Reading sums
// them without stopping the world; a P that went away left its counters in
// the dead caches' totals. Tiny allocations count as both a malloc and a
// free, as Go counts them (their block is the object the heap sees).
#include "gort/runtime.hpp"
#include "runtime/mcache.hpp"
#include "runtime/mgc.hpp"
#include "runtime/mheap.hpp"
#include "runtime/proc.hpp"
#include "runtime/runtime2.hpp"

namespace gort::runtime {

namespace {

using internal::kClassToSize;
using internal::kNumSizeClasses;

struct Totals {
  uint64_t nmalloc[kNumSizeClasses] = {}, nfree[kNumSizeClasses] = {};
  uint64_t tiny = 0, largeAlloc = 0, largeAllocCount = 0, largeFree = 0, largeFreeCount = 0;

  void add(const internal::mcacheStats& s) {
    for (int i = 0; i < kNumSizeClasses; i++) {
      nmalloc[i] += s.nmalloc[i].load();
      nfree[i] += s.nfree[i].load();
    }
    tiny += s.tinyAllocs.load();
    largeAlloc += s.largeAlloc.load();
    largeAllocCount += s.largeAllocCount.load();
    largeFree += s.largeFree.load();
    largeFreeCount += s.largeFreeCount.load();
  }
};

}  // namespace

void ReadMemStats(MemStats* m) {
  internal::RuntimeEntry entry;  // it may start the heap
  Totals t;
  internal::mallocinit();
  int32_t procs = internal::gomaxprocs.load(std::memory_order_acquire);
  for (int32_t i = 0; i < procs; i++) {
    if (internal::mcache* c = internal::allp[i]->mcache) t.add(c->stats);
  }
  t.add(internal::sweeperStatsNoP());
  t.add(internal::deadCacheStats());

  *m = MemStats{};
  uint64_t allocBytes = t.largeAlloc, freeBytes = t.largeFree;
  m->Mallocs = t.largeAllocCount + t.tiny;
  m->Frees = t.largeFreeCount + t.tiny;
  for (int i = 1; i < kNumSizeClasses; i++) {
    allocBytes += t.nmalloc[i] * kClassToSize[i];
    freeBytes += t.nfree[i] * kClassToSize[i];
    m->Mallocs += t.nmalloc[i];
    m->Frees += t.nfree[i];
  }
  for (int i = 0; i < int(std::size(m->BySize)); i++) {
    m->BySize[i] = {kClassToSize[i], t.nmalloc[i], t.nfree[i]};
  }
  internal::HeapStats& h = internal::heapStats();
  auto get = [](const std::atomic<uint64_t>& v) { return v.load(std::memory_order_relaxed); };
  m->TotalAlloc = allocBytes;
  m->HeapAlloc = m->Alloc = allocBytes - freeBytes;
  m->HeapObjects = m->Mallocs - m->Frees;
  m->HeapSys = get(h.heapSys);
  m->HeapInuse = get(h.heapInuse);
  m->HeapIdle = m->HeapSys - m->HeapInuse;
  m->HeapReleased = get(h.heapReleased);
  m->StackInuse = m->StackSys = get(h.stackInuse);
  m->MSpanInuse = get(h.spanInuse);
  m->MSpanSys = get(h.spanSys);
  m->MCacheInuse = get(h.cacheInuse);
  m->MCacheSys = get(h.cacheSys);
  m->GCSys = get(h.gcSys);
  m->OtherSys = get(h.otherSys);
  internal::readGCStats(m);
  m->Sys = m->HeapSys + m->StackSys + m->MSpanSys + m->MCacheSys + m->BuckHashSys + m->GCSys + m->OtherSys;
}

}  // namespace gort::runtime
