// mheap.cpp: the heap: arenas reserved from the OS and grown into, the
// arena index, span records, span allocation and freeing, and the mark-bit
// arenas (mirrors runtime/mheap.go, mfixalloc.go, and mheap.go's gcBits).
// mheap.hpp states the invariants and the lock order.
//
// Growth: address space is reserved a 64 MiB arena (or several, for a large
// object) at a time, at Go's hints from 0x00c000000000 up so that heap
// addresses rarely look like small integers to a conservative scan (the
// sanitizers own that range, so there the kernel chooses). The heap grows
// into the reservation 4 MiB chunks at a time; new pages are free and
// count as released until first used.
//
// Span records come from a free list refilled 64 KiB at a time and are
// never returned to the OS: a conservative scan may read a stale record
// through a stale index entry, and a record stays a record.
#include "runtime/mheap.hpp"

#include <cstring>

#include "runtime/mcache.hpp"
#include "runtime/panic.hpp"
#include "runtime/sanitizer.hpp"

namespace gort::internal {

namespace {

mheap* theHeap;
HeapStats theStats;

// ---- span records ----

mspan* spanFree;  // mheap.lock
mspan* newSpanRecord() {
  if (!spanFree) {
    constexpr uintptr_t kChunk = 64 << 10;
    auto* mem = static_cast<mspan*>(sysAlloc(kChunk, &heapStats().spanSys));
    san::registerRootRegion(mem, kChunk);  // spans point at their destructor records (mfinal.cpp)
    for (uintptr_t i = 0; i < kChunk / sizeof(mspan); i++) {
      mem[i].next = spanFree;
      spanFree = &mem[i];
    }
  }
  mspan* s = spanFree;
  spanFree = s->next;
  s->next = nullptr;
  heapStats().spanInuse.fetch_add(sizeof(mspan), std::memory_order_relaxed);
  return s;
}
void freeSpanRecord(mspan* s) {
  s->state.store(mSpanState::dead, std::memory_order_release);
  s->next = spanFree;
  spanFree = s;
  heapStats().spanInuse.fetch_sub(sizeof(mspan), std::memory_order_relaxed);
}

// ---- mark-bit arenas ----
//
// Bits for a span's objects are bump-allocated from 64 KiB arenas. An epoch
// is a sweep cycle: a span's allocation and mark bits always come from the
// current or the previous epoch's arenas (a sweep replaces both), so at the
// start of a cycle the arenas of the epoch before the previous one hold no
// live bits and are reused.
constexpr uintptr_t kGcBitsArenaBytes = 64 << 10;
struct gcBitsArena {
  gcBitsArena* next;
  uintptr_t used;
  alignas(8) uint8_t bits[kGcBitsArenaBytes - 2 * sizeof(uintptr_t)];
};
struct {
  mutex lock{LockRank::gcBits};
  gcBitsArena* free = nullptr;
  gcBitsArena* next = nullptr;  // this epoch's, newest first
  gcBitsArena* current = nullptr;
  gcBitsArena* previous = nullptr;
} gcBits;

uint8_t* bumpBits(uintptr_t bytes) {
  lockGuard guard(&gcBits.lock);
  gcBitsArena* a = gcBits.next;
  if (!a || a->used + bytes > sizeof a->bits) {
    a = gcBits.free;
    if (a) {
      gcBits.free = a->next;
      std::memset(a->bits, 0, sizeof a->bits);
    } else {
      a = static_cast<gcBitsArena*>(sysAlloc(sizeof(gcBitsArena), &heapStats().gcSys));
    }
    a->used = 0;
    a->next = gcBits.next;
    gcBits.next = a;
  }
  uint8_t* p = a->bits + a->used;
  a->used += bytes;
  return p;
}

}  // namespace

HeapStats& heapStats() { return theStats; }
mheap& heap() { return *theHeap; }

uint8_t* newMarkBits(uintptr_t nelems) { return bumpBits(alignUp(nelems, 64) / 8); }
uint8_t* newAllocBits(uintptr_t nelems) { return newMarkBits(nelems); }

void nextMarkBitArenaEpoch() {
  lockGuard guard(&gcBits.lock);
  gcBitsArena* a = gcBits.previous;
  while (a) {
    gcBitsArena* n = a->next;
    a->next = gcBits.free;
    gcBits.free = a;
    a = n;
  }
  gcBits.previous = gcBits.current;
  gcBits.current = gcBits.next;
  gcBits.next = nullptr;
}

// ---- spans ----

void mspan::init(uintptr_t b, uintptr_t n) {
  startAddr = b;
  npages = n;
  next = prev = nullptr;
  freeindex = 0;
  allocCount = 0;
  allocCache = 0;
  needzero = false;
}

void mspan::refillAllocCache(uintptr_t whichByte) {
  uint64_t bits = 0;
  std::memcpy(&bits, allocBits + whichByte, 8);  // bitmaps are a multiple of 8 bytes
  allocCache = ~bits;
}

uintptr_t mspan::nextFreeIndex() {
  uintptr_t sfreeindex = freeindex;
  if (sfreeindex == nelems) return sfreeindex;
  uint64_t cache = allocCache;
  uintptr_t bit = cache ? uintptr_t(__builtin_ctzll(cache)) : 64;
  while (bit == 64) {
    // Move to the next 64-slot group.
    sfreeindex = (sfreeindex + 64) & ~uintptr_t(63);
    if (sfreeindex >= nelems) {
      freeindex = nelems;
      return nelems;
    }
    refillAllocCache(sfreeindex / 8);
    cache = allocCache;
    bit = cache ? uintptr_t(__builtin_ctzll(cache)) : 64;
  }
  uintptr_t result = sfreeindex + bit;
  if (result >= nelems) {
    freeindex = nelems;
    return nelems;
  }
  allocCache = (bit + 1 == 64) ? 0 : cache >> (bit + 1);
  sfreeindex = result + 1;
  if (sfreeindex % 64 == 0 && sfreeindex != nelems) refillAllocCache(sfreeindex / 8);
  freeindex = sfreeindex;
  return result;
}

void mSpanList::push(mspan* s) {
  s->prev = nullptr;
  s->next = first;
  if (first) first->prev = s;
  first = s;
}
void mSpanList::remove(mspan* s) {
  if (s->prev) {
    s->prev->next = s->next;
  } else {
    first = s->next;
  }
  if (s->next) s->next->prev = s->prev;
  s->next = s->prev = nullptr;
}
mspan* mSpanList::pop() {
  mspan* s = first;
  if (s) remove(s);
  return s;
}

// ---- the arena index ----

heapArena* arenaOf(uintptr_t p) {
  uintptr_t ri = p >> kLogHeapArenaBytes;
  if (ri >> (kArenaL1Bits + kArenaL2Bits)) return nullptr;
  std::atomic<heapArena*>* l2 = theHeap ? theHeap->arenas[ri >> kArenaL2Bits].load(std::memory_order_acquire) : nullptr;
  return l2 ? l2[ri & ((uintptr_t(1) << kArenaL2Bits) - 1)].load(std::memory_order_acquire) : nullptr;
}

mspan* spanOfHeap(uintptr_t p) {
  heapArena* ha = arenaOf(p);
  if (!ha) return nullptr;
  mspan* s = ha->spans[(p / kPageSize) % kPagesPerArena].load(std::memory_order_acquire);
  if (!s || s->state.load(std::memory_order_acquire) != mSpanState::inUse) return nullptr;
  if (p < s->base() || p >= s->limit) return nullptr;
  return s;
}

uintptr_t findObject(uintptr_t p, mspan** sp, uintptr_t* idx) {
  mspan* s = spanOfHeap(p);
  if (!s) return 0;
  uintptr_t i = s->objIndex(p);
  if (i >= s->nelems || !s->allocated(i)) return 0;
  if (sp) *sp = s;
  if (idx) *idx = i;
  return s->base() + i * s->elemsize;
}

heapArena* mheap::newArena(uintptr_t base) {
  uintptr_t ri = base >> kLogHeapArenaBytes;
  auto& l1 = arenas[ri >> kArenaL2Bits];
  std::atomic<heapArena*>* l2 = l1.load(std::memory_order_relaxed);
  if (!l2) {
    l2 = static_cast<std::atomic<heapArena*>*>(
        sysAlloc(sizeof(std::atomic<heapArena*>) << kArenaL2Bits, &heapStats().otherSys));
    l1.store(l2, std::memory_order_release);
  }
  auto* ha = static_cast<heapArena*>(sysAlloc(alignUp(sizeof(heapArena), 4096), &heapStats().otherSys));
  l2[ri & ((uintptr_t(1) << kArenaL2Bits) - 1)].store(ha, std::memory_order_release);
  return ha;
}

void mheap::setSpans(uintptr_t base, uintptr_t npages, mspan* s) {
  for (uintptr_t i = 0; i < npages; i++) {
    uintptr_t p = base + i * kPageSize;
    arenaOf(p)->spans[(p / kPageSize) % kPagesPerArena].store(s, std::memory_order_release);
  }
}

bool mheap::needZero(uintptr_t base, uintptr_t size) {
  bool dirty = false;
  for (uintptr_t end = base + size; base < end;) {
    heapArena* ha = arenaOf(base);
    uintptr_t arenaStart = alignDown(base, kHeapArenaBytes);
    uintptr_t off = base - arenaStart, upto = std::min(end - arenaStart, kHeapArenaBytes);
    if (off < ha->zeroedBase) dirty = true;
    if (upto > ha->zeroedBase) ha->zeroedBase = upto;
    base = arenaStart + upto;
  }
  return dirty;
}

// ---- growth ----

namespace {

// Reserve n bytes (a multiple of the arena size) aligned to an arena.
uintptr_t reserveArenas(uintptr_t n, uintptr_t* hint) {
  if (!san::kAny && *hint) {
    void* p = sysReserve(reinterpret_cast<void*>(*hint), n);
    if (p == reinterpret_cast<void*>(*hint)) {
      *hint += n;
      return uintptr_t(p);
    }
    if (p) sysFree(p, n);
    *hint = 0;  // the hinted range is taken: let the kernel choose from now on
  }
  void* p = sysReserve(nullptr, n + kHeapArenaBytes);
  if (!p) return 0;
  uintptr_t raw = uintptr_t(p), base = alignUp(raw, kHeapArenaBytes);
  if (base > raw) sysFree(p, base - raw);
  uintptr_t tail = raw + n + kHeapArenaBytes - (base + n);
  if (tail) sysFree(reinterpret_cast<void*>(base + n), tail);
  if ((base + n - 1) >> kHeapAddrBits) {
    sysFree(reinterpret_cast<void*>(base), n);
    return 0;
  }
  return base;
}

}  // namespace

void mheap::addPages(uintptr_t base, uintptr_t size) {
  sysMap(reinterpret_cast<void*>(base), size);
  sysHugePage(reinterpret_cast<void*>(base), size);
  san::registerRootRegion(reinterpret_cast<void*>(base), size);  // objects may own malloc memory
  pages.grow(base, size);
  heapStats().heapSys.fetch_add(size, std::memory_order_relaxed);
  heapStats().heapReleased.fetch_add(size, std::memory_order_relaxed);
}

bool mheap::grow(uintptr_t npages) {
  uintptr_t ask = alignUp(npages * kPageSize, kPallocChunkBytes);
  if (curArenaEnd - curArenaBase < ask) {
    // The rest of the current reservation joins the heap first.
    if (curArenaEnd > curArenaBase) {
      addPages(curArenaBase, curArenaEnd - curArenaBase);
    }
    uintptr_t n = alignUp(ask, kHeapArenaBytes);
    uintptr_t base = reserveArenas(n, &nextArenaHint);
    if (!base) return false;
    for (uintptr_t a = base; a < base + n; a += kHeapArenaBytes) newArena(a);
    curArenaBase = base;
    curArenaEnd = base + n;
  }
  addPages(curArenaBase, ask);
  curArenaBase += ask;
  return true;
}

uintptr_t mheap::allocPages(uintptr_t npages, uintptr_t* scavenged) {
  uintptr_t base = pages.alloc(npages, scavenged);
  if (base == 0) {
    if (!grow(npages)) return 0;
    base = pages.alloc(npages, scavenged);
    if (base == 0) throw_("mheap: no pages after growing the heap");
  }
  return base;
}

// ---- span allocation ----

mspan* mheap::allocSpan(uintptr_t npages, spanClass spc) {
  uintptr_t base = 0, scavenged = 0;
  mcache* c = currentMcache();
  constexpr uintptr_t kCachedPagesMax = 16;  // smaller spans come from the P's page cache
  bool cached = c && npages < kCachedPagesMax;
  if (cached) base = c->pcache.alloc(npages, &scavenged);
  lockGuard guard(&lock);
  if (!base && cached) {
    pages.flushCache(&c->pcache);
    if (pages.allocToCache(&c->pcache) || (grow(npages) && pages.allocToCache(&c->pcache))) {
      base = c->pcache.alloc(npages, &scavenged);
    }
  }
  if (!base) base = allocPages(npages, &scavenged);
  if (!base) outOfMemory(npages * kPageSize);
  mspan* s = newSpanRecord();
  s->init(base, npages);
  s->spanclass = spc;
  int sc = spc.sizeclass();
  if (sc == 0) {
    s->elemsize = npages * kPageSize;
    s->nelems = 1;
    s->divMul = 0;
  } else {
    s->elemsize = kClassToSize[sc];
    s->nelems = npages * kPageSize / s->elemsize;
    s->divMul = kClassToDivMagic[sc];
  }
  s->limit = base + s->nelems * s->elemsize;
  s->needzero = needZero(base, npages * kPageSize);
  s->allocBits = newAllocBits(s->nelems);
  s->gcmarkBits = newMarkBits(s->nelems);
  s->refillAllocCache(0);
  s->sweepgen.store(sweepgen.load(std::memory_order_relaxed), std::memory_order_relaxed);
  setSpans(base, npages, s);
  heapStats().heapInuse.fetch_add(npages * kPageSize, std::memory_order_relaxed);
  heapStats().heapReleased.fetch_sub(scavenged * kPageSize, std::memory_order_relaxed);
  s->state.store(mSpanState::inUse, std::memory_order_release);
  return s;
}

void mheap::freeSpan(mspan* s) {
  lockGuard guard(&lock);
  s->state.store(mSpanState::dead, std::memory_order_release);
  setSpans(s->base(), s->npages, nullptr);
  pages.free(s->base(), s->npages);
  heapStats().heapInuse.fetch_sub(s->npages * kPageSize, std::memory_order_relaxed);
  freeSpanRecord(s);
}

void mheapInit() {
  static mheap h;
  h.pages.init();
  h.nextArenaHint = san::kAny ? 0 : uintptr_t(0x00c0) << 32;
  for (int i = 0; i < kNumSpanClasses; i++) h.central[i].spanclass = spanClass{uint8_t(i)};
  theHeap = &h;
}

}  // namespace gort::internal
