// mcentral.cpp: the spans of one span class outside the mcaches (mirrors
// runtime/mcentral.go). Its lists are split by sweep state (mheap.hpp); an
// mcache asking for a span gets, in Go's order, a swept span with free
// slots, else an unswept partial one it sweeps, else an unswept full one
// that sweeping frees slots in, else a new span from the heap. Sweeping
// happens outside the lock: a span popped from a list belongs to its taker.
#include "runtime/mheap.hpp"
#include "runtime/panic.hpp"

namespace gort::internal {

namespace {

constexpr int kSweepBudget = 100;  // unswept spans tried before growing instead

// Claim an unswept span for sweeping (Go's sweepLocker).
bool tryAcquireSweep(mspan* s, uint32_t sg) {
  uint32_t want = sg - 2;
  return s->sweepgen.compare_exchange_strong(want, sg - 1, std::memory_order_acq_rel);
}

}  // namespace

mspan* mcentral::cacheSpan() {
  uint32_t sg = heap().sweepgen.load(std::memory_order_acquire);
  mspan* s = nullptr;
  {
    lockGuard guard(&lock);
    s = partialSwept(sg).pop();
  }
  for (int budget = kSweepBudget; !s && budget > 0; budget--) {
    mspan* u;
    {
      lockGuard guard(&lock);
      u = partialUnswept(sg).pop();
    }
    if (!u) break;
    if (tryAcquireSweep(u, sg)) {
      u->sweep(true);
      s = u;
    }
  }
  for (int budget = kSweepBudget; !s && budget > 0; budget--) {
    mspan* u;
    {
      lockGuard guard(&lock);
      u = fullUnswept(sg).pop();
    }
    if (!u) break;
    if (!tryAcquireSweep(u, sg)) continue;
    u->sweep(true);
    if (u->allocCount < u->nelems) {
      s = u;
    } else {
      putSwept(u);
    }
  }
  if (!s) {
    int sc = spanclass.sizeclass();
    s = heap().allocSpan(kClassToAllocNPages[sc], spanclass);
  }
  // Position the cache at freeindex.
  s->refillAllocCache((s->freeindex & ~uintptr_t(63)) / 8);
  s->allocCache >>= s->freeindex % 64;
  return s;
}

void mcentral::uncacheSpan(mspan* s) {
  uint32_t sg = heap().sweepgen.load(std::memory_order_acquire);
  uint32_t cached = s->sweepgen.load(std::memory_order_relaxed);
  if (cached != sg + 1 && cached != sg + 3) throw_("mcentral: uncached span has a bad sweepgen");
  if (cached == sg + 1) {
    // Cached since before the cycle began: it was never swept.
    s->sweepgen.store(sg - 1, std::memory_order_relaxed);
    s->sweep(false);
    return;
  }
  s->sweepgen.store(sg, std::memory_order_release);
  putSwept(s);
}

void mcentral::putSwept(mspan* s) {
  uint32_t sg = heap().sweepgen.load(std::memory_order_relaxed);
  lockGuard guard(&lock);
  (s->allocCount < s->nelems ? partialSwept(sg) : fullSwept(sg)).push(s);
}

bool mcentral::sweepOne() {
  uint32_t sg = heap().sweepgen.load(std::memory_order_acquire);
  for (;;) {
    mspan* u;
    {
      lockGuard guard(&lock);
      u = partialUnswept(sg).pop();
      if (!u) u = fullUnswept(sg).pop();
    }
    if (!u) return false;
    if (!tryAcquireSweep(u, sg)) continue;
    u->sweep(false);
    return true;
  }
}

}  // namespace gort::internal
