// mheap.hpp: spans, mcentrals, the heap and its arena index (mirrors
// runtime/mheap.go, mcentral.go and the span half of mbitmap.go).
//
// A span is a run of pages holding objects of one span class (or one large
// object). Its allocation bits say which slots were in use when it was last
// swept; slots below freeindex have been handed out since. allocCache is the
// complement of the allocation bits from freeindex on (1 = free), so the
// fast path is a count-trailing-zeros. gcmarkBits are the collector's: the
// sweep makes them the new allocation bits (mgcsweep.cpp).
//
// sweepgen (Go's protocol; h = mheap.sweepgen, +2 every cycle):
//   h-2  needs sweeping        h-1  being swept       h  swept, ready
//   h+1  cached before the cycle began: sweep when uncached
//   h+3  swept and cached
//
// The arena index maps any address to its span in O(1): a two-level table
// (64 x 65536 entries for 48 bits of 64 MiB arenas) of heapArena records,
// each with one span pointer per page. Entries are published with release
// stores so that any thread (a conservative stack scan) may read them.
//
// Lock order: an mcentral's lock, then mheap.lock; mheap.lock is taken with
// no other allocator lock held otherwise.
#pragma once

#include <atomic>
#include <cstdint>

#include "runtime/lock_futex.hpp"
#include "runtime/malloc.hpp"
#include "runtime/mpagealloc.hpp"

namespace gort::internal {

enum class mSpanState : uint8_t { dead, inUse };

struct mspan {
  mspan* next = nullptr;  // in an mSpanList (mcentral) or the free records
  mspan* prev = nullptr;
  uintptr_t startAddr = 0;
  uintptr_t npages = 0;
  uintptr_t elemsize = 0;
  uintptr_t limit = 0;      // end of the last object
  uintptr_t freeindex = 0;  // slots below are allocated
  uintptr_t nelems = 0;
  uint64_t allocCache = 0;  // ~allocBits from freeindex, shifted
  uint8_t* allocBits = nullptr;
  uint8_t* gcmarkBits = nullptr;
  std::atomic<uint32_t> sweepgen{0};
  uint32_t divMul = 0;
  uint32_t allocCount = 0;
  spanClass spanclass;
  std::atomic<mSpanState> state{mSpanState::dead};
  bool needzero = false;  // its free slots may hold old bytes
  // Objects whose destructors must run before their slots are reused
  // (mfinal.cpp): null, or one entry per slot, under the destructor lock.
  std::atomic<struct DestructorRecord*> destructors{nullptr};

  uintptr_t base() const { return startAddr; }
  uintptr_t objIndex(uintptr_t p) const { return uintptr_t((uint64_t(p - startAddr) * divMul) >> 32); }
  bool allocated(uintptr_t i) const { return i < freeindex || (allocBits[i / 8] >> (i % 8) & 1); }
  // Mark bits are set concurrently (mark workers, write barriers,
  // allocate-black): atomically, byte by byte.
  bool marked(uintptr_t i) const { return __atomic_load_n(&gcmarkBits[i / 8], __ATOMIC_RELAXED) >> (i % 8) & 1; }
  void setMarked(uintptr_t i) { tryMark(i); }
  // Sets the mark bit; returns whether this call set it.
  bool tryMark(uintptr_t i) {
    auto bit = uint8_t(1 << (i % 8));
    if (__atomic_load_n(&gcmarkBits[i / 8], __ATOMIC_RELAXED) & bit) return false;
    return !(__atomic_fetch_or(&gcmarkBits[i / 8], bit, __ATOMIC_RELAXED) & bit);
  }
  // Load allocCache from the 64 allocation bits at byte whichByte.
  void refillAllocCache(uintptr_t whichByte);
  // The next free slot at or after freeindex (nelems if none); advances
  // freeindex and allocCache to it.
  uintptr_t nextFreeIndex();
  void init(uintptr_t base, uintptr_t npages);
  // Sweep (mgcsweep.cpp); the caller has moved sweepgen to h-1. Unless
  // preserve, the span goes back to its mcentral or, empty, to the heap.
  // Returns whether it was freed.
  bool sweep(bool preserve);
};

// A doubly linked list of spans.
struct mSpanList {
  mspan* first = nullptr;
  bool empty() const { return first == nullptr; }
  void push(mspan* s);
  void remove(mspan* s);
  mspan* pop();
};

// The spans of one span class that are not in an mcache (mcentral.cpp).
struct mcentral {
  mutex lock{LockRank::mcentral};
  spanClass spanclass;
  // [sweepgen/2 % 2] swept, [1 - sweepgen/2 % 2] unswept: a new cycle's
  // +2 turns every swept span into an unswept one without touching it.
  mSpanList partial[2];  // some free slots
  mSpanList full[2];     // no free slots (or a large object)
  mSpanList& partialSwept(uint32_t sg) { return partial[sg / 2 % 2]; }
  mSpanList& partialUnswept(uint32_t sg) { return partial[1 - sg / 2 % 2]; }
  mSpanList& fullSwept(uint32_t sg) { return full[sg / 2 % 2]; }
  mSpanList& fullUnswept(uint32_t sg) { return full[1 - sg / 2 % 2]; }
  // A span with a free slot for an mcache, or null if the heap is spent.
  mspan* cacheSpan();
  // A span an mcache gives back.
  void uncacheSpan(mspan* s);
  // Take one unswept span out and sweep it; false if none was left.
  bool sweepOne();
  // Put a span the sweeper kept back on the swept lists.
  void putSwept(mspan* s);
};

// One bit per heap word: set when a Ptr (or slice) stores a pointer there
// (mbarrier.cpp), cleared when the word's slot is allocated again
// (malloc.cpp). The precise heap scan reads only words whose bit is set.
inline constexpr uintptr_t kArenaWords = kHeapArenaBytes / 8;

struct heapArena {
  std::atomic<mspan*> spans[kPagesPerArena];  // every page of an in-use span
  std::atomic<uint8_t> ptrBits[kArenaWords / 8];
  uintptr_t zeroedBase = 0;  // bytes of the arena below this have been used (not known zero)
};

inline constexpr uintptr_t kArenaL1Bits = 6;
inline constexpr uintptr_t kArenaL2Bits = kHeapAddrBits - kLogHeapArenaBytes - kArenaL1Bits;  // 16

struct mheap {
  mutex lock{LockRank::mheap};
  pageAlloc pages;  // lock
  std::atomic<uint32_t> sweepgen{0};
  std::atomic<std::atomic<heapArena*>*> arenas[uintptr_t(1) << kArenaL1Bits] = {};
  uintptr_t curArenaBase = 0, curArenaEnd = 0;  // lock: reserved, not yet grown into
  uintptr_t nextArenaHint = 0;                  // lock
  mcentral central[kNumSpanClasses];
  uintptr_t scavengeCursor = 0;  // lock: mgcscavenge.cpp's next chunk to search below (0: start over)

  // A span of npages for spanclass (sizeclass 0: one large object). On a P
  // the small ones come from its page cache without the heap lock.
  mspan* allocSpan(uintptr_t npages, spanClass spc);
  void freeSpan(mspan* s);
  // Whether [base, base+size) might hold old bytes (else it is fresh from
  // the OS, all zero); records the range as used.
  bool needZero(uintptr_t base, uintptr_t size);

 private:
  bool grow(uintptr_t npages);  // lock
  void addPages(uintptr_t base, uintptr_t size);  // lock: reserved space joins the heap
  uintptr_t allocPages(uintptr_t npages, uintptr_t* scavenged);  // lock
  void setSpans(uintptr_t base, uintptr_t npages, mspan* s);
  heapArena* newArena(uintptr_t base);
};

mheap& heap();
void mallocinit();  // idempotent: the heap exists once it returns (malloc.cpp)
void mheapInit();   // mallocinit's, once

heapArena* arenaOf(uintptr_t p);
// The span holding p, in use, or null (p outside the heap, or in free pages).
mspan* spanOfHeap(uintptr_t p);
// The start of the allocated object holding p (any interior address), its
// span and slot; 0 if p points at no allocated object.
uintptr_t findObject(uintptr_t p, mspan** sp = nullptr, uintptr_t* idx = nullptr);

// Mark bits for n objects from the current epoch's arena (mheap.cpp, as
// Go's gcBits arenas): allocated zeroed, freed wholesale two epochs later.
uint8_t* newMarkBits(uintptr_t nelems);
uint8_t* newAllocBits(uintptr_t nelems);
void nextMarkBitArenaEpoch();  // before each cycle's marking, once sweeping is done

// Sweep cycles (mgcsweep.cpp): sweep every span still unswept (a cycle
// begins in mgc.hpp's markAndStartSweep).
void finishSweep();
// sysmon's background sweeping: 1% of the time since its last call.
void bgsweepTick(int64_t sinceNs);

}  // namespace gort::internal
