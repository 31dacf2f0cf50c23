// mstats.cpp: runtime.ReadMemStats (mirrors runtime/mstats.go). The
// allocation counters live in each P's mcache (written by their owner,
// mcache.hpp); the heap's shape in HeapStats (malloc.hpp). Reading sums
// them without stopping the world; a P that went away left its counters in
// the dead caches' totals. Tiny allocations count as both a malloc and a
// free, as Go counts them (their block is the object the heap sees).
#include "runtime/mstats.hpp"

#include <algorithm>
#include <vector>

#include "gort/debug_gcstats.hpp"
#include "gort/runtime.hpp"
#include "runtime/mcache.hpp"
#include "runtime/mgc.hpp"
#include "runtime/mheap.hpp"
#include "runtime/proc.hpp"
#include "runtime/runtime2.hpp"

namespace gort::internal {

void AllocTotals::add(const mcacheStats& s) {
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

AllocTotals allocTotals() {
  RuntimeEntry entry;  // it may start the heap
  AllocTotals t;
  mallocinit();
  int32_t procs = gomaxprocs.load(std::memory_order_acquire);
  for (int32_t i = 0; i < procs; i++) {
    if (mcache* c = allp[i]->mcache) t.add(c->stats);
  }
  t.add(sweeperStatsNoP());
  t.add(deadCacheStats());
  return t;
}

}  // namespace gort::internal

namespace gort::runtime {

using internal::kClassToSize;
using internal::kNumSizeClasses;

void ReadMemStats(MemStats* m) {
  internal::AllocTotals t = internal::allocTotals();

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

namespace gort::debug {

// From MemStats' collector fields (zero until a collection has run): its
// pause ring holds the last 256 pauses, most recent at (NumGC-1) % 256.
void ReadGCStats(GCStats* stats) {
  runtime::MemStats m;
  runtime::ReadMemStats(&m);
  size_t quantiles = stats->PauseQuantiles.size();
  *stats = GCStats{};
  stats->NumGC = m.NumGC;
  stats->PauseTotal = time::Duration(int64_t(m.PauseTotalNs));
  if (m.LastGC != 0) stats->LastGC = time::Unix(0, int64_t(m.LastGC));
  uint32_t n = std::min<uint32_t>(m.NumGC, 256);
  for (uint32_t i = 0; i < n; i++) {
    uint32_t at = (m.NumGC - 1 - i) % 256;
    stats->Pause.push_back(time::Duration(int64_t(m.PauseNs[at])));
    stats->PauseEnd.push_back(time::Unix(0, int64_t(m.PauseEnd[at])));
  }
  // As Go: the caller sizes PauseQuantiles to ask for them (min, ..., max).
  if (quantiles > 0) {
    std::vector<time::Duration> sorted = stats->Pause;
    std::sort(sorted.begin(), sorted.end());
    stats->PauseQuantiles.assign(quantiles, time::Duration());
    for (size_t q = 0; q < quantiles && !sorted.empty(); q++) {
      size_t idx = quantiles == 1 ? sorted.size() - 1 : q * (sorted.size() - 1) / (quantiles - 1);
      stats->PauseQuantiles[q] = sorted[idx];
    }
  }
}

}  // namespace gort::debug
