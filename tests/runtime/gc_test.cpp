// The collector: what is unreachable is freed, what any root kind holds is
// not (goroutine stacks, closures, registered roots, heap slots, channel
// buffers, goroutines running without a P), destructors run once, a
// mutator rewiring graphs at several P counts while cycles run back to back
// under gccheckmark=1, gctrace's line, GOGC and GOMEMLIMIT.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <regex>
#include <vector>

#include "gort/chan.hpp"
#include "gort/context.hpp"
#include "gort/panic.hpp"
#include "gort/select.hpp"
#include "gort/debug.hpp"
#include "gort/go.hpp"
#include "gort/new.hpp"
#include "gort/runtime.hpp"
#include "gort/slice.hpp"
#include "gort/sync.hpp"
#include "gort/syscall.hpp"
#include "gort/time.hpp"
#include "runtime/mgc.hpp"
#include "runtime/mheap.hpp"
#include "support/procs_test.hpp"

namespace gi = gort::internal;
using gort::New;
using gort::Ptr;

namespace {

// Every cycle re-marks the heap and dies on anything it missed, and what it
// frees reads as 0xdeadbeef: a live object freed shows in the checksums.
const bool checkmarks = (setenv("GODEBUG", "gccheckmark=1,clobberfree=1", 0), true);

struct Node {
  using trivially_collected = void;
  Ptr<Node> left, right;
  uint64_t value = 0;
  Node() = default;
  Node(Ptr<Node> l, Ptr<Node> r, uint64_t v) : left(l), right(r), value(v) {}
};

Ptr<Node> tree(int depth, uint64_t v) {
  if (depth == 0) return New<Node>(nullptr, nullptr, v);
  return New<Node>(tree(depth - 1, 2 * v), tree(depth - 1, 2 * v + 1), v);
}

uint64_t checksum(const Ptr<Node>& n) {
  if (!n) return 0;
  return n->value + 3 * checksum(n->left) + 5 * checksum(n->right);
}

bool live(const void* p) { return gi::findObject(reinterpret_cast<uintptr_t>(p)) != 0; }

uint64_t heapObjects() {
  gort::runtime::MemStats m;
  gort::runtime::ReadMemStats(&m);
  return m.HeapObjects;
}

std::atomic<int> destroyed{0}, destroyedTwice{0};
struct Counted {
  static constexpr uint64_t kAlive = 0x600d600d600d600dull;
  uint64_t magic = kAlive;
  std::vector<int> payload = std::vector<int>(10, 7);  // a real destructor
  ~Counted() {
    if (magic != kAlive) destroyedTwice.fetch_add(1);
    magic = 0;
    destroyed.fetch_add(1);
  }
};

TEST(GC, UnreachableTreesAreFreedAndReachableOnesKept) {
  gort::Run([] {
    Ptr<Node> keep = tree(12, 1);
    uint64_t sum = checksum(keep);
    gort::runtime::GC();
    uint64_t base = heapObjects();
    for (int i = 0; i < 20; i++) tree(10, 1);
    gort::runtime::GC();
    EXPECT_LT(heapObjects(), base + 2048) << "garbage trees survived";
    EXPECT_EQ(checksum(keep), sum);
  });
}

TEST(GC, RawPointersOnTheStackKeepObjects) {
  gort::Run([] {
    Node* raw = New<Node>(nullptr, nullptr, 42).get();
    for (int i = 0; i < 3; i++) gort::runtime::GC();
    EXPECT_TRUE(live(raw));
    EXPECT_EQ(raw->value, 42u);
    gort::runtime::KeepAlive(raw);
  });
}

// Runs fn on a goroutine that then exits, so that nothing it left in
// registers or dead stack slots is scanned; addresses it hands back are
// hidden from the conservative scan.
template <class F>
void onDeadGoroutine(F fn) {
  gort::sync::WaitGroup wg;
  wg.Add(1);
  gort::go([&] {
    fn();
    wg.Done();
  });
  wg.Wait();
  gort::time::Sleep(gort::time::Millisecond);  // let it finish exiting
}
constexpr uintptr_t kHide = 0x5a5a5a5a5a5a5a5aull;
uintptr_t hide(const void* p) { return reinterpret_cast<uintptr_t>(p) ^ kHide; }
const void* unhide(uintptr_t h) { return reinterpret_cast<const void*>(h ^ kHide); }

Ptr<Node> globalRoot;

TEST(GC, RootsOutsideTheHeapKeepObjects) {
  gort::Run([] {
    auto* boxed = new std::vector<Ptr<Node>>();
    uintptr_t old = 0;
    uint64_t sum = 0;
    onDeadGoroutine([&] {
      for (int i = 0; i < 100; i++) boxed->push_back(New<Node>(nullptr, nullptr, uint64_t(i)));
      globalRoot = tree(5, 9);
      sum = checksum(globalRoot);
      old = hide(globalRoot.get());
    });
    for (int i = 0; i < 3; i++) gort::runtime::GC();
    for (int i = 0; i < 100; i++) EXPECT_EQ((*boxed)[size_t(i)]->value, uint64_t(i));
    EXPECT_EQ(checksum(globalRoot), sum);
    onDeadGoroutine([&] {
      globalRoot = nullptr;
      delete boxed;
    });
    gort::runtime::GC();
    EXPECT_FALSE(live(unhide(old))) << "a cleared root still held its object";
  });
}

TEST(GC, SlicesOfPointersAreTraced) {
  gort::Run([] {
    auto s = gort::make_slice<Ptr<Node>>(0);
    for (int i = 0; i < 1000; i++) s = gort::append(s, New<Node>(nullptr, nullptr, uint64_t(i)));
    Ptr<Node> holder = New<Node>();
    for (int i = 0; i < 3; i++) gort::runtime::GC();
    for (int i = 0; i < 1000; i++) ASSERT_EQ(s[i]->value, uint64_t(i));
    auto tail = s(999, 1000);
    s = nullptr;
    gort::runtime::GC();
    EXPECT_EQ(tail[0]->value, 999u);
  });
}

TEST(GC, ChannelBuffersAndClosuresKeepObjects) {
  gort::Run([] {
    auto c = gort::make_chan<Ptr<Node>>(100);
    for (int i = 0; i < 100; i++) c.send(tree(3, uint64_t(i)));
    Node* captured = New<Node>(nullptr, nullptr, 77).get();
    auto out = gort::make_chan<uint64_t>();
    auto start = gort::make_chan<int>();
    gort::go([captured, start, out]() mutable {
      start.recv();
      out.send(captured->value);
    });
    for (int i = 0; i < 3; i++) gort::runtime::GC();
    for (int i = 0; i < 100; i++) {
      Ptr<Node> n = c.recv();
      EXPECT_EQ(n->value, uint64_t(i));
      EXPECT_EQ(checksum(n), checksum(tree(3, uint64_t(i))));
    }
    start.send(1);
    EXPECT_EQ(out.recv(), 77u);
  });
}

TEST(GC, TimerClosuresContextValuesPanicValuesAndSelectCasesKeepObjects) {
  gort::Run([] {
    uint64_t fromTimer = 0, fromSelect = 0;
    gort::any recovered;
    gort::context::Context ctx;
    auto fired = gort::make_chan<int>(1);
    auto in = gort::make_chan<Ptr<Node>>(1);
    static const int key = 0;
    onDeadGoroutine([&] {
      Ptr<Node> forTimer = tree(4, 11);
      gort::time::AfterFunc(30 * gort::time::Millisecond, [forTimer, &fromTimer, fired]() mutable {
        fromTimer = checksum(forTimer);
        fired.send(1);
      });
      ctx = gort::context::WithValue(gort::context::Background(), &key, std::any(tree(4, 12)));
      in.send(tree(4, 13));
      try {
        gort::panic(gort::any(tree(4, 14)));
      } catch (...) {
        recovered = gort::any(std::current_exception());
      }
    });
    for (int i = 0; i < 3; i++) gort::runtime::GC();
    gort::select(gort::recv(in, [&](Ptr<Node> n) { fromSelect = checksum(n); }));
    fired.recv();
    EXPECT_EQ(fromTimer, checksum(tree(4, 11)));
    EXPECT_EQ(checksum(std::any_cast<Ptr<Node>>(ctx.Value(&key))), checksum(tree(4, 12)));
    EXPECT_EQ(fromSelect, checksum(tree(4, 13)));
    EXPECT_TRUE(recovered.has_value());
  });
}

TEST(GC, LargeArraysAreScannedInOblets) {
  gort::Run([] {
    constexpr int64_t kN = 100000;  // 800 KB of Ptrs: seven oblets
    auto big = gort::make_slice<Ptr<Node>>(kN);
    onDeadGoroutine([&] {
      for (int64_t i = 0; i < kN; i++) big[i] = New<Node>(nullptr, nullptr, uint64_t(i));
    });
    for (int i = 0; i < 3; i++) gort::runtime::GC();
    for (int64_t i = 0; i < kN; i++) ASSERT_EQ(big[i]->value, uint64_t(i)) << i;
  });
}

TEST(GC, GoroutinesRunningWithoutAPAreScanned) {
  gort::Run([] {
    std::atomic<bool> inside{false}, stop{false};
    std::atomic<uint64_t> seen{0};
    gort::sync::WaitGroup wg;
    wg.Add(1);
    gort::go([&] {
      Node* raw = New<Node>(nullptr, nullptr, 1234).get();
      gort::syscall::Blocking([&] {
        // Spins without a P, holding only a raw pointer.
        inside = true;
        while (!stop.load()) seen = raw->value;
      });
      EXPECT_TRUE(live(raw));
      EXPECT_EQ(raw->value, 1234u);
      wg.Done();
    });
    while (!inside.load()) gort::time::Sleep(gort::time::Millisecond);
    for (int i = 0; i < 5; i++) gort::runtime::GC();
    stop = true;
    wg.Wait();
    EXPECT_EQ(seen.load(), 1234u);
  });
}

TEST(GC, DestructorsRunExactlyOnce) {
  gort::Run([] {
    destroyed = 0;
    onDeadGoroutine([] {
      for (int i = 0; i < 1000; i++) New<Counted>();
    });
    Ptr<Counted> kept = New<Counted>();
    for (int round = 0; round < 50 && destroyed.load() < 1000; round++) {
      gort::runtime::GC();
      gort::time::Sleep(gort::time::Millisecond);
    }
    for (int i = 0; i < 3; i++) gort::runtime::GC();
    gort::time::Sleep(10 * gort::time::Millisecond);
    // A conservative scan may keep one or two alive through a stale stack
    // word a later goroutine reused; none may be destroyed twice.
    EXPECT_GE(destroyed.load(), 990);
    EXPECT_LE(destroyed.load(), 1000);
    EXPECT_EQ(destroyedTwice.load(), 0);
    EXPECT_EQ(kept->payload.size(), 10u);
  });
}

TEST(GC, ClearingAReferenceFreesTheObject) {
  gort::Run([] {
    Ptr<Node> holder = New<Node>();
    uintptr_t child = 0;
    onDeadGoroutine([&] {
      holder->left = New<Node>(nullptr, nullptr, 5);
      child = hide(holder->left.get());
    });
    gort::runtime::GC();
    EXPECT_TRUE(live(unhide(child)));
    EXPECT_EQ(holder->left->value, 5u);
    onDeadGoroutine([&] { holder->left = nullptr; });
    gort::runtime::GC();
    EXPECT_FALSE(live(unhide(child)));
  });
}

class GCStress : public gorttest::ProcsTest {};

// Several goroutines keep a shared forest, replacing and rewiring subtrees
// while cycles run back to back; every cycle re-marks under gccheckmark.
TEST_P(GCStress, MutatorsRewiringGraphsWhileCyclesRun) {
  gort::Run([] {
    constexpr int kG = 4, kSlots = 16;
    auto forest = gort::make_slice<Ptr<Node>>(kSlots);
    std::vector<uint64_t> sums(kSlots);
    gort::sync::Mutex mu;
    for (int i = 0; i < kSlots; i++) {
      forest[i] = tree(6, uint64_t(i));
      sums[size_t(i)] = checksum(forest[i]);
    }
    std::atomic<bool> done{false};
    gort::sync::WaitGroup wg;
    for (int id = 0; id < kG; id++) {
      wg.Add(1);
      gort::go([&, id] {
        uint64_t r = uint64_t(id) * 7919 + 1;
        for (int iter = 0; iter < 3000; iter++) {
          r = r * 6364136223846793005ull + 1442695040888963407ull;
          int a = int(r >> 33) % kSlots, b = int(r >> 45) % kSlots;
          Ptr<Node> fresh = tree(4 + int(r % 3), r % 1000);
          mu.Lock();
          if (iter % 2) {
            forest[a] = fresh;
            sums[size_t(a)] = checksum(fresh);
          } else {
            // Graft b's tree under a new root in a; b keeps its own.
            forest[a] = New<Node>(forest[b], fresh, 1);
            sums[size_t(a)] = checksum(forest[a]);
          }
          mu.Unlock();
        }
        wg.Done();
      });
    }
    gort::sync::WaitGroup collector;
    collector.Add(1);
    gort::go([&] {
      while (!done.load()) {
        gort::runtime::GC();
        gort::runtime::Gosched();
      }
      collector.Done();
    });
    wg.Wait();
    done = true;
    collector.Wait();
    gort::runtime::GC();
    for (int i = 0; i < kSlots; i++) EXPECT_EQ(checksum(forest[i]), sums[size_t(i)]) << i;
  });
}

INSTANTIATE_TEST_SUITE_P(Procs, GCStress, ::testing::Values(1, 2, 4));

TEST(GCDeathTest, GctracePrintsGosLine) {
  EXPECT_EXIT(
      {
        setenv("GODEBUG", "gctrace=1", 1);
        gort::Run([] {
          for (int i = 0; i < 5; i++) tree(12, 1);
          gort::runtime::GC();
        });
        std::exit(0);
      },
      ::testing::ExitedWithCode(0),
      "gc 1 @[0-9]+\\.[0-9][0-9][0-9]s [0-9]+%: [0-9.]+\\+[0-9.]+\\+[0-9.]+ ms clock, [0-9.]+\\+[0-9.]+/[0-9.]+/[0-9.]+\\+"
      "[0-9.]+ ms cpu, [0-9]+->[0-9]+->[0-9]+ MB, [0-9]+ MB goal, [0-9]+ MB stacks, [0-9]+ MB globals, [0-9]+ P");
}

TEST(GCDeathTest, MalformedGomemlimitIsFatalAsInGo) {
  for (const char* bad : {"12X", "1K", "-1", "1kiB", "KiB", "9223372036854775808", "8388608TiB"}) {
    EXPECT_EXIT(
        {
          setenv("GOMEMLIMIT", bad, 1);
          gort::Run([] {});
          std::exit(0);
        },
        ::testing::ExitedWithCode(2),
        std::string("GOMEMLIMIT=") + bad + "\nfatal error: malformed GOMEMLIMIT; see `go doc runtime/debug.SetMemoryLimit`")
        << bad;
  }
}

// What GOGC and GOMEMLIMIT come to, as Go 1.19 reads them (readGOGC,
// readGOMEMLIMIT and parseByteCount).
struct EnvCase {
  const char* gogc;
  const char* gomemlimit;
  const char* want;  // "gc=<percent> limit=<bytes>"
};

class GCEnvDeathTest : public ::testing::TestWithParam<EnvCase> {};

TEST_P(GCEnvDeathTest, ReadAsGoReadsThem) {
  EnvCase c = GetParam();
  EXPECT_EXIT(
      {
        if (c.gogc) setenv("GOGC", c.gogc, 1);
        if (c.gomemlimit) setenv("GOMEMLIMIT", c.gomemlimit, 1);
        gort::Run([] {
          int pct = gort::debug::SetGCPercent(100);
          std::fprintf(stderr, "gc=%d limit=%lld\n", pct, (long long)gort::debug::SetMemoryLimit(-1));
        });
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), std::string("^") + c.want + "\n$");
}

INSTANTIATE_TEST_SUITE_P(
    Values, GCEnvDeathTest,
    ::testing::Values(EnvCase{"off", nullptr, "gc=-1 limit=9223372036854775807"},
                      EnvCase{"50", nullptr, "gc=50 limit=9223372036854775807"},
                      EnvCase{"-5", nullptr, "gc=-1 limit=9223372036854775807"},
                      EnvCase{"+5", nullptr, "gc=100 limit=9223372036854775807"},
                      EnvCase{"x", nullptr, "gc=100 limit=9223372036854775807"},
                      EnvCase{nullptr, "off", "gc=100 limit=9223372036854775807"},
                      EnvCase{nullptr, "1KiB", "gc=100 limit=1024"}, EnvCase{nullptr, "123B", "gc=100 limit=123"},
                      EnvCase{nullptr, "7", "gc=100 limit=7"}, EnvCase{nullptr, "2TiB", "gc=100 limit=2199023255552"},
                      EnvCase{nullptr, "9223372036854775807", "gc=100 limit=9223372036854775807"}));

TEST(GC, GogcAndMemoryLimitSettings) {
  int old = gort::debug::SetGCPercent(50);
  EXPECT_EQ(gort::debug::SetGCPercent(old), 50);
  int64_t lim = gort::debug::SetMemoryLimit(-1);
  EXPECT_EQ(lim, INT64_MAX);
  EXPECT_EQ(gort::debug::SetMemoryLimit(256 << 20), INT64_MAX);
  EXPECT_EQ(gort::debug::SetMemoryLimit(lim), 256 << 20);
}

TEST(GC, MemStatsCountCycles) {
  gort::Run([] {
    gort::runtime::MemStats before, after;
    gort::runtime::ReadMemStats(&before);
    gort::runtime::GC();
    gort::runtime::GC();
    gort::runtime::ReadMemStats(&after);
    EXPECT_GE(after.NumGC, before.NumGC + 2);
    EXPECT_GE(after.NumForcedGC, before.NumForcedGC + 2);
    EXPECT_GT(after.PauseTotalNs, before.PauseTotalNs);
    EXPECT_GT(after.LastGC, 0u);
    EXPECT_GT(after.NextGC, 0u);
  });
}

TEST(GC, AllocationTriggersCyclesWithoutRuntimeGC) {
  gort::Run([] {
    gort::runtime::MemStats before, after;
    gort::runtime::ReadMemStats(&before);
    for (int i = 0; i < 200; i++) tree(10, 1);  // ~ 200 x 2047 x 32 bytes
    gort::runtime::ReadMemStats(&after);
    EXPECT_GT(after.NumGC, before.NumGC);
    EXPECT_LT(after.HeapAlloc, uint64_t(64) << 20);
  });
}

static_assert(gort::trivially_collected<Ptr<int>>);
static_assert(gort::trivially_collected<gort::slice<Ptr<int>>>);
static_assert(gort::trivially_collected<Node>);
static_assert(!gort::trivially_collected<Counted>);

}  // namespace
