// mpagealloc.cpp: the page allocator and the per-P page cache (mirrors
// runtime/mpagealloc.go, mpallocbits.go and mpagecache.go); the design and
// invariants are in mpagealloc.hpp.
#include "runtime/mpagealloc.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <bit>

#include "runtime/panic.hpp"

namespace gort::internal {

namespace {

constexpr uintptr_t kChunksL2Bits = 13;
constexpr uintptr_t kChunkCount = uintptr_t(1) << (kHeapAddrBits - kLogPallocChunkBytes);  // 2^26
constexpr uintptr_t kLevelBits[kSummaryLevels] = {14, 3, 3, 3, 3};
constexpr uint32_t kPackedAllFree = 1u << 21;  // only a whole top-level entry reaches it

// log2 of the chunks one entry of level l covers.
constexpr int levelShift(int l) { return 3 * (kSummaryLevels - 1 - l); }
constexpr uint32_t levelMaxPages(int l) { return uint32_t(kPallocChunkPages) << levelShift(l); }
constexpr uintptr_t levelEntries(int l) { return uintptr_t(1) << (kHeapAddrBits - kLogPallocChunkBytes - levelShift(l)); }
static_assert(levelEntries(0) == uintptr_t(1) << kLevelBits[0]);
static_assert(levelMaxPages(0) == kPackedAllFree);

constexpr uintptr_t chunkIndex(uintptr_t addr) { return addr >> kLogPallocChunkBytes; }
constexpr uintptr_t chunkBase(uintptr_t ci) { return ci << kLogPallocChunkBytes; }
constexpr uintptr_t pageInChunk(uintptr_t addr) { return (addr % kPallocChunkBytes) / kPageSize; }

// 21 bits each for start, max and end; the one value that needs a 22nd bit
// (2^21: a top-level entry wholly free) is a flag of its own.
uint64_t pack(pallocSum s) {
  if (s.start == kPackedAllFree) return uint64_t(1) << 63;
  return uint64_t(s.start) | uint64_t(s.max) << 21 | uint64_t(s.end) << 42;
}
pallocSum unpack(uint64_t v) {
  if (v >> 63) return {kPackedAllFree, kPackedAllFree, kPackedAllFree};
  constexpr uint64_t m = (uint64_t(1) << 21) - 1;
  return {uint32_t(v & m), uint32_t(v >> 21 & m), uint32_t(v >> 42 & m)};
}

pallocSum summarize(const pallocBits& b) {
  constexpr int kWords = kPallocChunkPages / 64;
  pallocSum s;
  for (int i = 0; i < kWords; i++) {
    s.start += b.w[i] ? uint32_t(std::countr_zero(b.w[i])) : 64;
    if (b.w[i]) break;
  }
  for (int i = kWords - 1; i >= 0; i--) {
    s.end += b.w[i] ? uint32_t(std::countl_zero(b.w[i])) : 64;
    if (b.w[i]) break;
  }
  uint32_t run = 0;
  for (int i = 0; i < kWords; i++) {
    uint64_t x = b.w[i];
    if (x == 0) {
      run += 64;
      continue;
    }
    s.max = std::max(s.max, run + uint32_t(std::countr_zero(x)));
    for (int prev = std::countr_zero(x); (x &= x - 1) != 0;) {
      int bit = std::countr_zero(x);
      s.max = std::max(s.max, uint32_t(bit - prev - 1));
      prev = bit;
    }
    run = uint32_t(std::countl_zero(b.w[i]));
  }
  s.max = std::max(s.max, run);
  return s;
}

// A parent's summary from its 8 children's (of level childLevel).
pallocSum merge(const uint64_t* children, int childLevel) {
  const uint32_t full = levelMaxPages(childLevel);
  pallocSum out;
  for (int i = 0; i < 8; i++) {
    uint32_t start = unpack(children[i]).start;
    out.start += start;
    if (start != full) break;
  }
  for (int i = 7; i >= 0; i--) {
    uint32_t end = unpack(children[i]).end;
    out.end += end;
    if (end != full) break;
  }
  uint32_t run = 0;
  for (int i = 0; i < 8; i++) {
    pallocSum s = unpack(children[i]);
    out.max = std::max({out.max, run + s.start, s.max});
    run = s.start == full ? run + full : s.end;
  }
  out.max = std::max(out.max, run);
  return out;
}

void* reserveZeroed(uintptr_t n) {
  void* p = mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) outOfMemory(n);
  return p;
}

// Calls fn(word index, mask) for the words of bits [i, i+n).
template <class F>
void forWords(uintptr_t i, uintptr_t n, F fn) {
  while (n > 0) {
    uintptr_t bit = i % 64, take = std::min<uintptr_t>(n, 64 - bit);
    uint64_t mask = take == 64 ? ~uint64_t(0) : ((uint64_t(1) << take) - 1) << bit;
    fn(i / 64, mask);
    i += take;
    n -= take;
  }
}

}  // namespace

// ---- bitmaps -------------------------------------------------------------------------

void pallocBits::setRange(uintptr_t i, uintptr_t n) {
  forWords(i, n, [&](uintptr_t wi, uint64_t mask) { w[wi] |= mask; });
}
void pallocBits::clearRange(uintptr_t i, uintptr_t n) {
  forWords(i, n, [&](uintptr_t wi, uint64_t mask) { w[wi] &= ~mask; });
}
uintptr_t pallocBits::popcntRange(uintptr_t i, uintptr_t n) const {
  uintptr_t count = 0;
  forWords(i, n, [&](uintptr_t wi, uint64_t mask) { count += uintptr_t(std::popcount(w[wi] & mask)); });
  return count;
}

uintptr_t pallocBits::findClearRun(uintptr_t n, uintptr_t from) const {
  uintptr_t run = 0, start = from;
  for (uintptr_t i = from; i < kPallocChunkPages;) {
    uintptr_t bit = i % 64;
    uint64_t rest = w[i / 64] >> bit;
    uintptr_t clear = rest ? uintptr_t(std::countr_zero(rest)) : 64 - bit;
    if (clear > 0) {
      if (run == 0) start = i;
      run += clear;
      if (run >= n) return start;
    }
    i += clear;
    if (rest) {
      run = 0;
      i++;  // the set bit
    }
  }
  return kPallocChunkPages;
}

// ---- page cache ----------------------------------------------------------------------

uintptr_t pageCache::alloc(uintptr_t n, uintptr_t* scavenged) {
  uint64_t fits = cache;  // bit i: pages i..i+n-1 all free here
  for (uintptr_t k = 1; k < n && fits; k++) fits &= cache >> k;
  if (fits == 0) return 0;
  int i = std::countr_zero(fits);
  uint64_t mask = (n == 64 ? ~uint64_t(0) : (uint64_t(1) << n) - 1) << i;
  *scavenged = uintptr_t(std::popcount(scav & mask));
  cache &= ~mask;
  scav &= ~mask;
  return base + uintptr_t(i) * kPageSize;
}

// ---- the allocator -------------------------------------------------------------------

void pageAlloc::init() {
  chunks_ = static_cast<pallocData**>(reserveZeroed(sizeof(pallocData*) * (kChunkCount >> kChunksL2Bits)));
  for (int l = 0; l < kSummaryLevels; l++) {
    levels_[l] = static_cast<uint64_t*>(reserveZeroed(sizeof(uint64_t) * levelEntries(l)));
  }
}

void pageAlloc::destroy() {
  for (uintptr_t i = 0; i < (kChunkCount >> kChunksL2Bits); i++) {
    if (chunks_[i]) munmap(chunks_[i], sizeof(pallocData) << kChunksL2Bits);
  }
  munmap(chunks_, sizeof(pallocData*) * (kChunkCount >> kChunksL2Bits));
  for (int l = 0; l < kSummaryLevels; l++) munmap(levels_[l], sizeof(uint64_t) * levelEntries(l));
  *this = pageAlloc{};
}

pallocData* pageAlloc::chunk(uintptr_t ci) const {
  pallocData* l2 = chunks_[ci >> kChunksL2Bits];
  return l2 ? &l2[ci & ((uintptr_t(1) << kChunksL2Bits) - 1)] : nullptr;
}

pallocData* pageAlloc::chunkOrCreate(uintptr_t ci) {
  pallocData*& l2 = chunks_[ci >> kChunksL2Bits];
  if (!l2) {
    l2 = static_cast<pallocData*>(reserveZeroed(sizeof(pallocData) << kChunksL2Bits));
    heapStats().otherSys.fetch_add(sizeof(pallocData) << kChunksL2Bits, std::memory_order_relaxed);
  }
  return chunk(ci);
}

void pageAlloc::updateChunk(uintptr_t ci) {
  levels_[kSummaryLevels - 1][ci] = pack(summarize(chunk(ci)->alloc));
}

void pageAlloc::update(uintptr_t base, uintptr_t npages) {
  uintptr_t lo = chunkIndex(base), hi = chunkIndex(base + npages * kPageSize - 1);
  for (uintptr_t ci = lo; ci <= hi; ci++) updateChunk(ci);
  for (int l = kSummaryLevels - 2; l >= 0; l--) {
    lo >>= 3;
    hi >>= 3;
    for (uintptr_t i = lo; i <= hi; i++) levels_[l][i] = pack(merge(&levels_[l + 1][i << 3], l + 1));
  }
}

uintptr_t pageAlloc::find(uintptr_t npages) const {
  if (inUseHi_ == 0) return 0;
  uintptr_t from = std::max(searchChunk_, inUseLo_);
  uintptr_t idx = 0;
  for (int l = 0; l < kSummaryLevels; l++) {
    int sh = levelShift(l);
    uintptr_t lo = l == 0 ? from >> sh : idx << 3;
    uintptr_t hi = l == 0 ? ((inUseHi_ - 1) >> sh) + 1 : lo + 8;
    lo = std::max(lo, std::min(from >> sh, hi));  // entries below the search chunk are full
    uintptr_t run = 0;
    bool down = false;
    for (uintptr_t j = lo; j < hi; j++) {
      pallocSum s = unpack(levels_[l][j]);
      if (run + s.start >= npages) return chunkBase(j << sh) - run * kPageSize;
      if (s.max >= npages) {
        idx = j;
        down = true;
        break;
      }
      run = s.start == levelMaxPages(l) ? run + s.start : s.end;
    }
    if (!down) {
      if (l == 0) return 0;
      throw_("pageAlloc: a summary promises pages its children lack");
    }
  }
  uintptr_t i = chunk(idx)->alloc.findClearRun(npages, 0);
  if (i >= kPallocChunkPages) throw_("pageAlloc: a chunk summary promises pages its bitmap lacks");
  return chunkBase(idx) + i * kPageSize;
}

// Calls fn(chunk, first page, pages) for each chunk of [base, base+npages).
template <class F>
void forChunks(uintptr_t base, uintptr_t npages, F fn) {
  while (npages > 0) {
    uintptr_t ci = chunkIndex(base), i = pageInChunk(base);
    uintptr_t take = std::min(npages, kPallocChunkPages - i);
    fn(ci, i, take);
    base += take * kPageSize;
    npages -= take;
  }
}

uintptr_t pageAlloc::allocRange(uintptr_t base, uintptr_t npages) {
  uintptr_t scavenged = 0;
  forChunks(base, npages, [&](uintptr_t ci, uintptr_t i, uintptr_t n) {
    pallocData* d = chunk(ci);
    scavenged += d->scav.popcntRange(i, n);
    d->scav.clearRange(i, n);
    d->alloc.setRange(i, n);
  });
  freePages_ -= npages;
  update(base, npages);
  return scavenged;
}

void pageAlloc::freeRange(uintptr_t base, uintptr_t npages, bool scavenged) {
  forChunks(base, npages, [&](uintptr_t ci, uintptr_t i, uintptr_t n) {
    pallocData* d = chunk(ci);
    d->alloc.clearRange(i, n);
    if (scavenged) d->scav.setRange(i, n);
  });
  freePages_ += npages;
  update(base, npages);
  searchChunk_ = std::min(searchChunk_, chunkIndex(base));
}

void pageAlloc::raiseSearch() {
  while (searchChunk_ < inUseHi_) {
    if (!chunks_[searchChunk_ >> kChunksL2Bits]) {
      searchChunk_ = alignUp(searchChunk_ + 1, uintptr_t(1) << kChunksL2Bits);
      continue;
    }
    if (unpack(levels_[kSummaryLevels - 1][searchChunk_]).max != 0) return;
    searchChunk_++;
  }
}

uintptr_t pageAlloc::alloc(uintptr_t npages, uintptr_t* scavenged) {
  uintptr_t base = find(npages);
  if (base == 0) return 0;
  *scavenged = allocRange(base, npages);
  raiseSearch();
  return base;
}

void pageAlloc::free(uintptr_t base, uintptr_t npages) { freeRange(base, npages, false); }

void pageAlloc::grow(uintptr_t base, uintptr_t size) {
  uintptr_t npages = size / kPageSize;
  forChunks(base, npages, [&](uintptr_t ci, uintptr_t i, uintptr_t n) {
    pallocData* d = chunkOrCreate(ci);
    d->alloc.clearRange(i, n);
    d->scav.setRange(i, n);
  });
  inUseLo_ = std::min(inUseLo_, chunkIndex(base));
  inUseHi_ = std::max(inUseHi_, chunkIndex(base + size - 1) + 1);
  freePages_ += npages;
  update(base, npages);
  searchChunk_ = std::min(searchChunk_, chunkIndex(base));
}

bool pageAlloc::allocToCache(pageCache* c) {
  uintptr_t addr = find(1);
  if (addr == 0) return false;
  uintptr_t ci = chunkIndex(addr), wi = pageInChunk(addr) / 64;
  pallocData* d = chunk(ci);
  c->base = chunkBase(ci) + wi * 64 * kPageSize;
  c->cache = ~d->alloc.w[wi];
  c->scav = d->scav.w[wi] & c->cache;
  d->alloc.w[wi] = ~uint64_t(0);
  d->scav.w[wi] &= ~c->cache;
  freePages_ -= uintptr_t(std::popcount(c->cache));
  update(c->base, 64);
  raiseSearch();
  return true;
}

void pageAlloc::flushCache(pageCache* c) {
  if (c->empty()) return;
  uintptr_t ci = chunkIndex(c->base), wi = pageInChunk(c->base) / 64;
  pallocData* d = chunk(ci);
  d->alloc.w[wi] &= ~c->cache;
  d->scav.w[wi] |= c->scav;
  freePages_ += uintptr_t(std::popcount(c->cache));
  update(c->base, 64);
  searchChunk_ = std::min(searchChunk_, ci);
  *c = pageCache{};
}

uintptr_t pageAlloc::takeUnscavenged(uintptr_t maxPages, uintptr_t* cursor, uintptr_t* n) {
  for (uintptr_t ci = std::min(*cursor, inUseHi_); ci-- > inUseLo_ && inUseHi_ != 0;) {
    pallocData* d = chunk(ci);
    if (!d) continue;
    for (int wi = int(kPallocChunkPages / 64) - 1; wi >= 0; wi--) {
      uint64_t candidates = ~d->alloc.w[wi] & ~d->scav.w[wi];
      if (!candidates) continue;
      uintptr_t top = uintptr_t(wi) * 64 + 63 - uintptr_t(std::countl_zero(candidates));
      uintptr_t first = top;
      while (first > 0 && top - first + 1 < maxPages && !d->alloc.get(first - 1) && !d->scav.get(first - 1)) first--;
      *n = top - first + 1;
      *cursor = ci + 1;
      uintptr_t base = chunkBase(ci) + first * kPageSize;
      allocRange(base, *n);
      return base;
    }
  }
  *cursor = 0;
  return 0;
}

void pageAlloc::freeScavenged(uintptr_t base, uintptr_t npages) { freeRange(base, npages, true); }

bool pageAlloc::pageAllocated(uintptr_t addr) const {
  pallocData* d = chunk(chunkIndex(addr));
  return !d || d->alloc.get(pageInChunk(addr));
}

bool pageAlloc::pageScavenged(uintptr_t addr) const {
  pallocData* d = chunk(chunkIndex(addr));
  return d && d->scav.get(pageInChunk(addr));
}

}  // namespace gort::internal
