// The allocator: size classes, small/tiny/large objects, findObject, the
// sweep protocol (marks set by hand through the test seam), MemStats, and
// New/make_slice/append. The heap-shape tests run at several P counts.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include <sys/mman.h>
#include <unistd.h>

#include "gort/gort.hpp"
#include "gort/new.hpp"
#include "gort/slice.hpp"
#include "runtime/export_test.hpp"
#include "support/procs_test.hpp"

namespace gi = gort::internal;
namespace ex = gort::internal::exported;
using gort::runtime::MemStats;

namespace {

// These tests hold raw allocations in malloc'd containers, where the
// collector cannot see them, and drive sweeps by hand: the collector stays
// off (gc_test.cpp tests it).
const bool collectorOff = (setenv("GOGC", "off", 1), true);

MemStats readStats() {
  MemStats m;
  gort::runtime::ReadMemStats(&m);
  return m;
}

}  // namespace

TEST(SizeClasses, EverySizeGetsTheSmallestClassThatFits) {
  for (uintptr_t size = 1; size <= gi::kMaxSmallSize; size++) {
    int c = gi::sizeToClass(size);
    ASSERT_GE(c, 1) << size;
    ASSERT_LT(c, gi::kNumSizeClasses) << size;
    ASSERT_GE(gi::kClassToSize[c], size) << size;
    ASSERT_LT(gi::kClassToSize[c - 1], size) << size;
  }
}

TEST(SizeClasses, DivMagicGivesTheObjectIndex) {
  for (int c = 1; c < gi::kNumSizeClasses; c++) {
    uint64_t span = uint64_t(gi::kClassToAllocNPages[c]) * gi::kPageSize;
    for (uint64_t off = 0; off < span; off += 7) {
      ASSERT_EQ((off * gi::kClassToDivMagic[c]) >> 32, off / gi::kClassToSize[c]) << "class " << c;
    }
  }
}

TEST(SizeClasses, GoTable) {
  // Go 1.19's classes (sizeclasses.go), spot-checked.
  EXPECT_EQ(gi::kNumSizeClasses, 68);
  EXPECT_EQ(gi::kClassToSize[1], 8);
  EXPECT_EQ(gi::kClassToSize[5], 48);
  EXPECT_EQ(gi::kClassToSize[43], 3456);
  EXPECT_EQ(gi::kClassToAllocNPages[43], 3);
  EXPECT_EQ(gi::kClassToSize[67], 32768);
  EXPECT_EQ(gi::kClassToAllocNPages[67], 4);
}

class MallocTest : public gorttest::ProcsTest {};

TEST_P(MallocTest, SmallObjectsAreDistinctAlignedAndFindable) {
  gort::Run([] {
    for (uintptr_t size : {16u, 24u, 48u, 100u, 256u, 1000u, 4096u, 20000u}) {
      std::set<uintptr_t> seen;
      for (int i = 0; i < 2000; i++) {
        auto* p = static_cast<unsigned char*>(gi::mallocgc(size, nullptr, true));
        uintptr_t a = uintptr_t(p);
        ASSERT_TRUE(seen.insert(a).second) << "handed out twice: " << size;
        uintptr_t cs = gi::kClassToSize[gi::sizeToClass(size)];
        ASSERT_EQ(a % std::min<uintptr_t>(cs & (~cs + 1), 16), 0u) << size;
        for (uintptr_t k = 0; k < size; k++) ASSERT_EQ(p[k], 0) << "not zeroed";
        std::memset(p, 0xab, size);
        EXPECT_EQ(gi::findObject(a + size - 1), a);
        EXPECT_EQ(gi::findObject(a), a);
      }
    }
  });
}

TEST_P(MallocTest, ConcurrentGoroutinesNeverShareAnObject) {
  constexpr int kG = 8, kN = 20000;
  std::vector<std::vector<uint64_t*>> got(kG);
  gort::Run([&] {
    gort::sync::WaitGroup wg;
    for (int id = 0; id < kG; id++) {
      wg.Add(1);
      gort::go([&, id] {
        for (int i = 0; i < kN; i++) {
          auto* p = static_cast<uint64_t*>(gi::mallocgc(16 + 16 * (i % 4), nullptr, true));
          p[0] = uint64_t(id) << 32 | uint64_t(i);
          got[size_t(id)].push_back(p);
          if (i % 1000 == 0) gort::runtime::Gosched();
        }
        wg.Done();
      });
    }
    wg.Wait();
  });
  for (int id = 0; id < kG; id++) {
    for (int i = 0; i < kN; i++) ASSERT_EQ(got[size_t(id)][size_t(i)][0], uint64_t(id) << 32 | uint64_t(i));
  }
}

TEST_P(MallocTest, LargeObjectsArePageAlignedAndFoundFromInside) {
  gort::Run([] {
    MemStats before = readStats();
    auto* p = static_cast<char*>(gi::mallocgc(100 << 10, nullptr, true));
    EXPECT_EQ(uintptr_t(p) % gi::kPageSize, 0u);
    EXPECT_EQ(gi::findObject(uintptr_t(p) + 77777), uintptr_t(p));
    EXPECT_EQ(gi::findObject(uintptr_t(p) + (100 << 10)), uintptr_t(p)) << "the span's tail is the object's";
    EXPECT_NE(gi::findObject(uintptr_t(p) + gi::alignUp(100 << 10, gi::kPageSize)), uintptr_t(p));
    MemStats after = readStats();
    EXPECT_EQ(after.HeapInuse - before.HeapInuse, gi::alignUp(100 << 10, gi::kPageSize));
  });
}

TEST(Malloc, FindObjectOutsideTheHeap) {
  int local = 0;
  static int global = 0;
  EXPECT_EQ(gi::findObject(0), 0u);
  EXPECT_EQ(gi::findObject(uintptr_t(&local)), 0u);
  EXPECT_EQ(gi::findObject(uintptr_t(&global)), 0u);
  EXPECT_EQ(gi::findObject(~uintptr_t(0)), 0u);
  std::unique_ptr<int> m(new int(1));
  EXPECT_EQ(gi::findObject(uintptr_t(m.get())), 0u);
}

TEST(Malloc, TinyObjectsShareABlock) {
  gort::Run([] {
    MemStats before = readStats();
    std::vector<uintptr_t> ps;
    for (int i = 0; i < 16; i++) ps.push_back(uintptr_t(gi::mallocgc(1, nullptr, true)));
    MemStats after = readStats();
    // 16 one-byte objects fill one 16-byte block (maybe two, if the block
    // in the cache was partly used before).
    std::set<uintptr_t> blocks;
    for (uintptr_t p : ps) blocks.insert(p & ~uintptr_t(15));
    EXPECT_LE(blocks.size(), 2u);
    EXPECT_EQ(after.Mallocs - before.Mallocs, 16u) << "each tiny allocation counts once";
    // Sizes are aligned within the block by their own size.
    uintptr_t a = uintptr_t(gi::mallocgc(8, nullptr, true)), b = uintptr_t(gi::mallocgc(4, nullptr, true));
    EXPECT_EQ(a % 8, 0u);
    EXPECT_EQ(b % 4, 0u);
  });
}

TEST(Malloc, ZeroSizeIsZerobase) {
  EXPECT_EQ(gi::mallocgc(0, nullptr, true), static_cast<void*>(gi::zerobase));
  struct Empty {};
  EXPECT_EQ(static_cast<void*>(gort::New<Empty>().get()), static_cast<void*>(gi::zerobase));
}

TEST(Malloc, OffTheSchedulerThreadsAllocateToo) {
  std::vector<uintptr_t> got;
  std::thread t([&] {
    for (int i = 0; i < 1000; i++) got.push_back(uintptr_t(gi::mallocgc(32, nullptr, true)));
  });
  t.join();
  std::sort(got.begin(), got.end());
  EXPECT_EQ(std::unique(got.begin(), got.end()), got.end());
  for (uintptr_t p : got) EXPECT_EQ(gi::findObject(p + 31), p);
}

TEST_P(MallocTest, SweepFreesUnmarkedAndKeepsMarked) {
  gort::Run([] {
    constexpr int kN = 4096;
    std::vector<uint64_t*> objs;
    std::vector<const void*> keep;
    for (int i = 0; i < kN; i++) {
      auto* p = static_cast<uint64_t*>(gi::mallocgc(64, nullptr, true));
      p[0] = uint64_t(i);
      p[7] = ~uint64_t(i);
      objs.push_back(p);
      if (i % 2 == 0) keep.push_back(p + 3);  // an interior pointer keeps it too
    }
    void* big = gi::mallocgc(1 << 20, nullptr, true);
    MemStats before = readStats();
    ex::SweepCycle(keep);
    ex::FinishSweep();
    MemStats after = readStats();
    EXPECT_GE(after.Frees - before.Frees, uint64_t(kN / 2) + 1);
    EXPECT_GE(before.HeapInuse - after.HeapInuse, uint64_t(1 << 20)) << "the unmarked large object went back";
    EXPECT_EQ(gi::findObject(uintptr_t(big)), 0u);
    for (int i = 0; i < kN; i += 2) {
      ASSERT_EQ(gi::findObject(uintptr_t(objs[size_t(i)])), uintptr_t(objs[size_t(i)]));
      ASSERT_EQ(objs[size_t(i)][0], uint64_t(i));
      ASSERT_EQ(objs[size_t(i)][7], ~uint64_t(i));
    }
    for (int i = 1; i < kN; i += 2) ASSERT_EQ(gi::findObject(uintptr_t(objs[size_t(i)])), 0u);
    // Freed slots are handed out again, zeroed; marked ones never.
    std::set<uintptr_t> freed, kept;
    for (int i = 0; i < kN; i++) (i % 2 ? freed : kept).insert(uintptr_t(objs[size_t(i)]));
    int reused = 0;
    for (int i = 0; i < kN; i++) {
      auto* p = static_cast<uint64_t*>(gi::mallocgc(64, nullptr, true));
      ASSERT_EQ(kept.count(uintptr_t(p)), 0u) << "a live object was handed out";
      reused += int(freed.count(uintptr_t(p)));
      for (int k = 0; k < 8; k++) ASSERT_EQ(p[k], 0u);
    }
    EXPECT_GT(reused, kN / 4);
  });
}

TEST(Sweeper, BackgroundSweeperFreesWithoutAllocation) {
  gort::Run([] {
    ex::FinishSweep();
    for (int i = 0; i < 10000; i++) gi::mallocgc(96, nullptr, true);
    MemStats before = readStats();
    ex::SweepCycle({});
    // Nobody allocates: sysmon's sweeper frees them.
    MemStats now = before;
    for (int i = 0; i < 500 && now.Frees - before.Frees < 10000; i++) {
      gort::time::Sleep(10 * gort::time::Millisecond);
      now = readStats();
    }
    EXPECT_GE(now.Frees - before.Frees, 10000u);
  });
}

TEST(Malloc, MemStatsCountAllocations) {
  gort::Run([] {
    MemStats before = readStats();
    for (int i = 0; i < 1000; i++) gi::mallocgc(48, nullptr, true);
    gi::mallocgc(40000, nullptr, true);
    MemStats after = readStats();
    EXPECT_EQ(after.Mallocs - before.Mallocs, 1001u);
    EXPECT_EQ(after.BySize[5].Mallocs - before.BySize[5].Mallocs, 1000u);
    EXPECT_EQ(after.TotalAlloc - before.TotalAlloc, 1000u * 48 + gi::alignUp(40000, gi::kPageSize));
    EXPECT_EQ(after.HeapObjects - before.HeapObjects, 1001u);
    EXPECT_GE(after.HeapSys, after.HeapInuse);
    EXPECT_EQ(after.HeapIdle, after.HeapSys - after.HeapInuse);
    EXPECT_GT(after.StackInuse, 0u);
    EXPECT_GT(after.MSpanInuse, 0u);
    EXPECT_EQ(after.Sys, after.HeapSys + after.StackSys + after.MSpanSys + after.MCacheSys + after.GCSys +
                             after.OtherSys + after.BuckHashSys);
  });
}

namespace {
// The freed heap whose return the scavenger tests watch: resident pages
// of its own range (mincore), not the process's RSS, which counts the
// collector's first-cycle reservations and, under qemu-user, the
// emulator's bookkeeping of them.
struct FreedHeap {
  static constexpr uintptr_t kBytes = 64 << 20;
  char* base;
  uint64_t resident() const {
    const long page = sysconf(_SC_PAGESIZE);
    std::vector<unsigned char> vec(kBytes / uintptr_t(page));
    if (mincore(base, kBytes, vec.data()) != 0) return kBytes;
    uint64_t n = 0;
    for (unsigned char v : vec) n += v & 1;
    return n * uint64_t(page);
  }
};

// A 64 MiB object, touched, then freed by a sweep cycle: its pages are
// free but still resident.
FreedHeap freeTouchedHeap() {
  auto* p = static_cast<char*>(gi::mallocgc(FreedHeap::kBytes, nullptr, true));
  std::memset(p, 1, FreedHeap::kBytes);
  ex::SweepCycle({});
  ex::FinishSweep();
  return FreedHeap{p};
}
}  // namespace

TEST(Scavenger, BackgroundScavengerReturnsFreeMemory) {
  if (gi::debug.madvdontneed == 0) GTEST_SKIP() << "MADV_FREE leaves pages resident until memory pressure";
  gort::Run([] {
    FreedHeap freed = freeTouchedHeap();
    ASSERT_GT(freed.resident(), FreedHeap::kBytes / 2);  // touched (the scavenger may already have begun)
    uint64_t released = readStats().HeapReleased;
    // sysmon's scavenger, at 1% of a CPU, returns it within seconds.
    auto returned = [&] { return freed.resident() <= (16 << 20) && readStats().HeapReleased >= released + (48 << 20); };
    for (int i = 0; i < 1000 && !returned(); i++) gort::time::Sleep(10 * gort::time::Millisecond);
    EXPECT_LE(freed.resident(), 16 << 20);
    EXPECT_GE(readStats().HeapReleased, released + (48 << 20));
  });
}

TEST(Scavenger, FreeOSMemoryReturnsItAtOnce) {
  if (gi::debug.madvdontneed == 0) GTEST_SKIP() << "MADV_FREE leaves pages resident until memory pressure";
  gort::Run([] {
    FreedHeap freed = freeTouchedHeap();
    ASSERT_GT(freed.resident(), FreedHeap::kBytes / 2);  // touched (the scavenger may already have begun)
    gort::debug::FreeOSMemory();
    EXPECT_LE(freed.resident(), 4 << 20);
    MemStats m = readStats();
    EXPECT_LE(m.HeapSys - m.HeapReleased, m.HeapInuse + (4 << 20)) << "only in-use spans stay retained";
    // Released pages come back zeroed when allocated again.
    auto* p = static_cast<char*>(gi::mallocgc(64 << 20, nullptr, true));
    for (uintptr_t i = 0; i < (64 << 20); i += 4096) ASSERT_EQ(p[i], 0);
  });
}

INSTANTIATE_TEST_SUITE_P(Procs, MallocTest, ::testing::Values(1, 2, 4));

// ---- New, Ptr, slices ----

namespace {
struct Node {
  gort::Ptr<Node> next;
  int value = 0;
  Node() = default;
  explicit Node(int v) : value(v) {}
};
struct alignas(64) Wide {
  char c[3];
};
}  // namespace

TEST(New, ConstructsOnTheHeap) {
  gort::Ptr<Node> head;
  for (int i = 0; i < 100; i++) {
    auto n = gort::New<Node>(i);
    n->next = head;
    head = n;
  }
  int want = 99;
  for (auto n = head; n; n = n->next) EXPECT_EQ(n->value, want--);
  EXPECT_EQ(want, -1);
  EXPECT_EQ(gi::findObject(uintptr_t(head.get())), uintptr_t(head.get()));
  EXPECT_EQ(uintptr_t(gort::New<Wide>().get()) % 64, 0u);
  gort::Ptr<Node> none;
  EXPECT_TRUE(none == nullptr);
}

TEST(Slice, MakeAppendCopyAndSubslice) {
  auto s = gort::make_slice<int>(3, 10);
  EXPECT_EQ(gort::len(s), 3);
  EXPECT_EQ(gort::cap(s), 10);
  for (int v : s) EXPECT_EQ(v, 0);
  s = gort::append(s, 4, 5);
  EXPECT_EQ(gort::len(s), 5);
  EXPECT_EQ(s[4], 5);
  auto t = s(1, 4);
  EXPECT_EQ(gort::len(t), 3);
  EXPECT_EQ(gort::cap(t), 9);
  t[0] = 42;
  EXPECT_EQ(s[1], 42) << "a subslice shares the array";
  EXPECT_EQ(gort::copy(s, s(1, 5)), 4);  // overlapping
  EXPECT_EQ(s[0], 42);
  EXPECT_EQ(s[3], 5);
  gort::slice<std::string> nil;
  EXPECT_TRUE(nil.isNil());
  gort::slice<std::string> strings;
  for (int i = 0; i < 2000; i++) strings = gort::append(strings, std::to_string(i));
  for (int i = 0; i < 2000; i++) ASSERT_EQ(strings[i], std::to_string(i));
  // The capacities of a []string (16-byte elements) that Go 1.19 appends
  // to one at a time, printed by Go 1.19 on amd64.
  struct GoString {
    const char* p;
    int64_t n;
  };
  std::vector<int64_t> caps;
  gort::slice<GoString> grown;
  for (int i = 0; i < 2000; i++) {
    int64_t c = gort::cap(grown);
    grown = gort::append(grown, GoString{"x", 1});
    if (gort::cap(grown) != c) caps.push_back(gort::cap(grown));
  }
  std::vector<int64_t> want = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 848, 1280, 1792, 2560};
  EXPECT_EQ(caps, want);
}

template <class F>
gort::any recovered(F f) {
  gort::any got;
  gort::func([&](gort::Defer& defer) {
    defer([&] { got = gort::recover(); });
    f();
  });
  return got;
}

TEST(Slice, BoundsPanicsAreGos) {
  gort::Run([] {
    auto s = gort::make_slice<int>(3, 10);
    EXPECT_EQ(recovered([&] { s[3]; }).String(), "runtime error: index out of range [3] with length 3");
    EXPECT_EQ(recovered([&] { s[-1]; }).String(), "runtime error: index out of range [-1] with length 3");
    EXPECT_EQ(recovered([&] { s(0, 11); }).String(), "runtime error: slice bounds out of range [:11] with capacity 10");
    EXPECT_EQ(recovered([&] { s(4, 2); }).String(), "runtime error: slice bounds out of range [4:2]");
    EXPECT_EQ(recovered([&] { gort::make_slice<int>(-1); }).String(), "runtime error: makeslice: len out of range");
    EXPECT_EQ(recovered([&] { gort::make_slice<int>(5, 4); }).String(), "runtime error: makeslice: cap out of range");
    EXPECT_EQ(recovered([&] { s(-1, 2); }).String(), "runtime error: slice bounds out of range [-1:]");
    EXPECT_EQ(gort::len(s(10, 10)), 0);
  });
}

void allocateInsideANoAllocRegion() {
  gort::Main(0, nullptr, [] {
    gi::NoAllocRegion region(gi::getm());
    gort::New<int>(1);
  });
}

TEST(MallocDeathTest, AllocatingWhereAllocationIsForbiddenIsFatal) {
  if constexpr (!gi::kChecked) GTEST_SKIP() << "allocation regions are checked in checked builds (sanitizers, no NDEBUG)";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(allocateInsideANoAllocRegion(), ::testing::ExitedWithCode(2), "fatal error: malloc deadlock\n");
}
