// map_test.cpp: gort::map (include/gort/map.hpp, src/runtime/map_swiss.cpp).
// Go's runtime/map_test.go semantic cases ported (NaN keys, +0/-0,
// iteration during mutation, growth, clear, large keys and values,
// zero-size values), the group matchers against each other, the shape
// (growth splits, shrink and merge after deletes), iteration randomness
// checked statistically, the nil-map panic, and the fatal concurrent-use
// errors in child processes.
#include "gort/map.hpp"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gort/chan.hpp"
#include "gort/go.hpp"
#include "gort/panic.hpp"
#include "gort/runtime.hpp"
#include "gort/sync.hpp"
#include "gort/time.hpp"
#include "runtime/map_group.hpp"
#include "support/watchdog.hpp"

namespace {

using gort::clear;
using gort::delete_;
using gort::len;
using gort::make_map;
using gort::map;
using gort::New;
using gort::Ptr;

// The collector tests below run every cycle with checkmarks (a map word the
// cycle missed is fatal) and freed memory clobbered (a live group freed
// shows in the values).
const bool checkmarks = (setenv("GODEBUG", "gccheckmark=1,clobberfree=1", 0), true);

TEST(Map, NilMapReadsZeroAndIgnoresDeleteAndClear) {
  map<int64_t, int64_t> m;
  EXPECT_TRUE(m.isNil());
  EXPECT_EQ(m.get(1), 0);
  auto [v, ok] = m.get2(1);
  EXPECT_EQ(v, 0);
  EXPECT_FALSE(ok);
  EXPECT_EQ(len(m), 0);
  delete_(m, 1);
  clear(m);
  int n = 0;
  for (auto [k, v2] : m) n += int(k + v2);
  EXPECT_EQ(n, 0);
}

TEST(Map, AssignmentToNilMapPanicsWithGosRuntimeError) {
  map<std::string, int> m;
  std::string msg;
  bool runtimeError = false;
  gort::func([&](gort::Defer& defer) {
    defer([&] {
      gort::any r = gort::recover();
      if (auto* e = dynamic_cast<const gort::runtime::Error*>(r.error())) {
        runtimeError = true;
        msg = e->what();
      }
    });
    m.set("a", 1);
  });
  EXPECT_TRUE(runtimeError);
  EXPECT_EQ(msg, "assignment to entry in nil map");
}

TEST(Map, HandleIsAReference) {
  auto m = make_map<int, int>();
  auto n = m;
  n.set(1, 10);
  EXPECT_EQ(m.get(1), 10);
  EXPECT_TRUE(m.same(n));
  EXPECT_EQ(len(m), 1);
}

TEST(Map, GetSetDeleteAgainstStdMapAcrossGrowthAndShrink) {
  auto m = make_map<int64_t, int64_t>();
  std::map<int64_t, int64_t> ref;
  uint64_t x = 12345;
  for (int i = 0; i < 200000; i++) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    int64_t k = int64_t(x >> 45);
    switch ((x >> 20) % 3) {
      case 0:
      case 1:
        m.set(k, i);
        ref[k] = i;
        break;
      case 2:
        delete_(m, k);
        ref.erase(k);
        break;
    }
  }
  ASSERT_EQ(len(m), int64_t(ref.size()));
  for (auto& [k, v] : ref) ASSERT_EQ(m.get(k), v) << k;
  std::map<int64_t, int64_t> seen;
  for (auto [k, v] : m) EXPECT_TRUE(seen.emplace(k, v).second) << "twice: " << k;
  EXPECT_EQ(seen, ref);
}

TEST(Map, StringKeysWithHeterogeneousLookup) {
  auto m = make_map<std::string, int>();
  for (int i = 0; i < 5000; i++) m.set("key number " + std::to_string(i), i);
  EXPECT_EQ(m.get(std::string_view("key number 42")), 42);
  EXPECT_EQ(m.get("key number 4999"), 4999);
  const char* p = "key number 7";
  auto [v, ok] = m.get2(p);
  EXPECT_TRUE(ok);
  EXPECT_EQ(v, 7);
  EXPECT_FALSE(m.contains("key number 5000"));
  delete_(m, "key number 7");
  EXPECT_FALSE(m.contains(p));
  EXPECT_EQ(len(m), 4999);
  m.set("", -1);
  EXPECT_EQ(m.get(""), -1);
}

// Go's TestNegativeZero.
TEST(Map, NegativeZeroIsPositiveZero) {
  auto m = make_map<double, bool>();
  m.set(+0.0, true);
  m.set(std::copysign(0.0, -1.0), true);
  EXPECT_EQ(len(m), 1);
  for (auto [k, v] : m) EXPECT_FALSE(std::signbit(k));
  auto f = make_map<float, int>();
  f.set(-0.0f, 1);
  EXPECT_EQ(f.get(0.0f), 1);
}

// Go's TestNan: every NaN insert adds an entry, none is found.
TEST(Map, NaNKeysAreDistinctAndNeverFound) {
  auto m = make_map<double, int>();
  double nan = std::numeric_limits<double>::quiet_NaN();
  const int n = 100;
  for (int i = 0; i < n; i++) m.set(nan, 1);
  EXPECT_EQ(len(m), n);
  EXPECT_FALSE(m.contains(nan));
  delete_(m, nan);
  EXPECT_EQ(len(m), n);
  int count = 0;
  for (auto [k, v] : m) {
    EXPECT_TRUE(std::isnan(k));
    count += v;
  }
  EXPECT_EQ(count, n);
  clear(m);
  EXPECT_EQ(len(m), 0);
}

struct Point {
  int32_t x, y;
  bool operator==(const Point&) const = default;
};

}  // namespace

template <>
struct std::hash<Point> {
  size_t operator()(const Point& p) const noexcept { return size_t(uint32_t(p.x)) << 32 | uint32_t(p.y); }
};

namespace {

TEST(Map, StructPointerAndPtrKeys) {
  auto m = make_map<Point, std::string>();
  for (int i = 0; i < 100; i++) m.set(Point{i, -i}, std::to_string(i));
  EXPECT_EQ(m.get(Point{5, -5}), "5");
  EXPECT_FALSE(m.contains(Point{5, 5}));

  int a = 0, b = 0;
  auto pm = make_map<int*, int>();
  pm.set(&a, 1);
  pm.set(&b, 2);
  EXPECT_EQ(pm.get(&a), 1);
  EXPECT_EQ(pm.get(&b), 2);

  auto x = gort::New<int>(1), y = gort::New<int>(2);
  auto gm = make_map<gort::Ptr<int>, int>();
  gm.set(x, 10);
  gm.set(y, 20);
  EXPECT_EQ(gm.get(x), 10);
  EXPECT_EQ(gm.get(gort::Ptr<int>()), 0);
  EXPECT_EQ(len(gm), 2);

  auto small = make_map<uint8_t, int>();
  for (int i = 0; i < 256; i++) small.set(uint8_t(i), i);
  EXPECT_EQ(len(small), 256);
  EXPECT_EQ(small.get(200), 200);

  enum class Color : int16_t { red, green };
  auto em = make_map<Color, int>();
  em.set(Color::green, 3);
  EXPECT_EQ(em.get(Color::green), 3);
  EXPECT_EQ(em.get(Color::red), 0);
}

struct NoHash {
  int v;
  bool operator==(const NoHash&) const = default;
};
static_assert(gort::MapKey<int64_t> && gort::MapKey<std::string> && gort::MapKey<Point> && gort::MapKey<double> &&
              gort::MapKey<gort::Ptr<Point>> && gort::MapKey<const char*>);
static_assert(!gort::MapKey<NoHash>, "a key type without a hash must not compile");
static_assert(!gort::MapKey<std::vector<int>>);

// Go's TestBigItems: keys and values larger than 128 bytes.
TEST(Map, LargeKeysAndValues) {
  auto m = make_map<int64_t, std::array<int64_t, 40>>();
  for (int64_t i = 0; i < 3000; i++) {
    std::array<int64_t, 40> v;
    v.fill(i);
    m.set(i, v);
  }
  for (int64_t i = 0; i < 3000; i++) ASSERT_EQ(m.get(i)[39], i);
  int64_t sum = 0;
  for (auto [k, v] : m) sum += v[0] - k;
  EXPECT_EQ(sum, 0);
  auto s = make_map<std::string, std::array<char, 300>>();
  std::array<char, 300> val{};
  val[299] = 'z';
  s.set(std::string(500, 'k'), val);
  EXPECT_EQ(s.get(std::string(500, 'k'))[299], 'z');
  EXPECT_FALSE(s.contains(std::string(499, 'k')));
}

// Go's TestEmptyKeyAndValue.
TEST(Map, ZeroSizeValues) {
  struct Empty {
    bool operator==(const Empty&) const = default;
  };
  auto set = make_map<int, Empty>();
  for (int i = 0; i < 1000; i++) set.set(i, Empty{});
  EXPECT_EQ(len(set), 1000);
  EXPECT_TRUE(set.contains(999));
  int n = 0;
  for (auto [k, v] : set) n++;
  EXPECT_EQ(n, 1000);
  delete_(set, 5);
  EXPECT_FALSE(set.contains(5));
}

// Go's TestIterGrowAndDelete / TestIterGrowWithGC-style: a loop that
// deletes everything not yet reached sees nothing more; a loop that adds
// a lot meanwhile still produces each original key exactly once.
TEST(Map, IterationDeletingUnreachedEntriesProducesNone) {
  for (int n : {5, 100, 5000}) {
    auto m = make_map<int, int>();
    for (int i = 0; i < n; i++) m.set(i, i);
    int seen = 0;
    for (auto [k, v] : m) {
      seen++;
      for (int i = 0; i < n; i++) {
        if (i != k) delete_(m, i);
      }
    }
    EXPECT_EQ(seen, 1) << n;
    EXPECT_EQ(len(m), 1);
  }
}

TEST(Map, IterationWhileGrowingProducesEachOriginalKeyOnce) {
  for (int n : {5, 8, 100, 3000}) {
    auto m = make_map<int64_t, int64_t>();
    for (int64_t i = 0; i < n; i++) m.set(i, i);
    std::set<int64_t> seen;
    int64_t next = 1 << 20;
    for (auto [k, v] : m) {
      EXPECT_TRUE(seen.insert(k).second) << "produced twice: " << k;
      EXPECT_EQ(v, k < (1 << 20) ? k : v);
      if (k < (1 << 20)) {
        for (int j = 0; j < 20; j++, next++) m.set(next, next);  // grows and splits under the loop
      }
    }
    for (int64_t i = 0; i < n; i++) EXPECT_TRUE(seen.count(i)) << "missing " << i << " of " << n;
  }
}

TEST(Map, IterationWhileShrinkingAndMergingProducesNoEntryTwice) {
  auto m = make_map<std::string, std::string>();
  const int n = 20000;
  for (int i = 0; i < n; i++) m.set("k" + std::to_string(i), "v" + std::to_string(i));
  std::set<std::string> seen;
  int deleted = 0;
  for (auto [k, v] : m) {
    EXPECT_TRUE(seen.insert(k).second) << k;
    EXPECT_EQ("v" + k.substr(1), v);
    // Delete many keys (including, maybe, k itself: the references stay valid).
    for (int j = 0; j < 40 && deleted < n; j++, deleted++) delete_(m, "k" + std::to_string(deleted));
    EXPECT_EQ(k[0], 'k');
  }
  EXPECT_EQ(len(m), 0);
  auto shape = gort::mapShape(m);
  EXPECT_LT(shape.capacity, 64u);
}

TEST(Map, UpdateDuringIterationIsSeen) {
  auto m = make_map<int, int>();
  for (int i = 0; i < 100; i++) m.set(i, 0);
  for (auto [k, v] : m) m.set(k, k + 1);
  for (auto [k, v] : m) EXPECT_EQ(v, k + 1);
}

TEST(Map, ClearDuringIterationEndsTheLoop) {
  auto m = make_map<std::string, int>();
  for (int i = 0; i < 1000; i++) m.set(std::to_string(i), i);
  int n = 0;
  for (auto [k, v] : m) {
    n++;
    clear(m);
    EXPECT_FALSE(k.empty());  // still alive
  }
  EXPECT_EQ(n, 1);
  EXPECT_EQ(len(m), 0);
  m.set("again", 1);
  EXPECT_EQ(m.get("again"), 1);
}

TEST(Map, BreakingOutOfALoopLetsDeletesReuseSlots) {
  auto m = make_map<std::string, std::string>();
  for (int i = 0; i < 100; i++) m.set(std::to_string(i), std::string(40, 'x'));
  for (int round = 0; round < 50; round++) {
    for (auto [k, v] : m) {
      (void)v;
      delete_(m, k);
      m.set(k + "+", std::string(40, 'y'));
      break;
    }
  }
  EXPECT_EQ(len(m), 100);
}

// Go's TestMapClear and clear's cost: a sparse map drops its tables.
TEST(Map, ClearEmptiesAndKeepsWorking) {
  auto m = make_map<int64_t, std::string>();
  for (int64_t i = 0; i < 10000; i++) m.set(i, std::to_string(i));
  clear(m);
  EXPECT_EQ(len(m), 0);
  EXPECT_FALSE(m.contains(1));
  for (auto [k, v] : m) ADD_FAILURE() << k;
  for (int64_t i = 0; i < 100; i++) m.set(i, "x");
  EXPECT_EQ(len(m), 100);
  auto dense = gort::mapShape(m);
  clear(m);
  EXPECT_EQ(gort::mapShape(m).used, 0u);
  EXPECT_LE(gort::mapShape(m).capacity, dense.capacity);
}

// A sparse map's clear drops its tables rather than sweeping them (the
// work is the entries', not the capacity's); a full one is emptied in place
// and keeps them for the entries to come.
TEST(Map, ClearCostsWhatTheMapHolds) {
  auto sparse = make_map<int64_t, std::string>(1 << 20);
  EXPECT_GT(gort::mapShape(sparse).capacity, 1u << 20);
  for (int64_t i = 0; i < 10; i++) sparse.set(i, "x");
  clear(sparse);
  EXPECT_EQ(gort::mapShape(sparse).tables, 0u);
  EXPECT_EQ(gort::mapShape(sparse).capacity, 0u);

  auto full = make_map<int64_t, std::string>();
  for (int64_t i = 0; i < 5000; i++) full.set(i, "x");
  auto before = gort::mapShape(full);
  clear(full);
  EXPECT_EQ(gort::mapShape(full).capacity, before.capacity);
  EXPECT_EQ(len(full), 0);
  for (int64_t i = 0; i < 5000; i++) full.set(i, "y");
  EXPECT_GE(gort::mapShape(full).capacity, before.capacity);
}

TEST(Map, GrowthSplitsTablesOfAtMost1024Slots) {
  auto m = make_map<int64_t, int64_t>();
  EXPECT_EQ(gort::mapShape(m).tables, 0u);
  for (int64_t i = 0; i < 8; i++) m.set(i, i);
  EXPECT_EQ(gort::mapShape(m).tables, 0u) << "8 entries are one group without directory";
  EXPECT_EQ(gort::mapShape(m).capacity, 8u);
  m.set(8, 8);
  EXPECT_EQ(gort::mapShape(m).tables, 1u);
  for (int64_t i = 9; i < 100000; i++) m.set(i, i);
  auto s = gort::mapShape(m);
  EXPECT_GE(s.tables, 100000u / 1024);
  EXPECT_LE(s.capacity, s.tables * 1024);
  EXPECT_GE(s.dirLen, s.tables);
  for (int64_t i = 0; i < 100000; i++) ASSERT_EQ(m.get(i), i);
}

TEST(Map, MassDeletesShrinkAndMergeTables) {
  auto m = make_map<int64_t, int64_t>();
  const int64_t n = 300000;
  for (int64_t i = 0; i < n; i++) m.set(i, i);
  auto peak = gort::mapShape(m);
  for (int64_t i = 0; i < n - 1000; i++) delete_(m, i);
  auto after = gort::mapShape(m);
  EXPECT_EQ(after.used, 1000u);
  EXPECT_LT(after.capacity * 10, peak.capacity) << after.capacity << " of " << peak.capacity;
  EXPECT_LT(after.tables * 5, peak.tables);
  EXPECT_LT(after.dirLen, peak.dirLen);
  for (int64_t i = n - 1000; i < n; i++) ASSERT_EQ(m.get(i), i);
  for (int64_t i = 0; i < 1000; i++) ASSERT_FALSE(m.contains(i));
}

TEST(Map, HintPresizes) {
  auto m = make_map<int64_t, int64_t>(50000);
  auto before = gort::mapShape(m);
  EXPECT_GT(before.capacity, 50000u);
  for (int64_t i = 0; i < 50000; i++) m.set(i, i);
  auto after = gort::mapShape(m);
  EXPECT_EQ(after.tables, before.tables);
  EXPECT_EQ(after.capacity, before.capacity);
}

// Each range loop starts at a random slot of a random table. In a full
// group (8 entries) that makes the first key seen uniform: a chi-square
// test at a generous bound (mean n-1, six deviations). In a sparser table a
// key after a run of empty slots comes first more often, so there every
// key must merely come first sometimes, and none far more than its share.
std::vector<int> firstKeyCounts(int n, int loops) {
  auto m = make_map<int, int>();
  for (int i = 0; i < n; i++) m.set(i, i);
  std::vector<int> counts(size_t(n), 0);
  for (int r = 0; r < loops; r++) {
    for (auto [k, v] : m) {
      counts[size_t(k)]++;
      break;
    }
  }
  return counts;
}

TEST(Map, IterationStartsAtARandomPlace) {
  const int n = 8, loops = 8000;
  double expected = double(loops) / n, chi2 = 0;
  for (int c : firstKeyCounts(n, loops)) chi2 += (c - expected) * (c - expected) / expected;
  EXPECT_LT(chi2, (n - 1) + 6 * std::sqrt(2.0 * (n - 1)));

  const int big = 200, bigLoops = 40000;
  for (int c : firstKeyCounts(big, bigLoops)) {
    EXPECT_GT(c, 0);
    EXPECT_LT(c, 10 * bigLoops / big);
  }
}

TEST(Map, TwoLoopsSeeDifferentOrders) {
  auto m = make_map<int, int>();
  for (int i = 0; i < 1000; i++) m.set(i, i);
  std::vector<int> a, b;
  for (auto [k, v] : m) a.push_back(k);
  for (auto [k, v] : m) b.push_back(k);
  EXPECT_EQ(a.size(), 1000u);
  EXPECT_NE(a, b);
}

TEST(Map, ConcurrentReadersAreFine) {
  gort::Run([] {
    gort::runtime::GOMAXPROCS(4);
    auto m = make_map<int64_t, int64_t>();
    for (int64_t i = 0; i < 10000; i++) m.set(i, i);
    gort::sync::WaitGroup wg;
    std::atomic<int64_t> total{0};
    for (int g = 0; g < 4; g++) {
      wg.Add(1);
      gort::go([&] {
        int64_t s = 0;
        for (int r = 0; r < 3; r++) {
          for (int64_t i = 0; i < 10000; i++) s += m.get(i);
          for (auto [k, v] : m) s += v - k;
        }
        total += s;
        wg.Done();
      });
    }
    wg.Wait();
    EXPECT_EQ(total.load(), 4 * 3 * (10000LL * 9999 / 2));
  });
}

// ---- the group matchers -----------------------------------------------------------

// ---- the collector ------------------------------------------------------------------

struct Node {
  using trivially_collected = void;
  int64_t v = 0;
  Ptr<Node> next;
  explicit Node(int64_t v) : v(v) {}
};

struct Holder {
  using trivially_collected = void;
  map<int64_t, Ptr<Node>> byKey;
  map<Ptr<Node>, int64_t> byPtr;
};

uint64_t heapAlloc() {
  gort::runtime::MemStats ms;
  gort::runtime::ReadMemStats(&ms);
  return ms.HeapAlloc;
}

// Every entry of h (keys 0..n-1 but the deleted multiples of 3) still
// reads what was stored, through both maps.
void checkHolder(const Holder& h, int64_t n) {
  int64_t want = 0;
  for (int64_t i = 0; i < n; i++) {
    if (i % 3 == 0) continue;
    want++;
    Ptr<Node> p = h.byKey.get(i);
    ASSERT_TRUE(p) << i;
    ASSERT_EQ(p->v, i);
    ASSERT_EQ(p->next->v, -i);
  }
  ASSERT_EQ(len(h.byKey), want);
  ASSERT_EQ(len(h.byPtr), want);
  int64_t seen = 0;
  for (auto [k, v] : h.byPtr) {
    ASSERT_EQ(k->v, v);
    ASSERT_EQ(k->next->v, -v);
    seen++;
  }
  ASSERT_EQ(seen, want);
}

TEST(MapGC, PtrKeysAndValuesSurviveCollectionsReachableOnlyFromAHeapObject) {
  gort::Run([] {
    Ptr<Holder> h = New<Holder>();
    h->byKey = make_map<int64_t, Ptr<Node>>();
    h->byPtr = make_map<Ptr<Node>, int64_t>();
    const int64_t n = 6000;
    for (int64_t i = 0; i < n; i++) {
      Ptr<Node> p = New<Node>(i);
      p->next = New<Node>(-i);
      h->byKey.set(i, p);
      h->byPtr.set(p, i);
      if (i % 3 == 0) {  // deletes behind the inserts: tombstones, rebuilds
        Ptr<Node> q = h->byKey.get(i);
        delete_(h->byKey, i);
        delete_(h->byPtr, q);
      }
      if (i % 700 == 0) gort::runtime::GC();
    }
    for (int i = 0; i < 5; i++) gort::runtime::GC();
    checkHolder(*h, n);
    // Shrink and merge under collections too.
    for (int64_t i = 0; i < n; i++) {
      if (i % 3 == 0 || i % 10 == 0) continue;
      delete_(h->byPtr, h->byKey.get(i));
      delete_(h->byKey, i);
      if (i % 500 == 0) gort::runtime::GC();
    }
    for (int i = 0; i < 3; i++) gort::runtime::GC();
    for (int64_t i = 0; i < n; i += 10) {
      if (i % 3 == 0) continue;
      Ptr<Node> p = h->byKey.get(i);
      ASSERT_TRUE(p) << i;
      EXPECT_EQ(p->next->v, -i);
      EXPECT_EQ(h->byPtr.get(p), i);
    }
  });
}

// A handle on a thread the scheduler does not run is a root; on a goroutine
// stack it is a stack word.
TEST(MapGC, StackHandlesKeepTheirMaps) {
  auto fill = [](map<int64_t, Ptr<Node>>& m, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
      Ptr<Node> p = New<Node>(i);
      p->next = New<Node>(-i);
      m.set(i, p);
      if (i % 1000 == 0) gort::runtime::GC();
    }
  };
  auto check = [](const map<int64_t, Ptr<Node>>& m, int64_t n) {
    ASSERT_EQ(len(m), n);
    for (int64_t i = 0; i < n; i++) {
      Ptr<Node> p = m.get(i);
      ASSERT_TRUE(p) << i;
      ASSERT_EQ(p->v, i);
      ASSERT_EQ(p->next->v, -i);
    }
  };
  {
    auto m = make_map<int64_t, Ptr<Node>>();
    fill(m, 4000);
    for (int i = 0; i < 3; i++) gort::runtime::GC();
    check(m, 4000);
  }
  gort::Run([&] {
    auto m = make_map<int64_t, Ptr<Node>>();
    fill(m, 4000);
    for (int i = 0; i < 3; i++) gort::runtime::GC();
    check(m, 4000);
  });
}

TEST(MapGC, IterationWithGrowthDeletesAndCollectionsInterleaved) {
  gort::Run([] {
    auto m = make_map<int64_t, Ptr<Node>>();
    const int64_t n = 3000;
    for (int64_t i = 0; i < n; i++) m.set(i, New<Node>(i));
    std::set<int64_t> seen;
    int64_t next = 1 << 20, del = 0, steps = 0;
    for (auto [k, v] : m) {
      ASSERT_EQ(v->v, k);
      ASSERT_TRUE(seen.insert(k).second) << k;
      if (k < (1 << 20)) {
        for (int j = 0; j < 8; j++, next++) m.set(next, New<Node>(next));  // grows and splits under the loop
        // Deletes from the far end of the originals (not yet produced, or already).
        if (del < n / 2) delete_(m, n - 1 - del++);
      }
      if (++steps % 200 == 0) gort::runtime::GC();
    }
    for (int i = 0; i < 3; i++) gort::runtime::GC();
    for (auto [k, v] : m) ASSERT_EQ(v->v, k);
    EXPECT_EQ(len(m), n - del + (next - (1 << 20)));
  });
}

// The case: a drained map gives its memory back.
TEST(MapGC, DrainedMapGivesItsMemoryBack) {
  gort::Run([] {
    gort::runtime::GC();
    auto m = make_map<int64_t, int64_t>();
    const int64_t n = 1000000;
    for (int64_t i = 0; i < n; i++) m.set(i, i);
    uint64_t peak = heapAlloc();
    for (int64_t i = 1000; i < n; i++) delete_(m, i);
    gort::runtime::GC();
    gort::runtime::GC();
    uint64_t after = heapAlloc();
    EXPECT_LT(after, peak / 10) << "peak " << peak << " after " << after;
    ASSERT_EQ(len(m), 1000);
    for (int64_t i = 0; i < 1000; i++) ASSERT_EQ(m.get(i), i);
  });
}

TEST(MapGC, UnreachableMapIsReclaimed) {
  gort::Run([] {
    gort::runtime::GC();
    uint64_t base = heapAlloc();
    uint64_t full = 0;
    gort::sync::WaitGroup wg;
    wg.Add(1);
    gort::go([&] {  // the handle dies with this goroutine's stack
      auto m = make_map<int64_t, Ptr<Node>>();
      for (int64_t i = 0; i < 100000; i++) m.set(i, New<Node>(i));
      full = heapAlloc();
      wg.Done();
    });
    wg.Wait();
    gort::time::Sleep(gort::time::Millisecond);
    for (int i = 0; i < 2; i++) gort::runtime::GC();
    uint64_t after = heapAlloc();
    ASSERT_GT(full, base + (4u << 20));
    EXPECT_LT(after, base + (full - base) / 10) << "base " << base << " full " << full << " after " << after;
  });
}

// Entries whose destructor matters die with their table memory: moved out
// on growth, destroyed by delete and clear, and the rest by the collector
// once the map is gone; none twice.
std::atomic<int64_t> trackedAlive{0}, trackedTwice{0};
struct Tracked {
  static constexpr uint64_t kAlive = 0x600d600d600d600dull;
  uint64_t magic = kAlive;
  std::string payload = std::string(40, 'x');  // a real destructor, heap memory
  Tracked() { trackedAlive++; }
  Tracked(const Tracked& o) : payload(o.payload) { trackedAlive++; }
  Tracked(Tracked&& o) noexcept : payload(std::move(o.payload)) { trackedAlive++; }
  Tracked& operator=(const Tracked&) = default;
  ~Tracked() {
    if (magic != kAlive) trackedTwice++;
    magic = 0;
    trackedAlive--;
  }
};

TEST(MapGC, EntryDestructorsRunOnceWhenTheirMemoryDies) {
  gort::Run([] {
    gort::sync::WaitGroup wg;
    wg.Add(1);
    gort::go([&] {
      auto a = make_map<std::string, Tracked>();  // dropped whole
      auto b = make_map<int64_t, Tracked>();      // grown under a loop, then cleared
      for (int i = 0; i < 5000; i++) a.set("k" + std::to_string(i), Tracked{});
      for (int i = 0; i < 100; i++) b.set(i, Tracked{});
      int64_t k = 1000;
      for (auto [key, v] : b) {
        (void)key;
        EXPECT_EQ(v.magic, Tracked::kAlive);
        for (int j = 0; j < 10; j++) b.set(k++, Tracked{});  // copies under the loop
        delete_(b, key);                                     // zombies
      }
      b.set(-1, Tracked{});  // the first write after the loop destroys the zombies
      clear(b);
      for (int i = 0; i < 2500; i++) delete_(a, "k" + std::to_string(i));
      wg.Done();
    });
    wg.Wait();
    gort::time::Sleep(gort::time::Millisecond);
    for (int i = 0; i < 200 && trackedAlive.load() != 0; i++) {
      gort::runtime::GC();
      gort::time::Sleep(5 * gort::time::Millisecond);
    }
    EXPECT_EQ(trackedAlive.load(), 0);
    EXPECT_EQ(trackedTwice.load(), 0);
  });
}

TEST(MapGroup, SwarAndNativeAgreeOnEveryControlClass) {
  namespace mg = gort::internal::mapgroup;
  const uint8_t classes[] = {mg::kEmpty, mg::kDeleted, mg::kZombie, 0x00, 0x01, 0x2a, 0x7f, 0x55};
  uint64_t x = 1;
  for (int trial = 0; trial < 20000; trial++) {
    uint64_t w = 0;
    for (int i = 0; i < 8; i++) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      w |= uint64_t(classes[(x >> 33) % 8]) << (8 * i);
    }
    uint8_t h2 = uint8_t((x >> 50) & 0x7f);
    if (trial % 3 == 0) h2 = uint8_t(w & 0x7f);
    auto slots = [](auto bits) {
      uint32_t mask = 0;
      for (; bits.any(); bits.dropFirst()) mask |= 1u << bits.first();
      return mask;
    };
    uint32_t wantEmpty = 0, wantDeleted = 0, wantFull = 0, wantH2 = 0;
    for (int i = 0; i < 8; i++) {
      uint8_t c = uint8_t(w >> (8 * i));
      wantEmpty |= uint32_t(c == mg::kEmpty) << i;
      wantDeleted |= uint32_t(c == mg::kDeleted) << i;
      wantFull |= uint32_t(c < 0x80) << i;
      wantH2 |= uint32_t(c == h2) << i;
    }
    ASSERT_EQ(slots(mg::swar::matchEmpty(w)), wantEmpty);
    ASSERT_EQ(slots(mg::swar::matchDeleted(w)), wantDeleted);
    ASSERT_EQ(slots(mg::swar::matchFull(w)), wantFull);
    uint32_t swarH2 = slots(mg::swar::matchH2(w, h2));
    ASSERT_EQ(swarH2 & wantH2, wantH2);              // every true match
    ASSERT_EQ(swarH2 & ~wantFull, 0u);               // false positives only in full slots
    ASSERT_EQ(slots(mg::native::matchEmpty(w)), wantEmpty);
    ASSERT_EQ(slots(mg::native::matchDeleted(w)), wantDeleted);
    ASSERT_EQ(slots(mg::native::matchFull(w)), wantFull);
    ASSERT_EQ(slots(mg::native::matchH2(w, h2)) & wantH2, wantH2);
  }
}

// ---- fatal errors, each in a fresh child ------------------------------------------------

class MapDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

// Two goroutines that write (or read and write) one map without locking,
// on 2 Ps, until the runtime notices.
template <bool Reader>
void raceMain() {
  gorttest::watchdog(60);
  gort::runtime::GOMAXPROCS(2);
  static auto m = make_map<int64_t, int64_t>();
  for (int g = 0; g < 2; g++) {
    gort::go([g] {
      for (int64_t i = 0;; i++) {
        if (Reader && g == 0) {
          (void)m.get(i & 1023);
        } else {
          m.set(i & 1023, i);
          delete_(m, (i + 512) & 1023);
        }
      }
    });
  }
  gort::make_chan<int>().recv();  // leaves both Ps to the writers
}

TEST_F(MapDeathTest, ConcurrentWritesAreFatal) {
  EXPECT_EXIT(gort::Main(0, nullptr, raceMain<false>), ::testing::ExitedWithCode(2),
              "fatal error: concurrent map writes\n(.|\n)*goroutine [0-9]+ \\[running\\]:");
}

TEST_F(MapDeathTest, ConcurrentReadAndWriteAreFatal) {
  EXPECT_EXIT(gort::Main(0, nullptr, raceMain<true>), ::testing::ExitedWithCode(2),
              "fatal error: concurrent map (read and map write|writes)\n");
}

void recoverFatalMain() {
  gorttest::watchdog(60);
  gort::runtime::GOMAXPROCS(2);
  static auto m = make_map<int64_t, int64_t>();
  for (int g = 0; g < 2; g++) {
    gort::go([] {
      gort::func([&](gort::Defer& defer) {
        defer([] { (void)gort::recover(); });
        for (int64_t i = 0;; i++) m.set(i & 255, i);
      });
      std::fprintf(stderr, "recovered\n");
    });
  }
  gort::make_chan<int>().recv();  // leaves both Ps to the writers
}

TEST_F(MapDeathTest, ConcurrentWritesCannotBeRecovered) {
  EXPECT_EXIT(gort::Main(0, nullptr, recoverFatalMain), ::testing::ExitedWithCode(2),
              "fatal error: concurrent map writes");
}

}  // namespace
