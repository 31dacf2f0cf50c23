// malloc.cpp: mallocgc, the allocator's entry (mirrors runtime/malloc.go).
//
// Three paths, by size and kind:
//   tiny   pointer-free objects under 16 bytes share a 16-byte block of the
//          P's mcache (aligned within it by their size), as Go packs them;
//          the block lives while any of them does;
//   small  up to 32 KiB: rounded up to a size class, taken from the P's
//          span of that class (count trailing zeros of allocCache), the
//          span refilled from the mcentral when full;
//   large  a span of its own straight from the heap.
// Memory fresh from the OS is zero and is not cleared again (span.needzero).
//
// mallocgc runs as a runtime entry (proc.hpp): the goroutine stays on its P
// throughout (runtime text is never preempted asynchronously, and sysmon
// does not hand the P off), so the mcache needs no lock. It is never
// inlined into user code, whose text may be preempted anywhere. Threads
// without a P share one mcache under allocNoP's lock.
//
// Alignment: every size class is a multiple of 16 from 32 bytes up (and of
// 8 below), so objects are aligned to 16 at least; a type aligned more
// strictly takes the first class whose size its alignment divides (powers
// of two up to 8 KiB always qualify; large objects are page aligned).
#include "runtime/malloc.hpp"

#include <cstring>
#include <mutex>

#include "gort/internal/type.hpp"
#include "runtime/check.hpp"
#include "runtime/mcache.hpp"
#include "runtime/mgc.hpp"
#include "runtime/mheap.hpp"
#include "runtime/mprof.hpp"
#include "runtime/panic.hpp"
#include "runtime/proc.hpp"
#include "runtime/runtime2.hpp"
#include "runtime/sanitizer.hpp"

namespace gort::internal {

alignas(16) char zerobase[8];
InitTracker inittraceAllocs;

namespace {

struct {
  mutex lock{LockRank::allocNoP};
  mcache* cache = nullptr;
} noP;

std::once_flag heapOnce;

void mallocinitOnce() {
  mheapInit();
  noP.cache = allocmcacheInit();
  noteHeapStarted();
}

// nextFreeFast: a free slot of s from its allocCache, or 0 if the cache is
// spent (the 64-slot group ends) and the slow path must look further.
[[gnu::always_inline]] inline uintptr_t nextFreeFast(mspan* s) {
  uint64_t cache = s->allocCache;
  if (cache == 0) return 0;
  uintptr_t bit = uintptr_t(__builtin_ctzll(cache));
  uintptr_t result = s->freeindex + bit;
  if (result >= s->nelems) return 0;
  uintptr_t next = result + 1;
  if (next % 64 == 0 && next != s->nelems) return 0;
  s->allocCache = bit == 63 ? 0 : cache >> (bit + 1);
  s->freeindex = next;
  s->allocCount++;
  return s->base() + result * s->elemsize;
}

[[gnu::noinline]] uintptr_t nextFree(mcache* c, spanClass spc, mspan** sp) {
  mspan* s = c->alloc[spc.v];
  uintptr_t i = s->nextFreeIndex();
  if (i == s->nelems) {
    if (s->allocCount != s->nelems) throw_("s.allocCount != s.nelems && freeIndex == s.nelems");
    c->refill(spc);
    s = c->alloc[spc.v];
    i = s->nextFreeIndex();
  }
  if (i >= s->nelems) throw_("freeIndex is not valid");
  s->allocCount++;
  *sp = s;
  return s->base() + i * s->elemsize;
}

[[gnu::always_inline]] inline uintptr_t allocSmall(mcache* c, spanClass spc, bool needzero) {
  mspan* s = c->alloc[spc.v];
  uintptr_t v = nextFreeFast(s);
  if (v == 0) v = nextFree(c, spc, &s);
  if (s->needzero) {
    if (needzero) std::memset(reinterpret_cast<void*>(v), 0, s->elemsize);
    if (!spc.noscan()) clearPointerBits(v, s->elemsize);  // the slot's last object's Ptrs
  }
  return v;
}

uintptr_t allocTiny(mcache* c, uintptr_t size) {
  uintptr_t off = c->tinyoffset;
  if (size % 8 == 0) {
    off = alignUp(off, 8);
  } else if (size % 4 == 0) {
    off = alignUp(off, 4);
  } else if (size % 2 == 0) {
    off = alignUp(off, 2);
  }
  if (c->tiny != 0 && off + size <= kTinySize) {
    c->tinyoffset = off + size;
    c->stats.tinyAllocs.add(1);
    return c->tiny + off;
  }
  constexpr spanClass kTinySpanClass = spanClass::make(sizeToClass(kTinySize), true);
  uintptr_t v = allocSmall(c, kTinySpanClass, true);
  c->stats.nmalloc[kTinySpanClass.sizeclass()].add(1);
  // Keep whichever block has more room left.
  if (size < c->tinyoffset || c->tiny == 0) {
    c->tiny = v;
    c->tinyoffset = size;
  }
  return v;
}

[[gnu::noinline]] uintptr_t allocLarge(mcache* c, uintptr_t size, bool noscan, bool needzero) {
  uintptr_t npages = alignUp(size, kPageSize) / kPageSize;
  if (npages == 0 || size > (uintptr_t(1) << kHeapAddrBits)) outOfMemory(size);  // overflowed
  spanClass spc = spanClass::make(0, noscan);
  mspan* s = heap().allocSpan(npages, spc);
  s->freeindex = 1;
  s->allocCount = 1;
  heap().central[spc.v].putSwept(s);  // where the sweeper finds it
  c->stats.largeAlloc.add(s->elemsize);
  c->stats.largeAllocCount.add(1);
  gcNoteAlloc(s->elemsize);
  if (s->needzero) {
    if (needzero) std::memset(reinterpret_cast<void*>(s->base()), 0, size);
    if (!noscan) clearPointerBits(s->base(), s->elemsize);
  }
  return s->base();
}

int alignedClass(int sc, uintptr_t align) {
  while (sc < kNumSizeClasses && kClassToSize[sc] % align != 0) sc++;
  return sc;
}

[[gnu::always_inline]] inline void* mallocOn(mcache* c, uintptr_t size, const Type* typ, bool needzero, g* gp) {
  bool noscan = !typ || !typ->mayHoldPointers();
  uintptr_t align = typ ? typ->align : 8;
  uintptr_t v, full;
  if (noscan && size < kTinySize) {
    v = allocTiny(c, size);
    full = size;
  } else {
    int sc = size <= kMaxSmallSize ? sizeToClass(size) : 0;
    if (sc != 0 && align > 16) sc = alignedClass(sc, align);
    if (sc != 0 && sc < kNumSizeClasses) {
      v = allocSmall(c, spanClass::make(sc, noscan), needzero);
      c->stats.nmalloc[sc].add(1);
      full = kClassToSize[sc];
    } else {
      v = allocLarge(c, size, noscan, needzero);
      full = alignUp(size, kPageSize);
    }
  }
  if (__builtin_expect(gcMarking.load(std::memory_order_relaxed), 0)) gcMarkNewObject(v);  // allocate black
  if (__builtin_expect((c->nextSample -= intptr_t(full)) < 0, 0)) profilealloc(c, v, full);  // heap profile
  if (__builtin_expect(inittraceAllocs.gp.load(std::memory_order_relaxed) != nullptr, 0) &&
      inittraceAllocs.gp.load(std::memory_order_relaxed) == gp) {
    inittraceAllocs.bytes += full;
    inittraceAllocs.allocs++;
  }
  return reinterpret_cast<void*>(v);
}

}  // namespace

void mallocinit() { std::call_once(heapOnce, mallocinitOnce); }

int64_t growCap(int64_t old, int64_t needed, uintptr_t elemSize) {
  int64_t newcap = old;
  if (needed > 2 * old) {
    newcap = needed;
  } else if (old < 256) {
    newcap = 2 * old;
  } else {
    // From doubling toward 1.25x, smoothly (Go 1.18's formula).
    while (newcap > 0 && newcap < needed) newcap += (newcap + 3 * 256) / 4;
    if (newcap <= 0) newcap = needed;
  }
  if (elemSize == 0) return newcap;
  uintptr_t bytes = uintptr_t(newcap) * elemSize;
  bytes = bytes <= kMaxSmallSize ? kClassToSize[sizeToClass(bytes)] : alignUp(bytes, kPageSize);
  return int64_t(bytes / elemSize);
}

[[gnu::noinline]] void* mallocgc(uintptr_t size, const Type* typ, bool needzero) {
  if (size == 0) return zerobase;
  static bool ready = (mallocinit(), true);
  (void)ready;
  g* gp = enterRuntime();
  m* mp = gp ? gp->mp : nullptr;
  void* x;
  {
    assertCanAllocate(mp);
    NoAllocRegion inMalloc(mp);
    p* pp = mp ? mp->pp : nullptr;
    if (pp) {
      // Goroutines that run on one P in turn share its mcache; the scheduler
      // orders them, but TSan is not told about P hand-offs: say it here.
      san::acquire(pp->mcache);
      x = mallocOn(pp->mcache, size, typ, needzero, gp);
      san::release(pp->mcache);
    } else {
      lockGuard guard(&noP.lock);
      x = mallocOn(noP.cache, size, typ, needzero, gp);
    }
  }
  leaveRuntime(gp);
  // x lives in this frame while a collection this allocation triggers
  // scans it.
  if (__builtin_expect(gcController.heapLive.load(std::memory_order_relaxed) >=
                           gcController.trigger.load(std::memory_order_relaxed),
                       0)) {
    gcMaybeStart();
  }
  return x;
}

mcacheStats& sweeperStatsNoP() { return noP.cache->stats; }
mcacheStats& sweeperStats() {
  mcache* c = currentMcache();
  if (!c) return sweeperStatsNoP();
  san::acquire(&c->stats);  // sweepers on one P in turn (as in mallocgc); mspan::sweep releases
  return c->stats;
}

mutex* sharedCacheLock() { return &noP.lock; }

void forEachMcache(void (*fn)(mcache*)) {
  mallocinit();
  assertLockHeld(&noP.lock, "forEachMcache");
  int32_t procs = gomaxprocs.load(std::memory_order_acquire);
  for (int32_t i = 0; i < procs; i++) {
    if (allp[i]->mcache) fn(allp[i]->mcache);
  }
  fn(noP.cache);
}

}  // namespace gort::internal
