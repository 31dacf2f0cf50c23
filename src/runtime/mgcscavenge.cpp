// mgcscavenge.cpp: returning free heap pages to the OS (mirrors
// runtime/mgcscavenge.go; design: golang/proposal 30333).
//
// The goal is Go's: keep the heap's retained memory (mapped and not
// released) within 10% above what it needs. Until the collector sets a heap
// goal, what it needs is the memory in spans in use. The scavenger walks the
// heap from its highest chunk down (low addresses are allocated first, so
// the top is where free memory gathers), takes up to 64 KiB of free,
// unreleased pages at a time off the page allocator, drops the heap lock,
// madvises them away (mem_linux.cpp: MADV_DONTNEED or MADV_FREE), and puts
// them back as free and scavenged; the next allocation of those pages
// counts them as used again.
//
// Pacing: sysmon calls scavengeTick at every wake-up (at least every 10 ms)
// with the time since its last call, and the scavenger works for 1% of it, so it
// costs about 1% of one CPU while there is memory to return and nothing
// otherwise. Go runs it on a goroutine that sleeps between units of work;
// sysmon already wakes on that schedule and needs no P for this.
#include <algorithm>

#include "gort/debug.hpp"
#include "gort/runtime.hpp"
#include "runtime/malloc.hpp"
#include "runtime/mheap.hpp"
#include "runtime/os_linux.hpp"
#include "runtime/proc.hpp"

namespace gort::internal {

namespace {

constexpr uintptr_t kScavengeUnitPages = 64 * 1024 / kPageSize;
constexpr int64_t kScavengeCPUPercent = 1;

std::atomic<bool> heapStarted{false};

uint64_t retained() {
  HeapStats& h = heapStats();
  return h.heapSys.load(std::memory_order_relaxed) - h.heapReleased.load(std::memory_order_relaxed);
}

uint64_t retainGoal() {
  uint64_t inuse = heapStats().heapInuse.load(std::memory_order_relaxed);
  return inuse + inuse / 10;
}

}  // namespace

uintptr_t scavengeOne(uintptr_t maxPages) {
  mheap& h = heap();
  uintptr_t base, n = 0;
  {
    lockGuard guard(&h.lock);
    if (h.scavengeCursor == 0) h.scavengeCursor = h.pages.topChunk();
    base = h.pages.takeUnscavenged(maxPages, &h.scavengeCursor, &n);
  }
  if (base == 0) return 0;
  sysUnused(reinterpret_cast<void*>(base), n * kPageSize);
  lockGuard guard(&h.lock);
  h.pages.freeScavenged(base, n);
  heapStats().heapReleased.fetch_add(n * kPageSize, std::memory_order_relaxed);
  return n;
}

void scavengeAll() {
  mallocinit();
  {
    lockGuard guard(&heap().lock);
    heap().scavengeCursor = 0;
  }
  while (scavengeOne(kScavengeUnitPages) != 0) {
  }
}

void scavengeTick(int64_t sinceNs) {
  if (!heapStarted.load(std::memory_order_acquire) || retained() <= retainGoal()) return;
  int64_t budget = sinceNs * kScavengeCPUPercent / 100;
  for (int64_t start = nanotime(); retained() > retainGoal() && nanotime() - start < budget;) {
    if (scavengeOne(kScavengeUnitPages) == 0) return;  // a whole pass found nothing: wait for the next tick
  }
}

void noteHeapStarted() { heapStarted.store(true, std::memory_order_release); }

}  // namespace gort::internal

namespace gort::debug {

void FreeOSMemory() {
  runtime::GC();
  internal::RuntimeEntry entry;
  internal::scavengeAll();
}

}  // namespace gort::debug
