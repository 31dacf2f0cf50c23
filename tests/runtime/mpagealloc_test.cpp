// The page allocator, white-box, on address ranges it only keeps books for
// (it never touches the pages): first fit against a brute-force model under
// random fragmentation, runs across chunk and summary boundaries, the page
// cache, and scavenged-page accounting.
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <vector>

#include "runtime/export_test.hpp"

namespace gi = gort::internal;

namespace {

constexpr uintptr_t kBase = uintptr_t(0x100) << 32;  // never mapped: books only

// The model: one bool per page, first fit by linear scan.
struct Model {
  std::vector<bool> used;
  uintptr_t firstFit(uintptr_t n) const {
    uintptr_t run = 0;
    for (uintptr_t i = 0; i < used.size(); i++) {
      run = used[i] ? 0 : run + 1;
      if (run == n) return i + 1 - n;
    }
    return ~uintptr_t(0);
  }
};

struct Destroy {
  void operator()(gi::pageAlloc* a) const {
    a->destroy();
    delete a;
  }
};
using Allocator = std::unique_ptr<gi::pageAlloc, Destroy>;

Allocator newAllocator() {
  Allocator a(new gi::pageAlloc());
  a->init();
  return a;
}

}  // namespace

TEST(PageAlloc, FirstFitMatchesTheModelUnderFragmentation) {
  Allocator a = newAllocator();
  constexpr uintptr_t kPages = 8 * gi::kPallocChunkPages;  // 8 chunks, 32 MiB
  a->grow(kBase, kPages * gi::kPageSize);
  Model m{std::vector<bool>(kPages)};
  std::mt19937_64 rng(7);
  struct Run {
    uintptr_t at, n;
  };
  std::vector<Run> live;
  for (int step = 0; step < 20000; step++) {
    if (live.empty() || rng() % 3 != 0) {
      uintptr_t n = rng() % 8 == 0 ? 1 + rng() % 700 : 1 + rng() % 6;  // some runs span chunks
      uintptr_t want = m.firstFit(n), scav = 0;
      uintptr_t got = a->alloc(n, &scav);
      if (want == ~uintptr_t(0)) {
        ASSERT_EQ(got, 0u) << "step " << step;
        continue;
      }
      ASSERT_EQ(got, kBase + want * gi::kPageSize) << "step " << step << " n " << n;
      for (uintptr_t i = want; i < want + n; i++) m.used[i] = true;
      live.push_back({want, n});
    } else {
      size_t k = rng() % live.size();
      Run r = live[k];
      live[k] = live.back();
      live.pop_back();
      a->free(kBase + r.at * gi::kPageSize, r.n);
      for (uintptr_t i = r.at; i < r.at + r.n; i++) m.used[i] = false;
    }
  }
  uintptr_t freeModel = 0;
  for (bool u : m.used) freeModel += !u;
  EXPECT_EQ(a->freePages(), freeModel);
}

TEST(PageAlloc, WholeHeapRunAndExhaustion) {
  Allocator a = newAllocator();
  constexpr uintptr_t kPages = 4 * gi::kPallocChunkPages;
  a->grow(kBase, kPages * gi::kPageSize);
  uintptr_t scav = 0;
  EXPECT_EQ(a->alloc(kPages + 1, &scav), 0u);
  EXPECT_EQ(a->alloc(kPages, &scav), kBase);
  EXPECT_EQ(scav, kPages) << "fresh pages count as scavenged";
  EXPECT_EQ(a->alloc(1, &scav), 0u);
  a->free(kBase + 100 * gi::kPageSize, 3);
  EXPECT_EQ(a->alloc(4, &scav), 0u);
  EXPECT_EQ(a->alloc(2, &scav), kBase + 100 * gi::kPageSize);
  EXPECT_EQ(scav, 0u) << "freed pages were not scavenged";
  EXPECT_EQ(a->alloc(1, &scav), kBase + 102 * gi::kPageSize);
}

TEST(PageAlloc, GrowingAgainExtendsRunsAcrossTheBoundary) {
  Allocator a = newAllocator();
  uintptr_t chunk = gi::kPallocChunkBytes;
  a->grow(kBase, chunk);
  uintptr_t scav = 0;
  ASSERT_EQ(a->alloc(gi::kPallocChunkPages - 10, &scav), kBase);
  a->grow(kBase + chunk, chunk);
  // The 10 free pages at the end of the first chunk join the second's.
  EXPECT_EQ(a->alloc(20, &scav), kBase + (gi::kPallocChunkPages - 10) * gi::kPageSize);
}

TEST(PageAlloc, PageCacheTakesA64PageGroup) {
  Allocator a = newAllocator();
  a->grow(kBase, gi::kPallocChunkBytes);
  uintptr_t scav = 0;
  ASSERT_EQ(a->alloc(3, &scav), kBase);
  gi::pageCache c;
  ASSERT_TRUE(a->allocToCache(&c));
  EXPECT_EQ(c.base, kBase);
  EXPECT_EQ(c.cache, ~uint64_t(7));
  EXPECT_EQ(a->alloc(1, &scav), kBase + 64 * gi::kPageSize) << "the cached group is taken";
  EXPECT_EQ(c.alloc(2, &scav), kBase + 3 * gi::kPageSize);
  EXPECT_EQ(scav, 2u);
  EXPECT_EQ(c.alloc(62, &scav), 0u);
  a->flushCache(&c);
  EXPECT_TRUE(c.empty());
  EXPECT_FALSE(a->pageAllocated(kBase + 5 * gi::kPageSize));
  EXPECT_TRUE(a->pageAllocated(kBase + 4 * gi::kPageSize));
  EXPECT_TRUE(a->pageScavenged(kBase + 5 * gi::kPageSize)) << "the cache gave its scavenged bits back";
}

TEST(PageAlloc, TakeUnscavengedFromTheTop) {
  Allocator a = newAllocator();
  a->grow(kBase, 2 * gi::kPallocChunkBytes);
  uintptr_t scav = 0;
  uintptr_t all = 2 * gi::kPallocChunkPages;
  ASSERT_EQ(a->alloc(all, &scav), kBase);
  a->free(kBase + 10 * gi::kPageSize, 20);   // unscavenged, low
  a->free(kBase + 900 * gi::kPageSize, 5);   // unscavenged, high
  uintptr_t cursor = a->topChunk(), n = 0;
  EXPECT_EQ(a->takeUnscavenged(64, &cursor, &n), kBase + 900 * gi::kPageSize);
  EXPECT_EQ(n, 5u);
  a->freeScavenged(kBase + 900 * gi::kPageSize, 5);
  EXPECT_EQ(a->takeUnscavenged(8, &cursor, &n), kBase + 22 * gi::kPageSize) << "the top of the low run, 8 at most";
  EXPECT_EQ(n, 8u);
  a->freeScavenged(kBase + 22 * gi::kPageSize, 8);
  EXPECT_EQ(a->takeUnscavenged(64, &cursor, &n), kBase + 10 * gi::kPageSize);
  EXPECT_EQ(n, 12u);
  a->freeScavenged(kBase + 10 * gi::kPageSize, 12);
  EXPECT_EQ(a->takeUnscavenged(64, &cursor, &n), 0u);
  EXPECT_TRUE(a->pageScavenged(kBase + 10 * gi::kPageSize));
  EXPECT_EQ(a->alloc(20, &scav), kBase + 10 * gi::kPageSize);
  EXPECT_EQ(scav, 20u);
}
