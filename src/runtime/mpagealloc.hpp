// mpagealloc.hpp: the page allocator (mirrors runtime/mpagealloc.go and
// mpagecache.go; design: golang/proposal 35112).
//
// The heap's address space is cut into 4 MiB chunks of 512 pages. Each
// chunk the heap has grown into keeps two bitmaps: pages allocated, and
// pages scavenged (their memory returned to the OS). Over the chunks sits a
// radix tree of summaries: for a region, the free pages at its start, the
// longest free run inside it, and the free pages at its end. The top level
// has 2^14 entries; each lower level splits an entry in 8, down to one entry
// per chunk (levels of 14, 3, 3, 3, 3 bits: 2^26 chunks, 48 address bits).
// Finding the first fit of n pages walks down the tree, carrying free runs
// across entry boundaries, and touches O(levels x 8) summaries; freeing or
// allocating updates the summaries on the path up. The levels are reserved
// address space; only the parts over the heap are ever touched.
//
// searchChunk: every chunk below it is fully allocated, so a search starts
// there (allocation raises it lazily, a free lowers it).
//
// Invariants: all of it is under the heap lock (mheap.lock), except the
// page cache, which belongs to one P. Bit set = page allocated; a page both
// free and scavenged has no memory behind it.
#pragma once

#include <cstdint>

#include "runtime/malloc.hpp"

namespace gort::internal {

inline constexpr uintptr_t kPallocChunkPages = 512;
inline constexpr uintptr_t kLogPallocChunkBytes = 22;
inline constexpr uintptr_t kPallocChunkBytes = uintptr_t(1) << kLogPallocChunkBytes;  // 4 MiB
inline constexpr int kSummaryLevels = 5;

// 512 bits, one per page of a chunk.
struct pallocBits {
  uint64_t w[kPallocChunkPages / 64] = {};
  bool get(uintptr_t i) const { return w[i / 64] >> (i % 64) & 1; }
  void setRange(uintptr_t i, uintptr_t n);
  void clearRange(uintptr_t i, uintptr_t n);
  uintptr_t popcntRange(uintptr_t i, uintptr_t n) const;
  // The first run of n clear bits at or after bit from, or kPallocChunkPages.
  uintptr_t findClearRun(uintptr_t n, uintptr_t from) const;
};

struct pallocData {
  pallocBits alloc;
  pallocBits scav;
};

// A summary: start, max, end in pages.
struct pallocSum {
  uint32_t start = 0, max = 0, end = 0;
};

// A P's page cache: 64 pages aligned to 64, the free ones set in cache.
struct pageCache {
  uintptr_t base = 0;
  uint64_t cache = 0;  // 1: free in this cache
  uint64_t scav = 0;   // 1: scavenged
  bool empty() const { return cache == 0; }
  // n contiguous free pages of the cache (n < 64), or 0; *scavenged gets
  // how many of them were scavenged.
  uintptr_t alloc(uintptr_t n, uintptr_t* scavenged);
};

class pageAlloc {
 public:
  void init();  // reserves the summary levels; called once
  // Unmaps what init and grow mapped (tests' own allocators; the heap's
  // lives as long as the process).
  void destroy();
  // First fit of npages; 0 if the heap must grow. *scavenged: how many of
  // the pages had been returned to the OS (they are not any more).
  uintptr_t alloc(uintptr_t npages, uintptr_t* scavenged);
  void free(uintptr_t base, uintptr_t npages);
  // [base, base+size), chunk-aligned, joins the heap, free and scavenged.
  void grow(uintptr_t base, uintptr_t size);
  // Fill an empty page cache from one 64-page group; false if none is free.
  bool allocToCache(pageCache* c);
  // Give a cache's free pages back.
  void flushCache(pageCache* c);

  // Scavenging (mgcscavenge.cpp): take up to maxPages free unscavenged
  // pages, searching downward from the chunk below *cursor; the run found
  // is marked allocated so that nobody uses it while the lock is dropped.
  // Returns its base (0 when the search reached the bottom) and sets *n.
  uintptr_t takeUnscavenged(uintptr_t maxPages, uintptr_t* cursor, uintptr_t* n);
  // Return a run from takeUnscavenged, now scavenged.
  void freeScavenged(uintptr_t base, uintptr_t npages);
  uintptr_t topChunk() const { return inUseHi_; }  // one past the highest chunk in use

  bool pageAllocated(uintptr_t addr) const;  // tests
  bool pageScavenged(uintptr_t addr) const;  // tests
  uintptr_t freePages() const { return freePages_; }

 private:
  pallocData* chunk(uintptr_t ci) const;
  pallocData* chunkOrCreate(uintptr_t ci);
  uintptr_t find(uintptr_t npages) const;
  // Set (alloc) or clear (free) [base, base+npages); returns the number of
  // scavenged pages in the range and clears or sets their scavenged bits.
  uintptr_t allocRange(uintptr_t base, uintptr_t npages);
  void freeRange(uintptr_t base, uintptr_t npages, bool scavenged);
  void update(uintptr_t base, uintptr_t npages);  // summaries over a changed range
  void updateChunk(uintptr_t ci);
  void raiseSearch();

  pallocData** chunks_ = nullptr;  // two levels: [ci >> 13][ci & 8191]
  uint64_t* levels_[kSummaryLevels] = {};
  uintptr_t inUseLo_ = ~uintptr_t(0), inUseHi_ = 0;  // chunk indices [lo, hi)
  uintptr_t searchChunk_ = 0;
  uintptr_t freePages_ = 0;
};

}  // namespace gort::internal
