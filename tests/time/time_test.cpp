// Package time tests (in the spirit of time/sleep_test.go and
// time_test.go): Duration formatting, Sleep accuracy, timer ordering,
// AfterFunc with Stop/Reset (including races), timers surviving GOMAXPROCS
// changes; each at several P counts with no goroutine left behind.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <random>
#include <vector>

#include "gort/go.hpp"
#include "gort/runtime.hpp"
#include "gort/select.hpp"
#include "gort/time.hpp"
#include "support/procs_test.hpp"

namespace {

namespace time = gort::time;
using time::Duration;
using time::Microsecond;
using time::Millisecond;
using time::Nanosecond;
using time::Second;

// Waits (sleeping) until cond() holds; fails the test after ~5 s.
template <class F>
void waitFor(F cond) {
  for (int i = 0; i < 5000 && !cond(); i++) time::Sleep(Millisecond);
  ASSERT_TRUE(cond());
}

TEST(Duration, StringMatchesGo) {
  struct {
    const char* want;
    Duration d;
  } cases[] = {
      {"0s", Duration(0)},
      {"1ns", 1 * Nanosecond},
      {"1.1µs", 1100 * Nanosecond},
      {"1.5µs", 1500 * Nanosecond},
      {"2.2ms", 2200 * Microsecond},
      {"3.3s", 3300 * Millisecond},
      {"4m5s", 4 * time::Minute + 5 * Second},
      {"4m5.001s", 4 * time::Minute + 5001 * Millisecond},
      {"5h6m7.001s", 5 * time::Hour + 6 * time::Minute + 7001 * Millisecond},
      {"1h2m3.5s", time::Hour + 2 * time::Minute + 3500 * Millisecond},
      {"8m0.000000001s", 8 * time::Minute + 1 * Nanosecond},
      {"2562047h47m16.854775807s", Duration(INT64_MAX)},
      {"-2562047h47m16.854775808s", Duration(INT64_MIN)},
      {"-1.5µs", -1500 * Nanosecond},
  };
  for (auto& c : cases) EXPECT_EQ(c.d.String(), c.want);
}

TEST(Duration, ArithmeticAndConversions) {
  EXPECT_EQ(Duration(std::chrono::milliseconds(3)), 3 * Millisecond);
  EXPECT_DOUBLE_EQ((1500 * Millisecond).Seconds(), 1.5);
  EXPECT_EQ((1500 * Millisecond).Round(Second), 2 * Second);
  EXPECT_EQ((1500 * Millisecond).Truncate(Second), Second);
  EXPECT_EQ((-3 * Second).Abs(), 3 * Second);
}

TEST(Time, MonotonicSubtraction) {
  time::Time t0 = time::Now();
  EXPECT_TRUE(t0.HasMono());
  time::Time t1 = t0.Add(5 * Second);
  EXPECT_EQ(t1.Sub(t0), 5 * Second);
  EXPECT_TRUE(t1.After(t0));
  EXPECT_TRUE(t0.Before(t1));
  EXPECT_FALSE(t0.StripMono().HasMono());
  EXPECT_GE(time::Since(t0).Nanoseconds(), 0);
  EXPECT_GT(time::Until(t1).Nanoseconds(), 0);
  EXPECT_NEAR(double(time::Now().UnixNano()), double(::time(nullptr)) * 1e9, 2e9);
  EXPECT_NE(t0.String().find(" m=+"), std::string::npos);
}

class TimeTest : public gorttest::ProcsTest {};

TEST_P(TimeTest, SleepLastsAtLeastItsDuration) {
  gort::Run([] {
    for (Duration d : {Duration(0), 1 * Microsecond, 1 * Millisecond, 10 * Millisecond}) {
      time::Time t0 = time::Now();
      time::Sleep(d);
      Duration got = time::Since(t0);
      EXPECT_GE(got, d);
      EXPECT_LT(got, d + 200 * Millisecond) << d.String();
    }
  });
}

// Sleepers started in shuffled order wake in deadline order. As Go's
// TestAfterQueuing, retry with wider spacing: a loaded machine (or a
// sanitizer) can delay one goroutine past the next one's deadline.
bool wakeInOrder(Duration spacing) {
  constexpr int kN = 12;
  std::vector<int> order;
  std::mutex mu;
  std::atomic<int> done{0};
  std::vector<int> idx(kN);
  for (int i = 0; i < kN; i++) idx[i] = i;
  std::shuffle(idx.begin(), idx.end(), std::mt19937(42));
  time::Time start = time::Now();
  for (int i : idx) {
    gort::go([&, i] {
      Duration d = (i + 1) * spacing;
      time::Sleep(d - time::Since(start));
      EXPECT_GE(time::Since(start), d);
      {
        std::lock_guard<std::mutex> g(mu);
        order.push_back(i);
      }
      done.fetch_add(1);
    });
  }
  waitFor([&] { return done.load() == kN; });
  return std::is_sorted(order.begin(), order.end());
}

TEST_P(TimeTest, TimersFireInDeadlineOrder) {
  gort::Run([] {
    bool sorted = false;
    for (Duration spacing = 8 * Millisecond; !sorted && spacing <= 32 * Millisecond; spacing = spacing * 2) {
      sorted = wakeInOrder(spacing);
    }
    EXPECT_TRUE(sorted);
  });
}

#if defined(GORT_TSAN) || defined(GORT_ASAN)
constexpr int kManySleepers = 1000;  // keep sanitizer runs short
#else
constexpr int kManySleepers = 5000;
#endif

TEST_P(TimeTest, ManySleepersAllWake) {
  constexpr int kN = kManySleepers;
  std::atomic<int> done{0};
  gort::Run([&] {
    for (int i = 0; i < kN; i++) {
      gort::go([&, i] {
        time::Sleep((1 + i % 5) * Millisecond);
        time::Sleep((1 + i % 3) * Millisecond);
        done.fetch_add(1);
      });
    }
    waitFor([&] { return done.load() == kN; });
  });
}

TEST_P(TimeTest, AfterFuncRunsOnceInItsOwnGoroutine) {
  std::atomic<int> runs{0};
  std::atomic<int64_t> gid{0};
  gort::Run([&] {
    time::AfterFunc(2 * Millisecond, [&] {
      gid = gort::runtime::GoID();
      runs.fetch_add(1);
    });  // handle dropped at once: the armed timer keeps itself alive
    waitFor([&] { return runs.load() == 1; });
    EXPECT_NE(gid.load(), gort::runtime::GoID());
    time::Sleep(10 * Millisecond);
  });
  EXPECT_EQ(runs.load(), 1);
}

TEST_P(TimeTest, StopAndResetReportWhetherActive) {
  std::atomic<int> runs{0};
  gort::Run([&] {
    time::Timer t = time::AfterFunc(time::Hour, [&] { runs.fetch_add(1); });
    EXPECT_TRUE(t.Stop());
    EXPECT_FALSE(t.Stop());
    EXPECT_FALSE(t.Reset(time::Hour));
    EXPECT_TRUE(t.Reset(Millisecond));
    waitFor([&] { return runs.load() == 1; });
    EXPECT_FALSE(t.Stop());
    EXPECT_FALSE(t.Reset(Millisecond));
    waitFor([&] { return runs.load() == 2; });
  });
}

// Goroutines race Stop and Reset on shared timers; every run must be
// accounted for by a Reset that armed it, and nothing may crash or leak.
TEST_P(TimeTest, StopResetRace) {
  constexpr int kTimers = 8, kWorkers = 8, kOps = 300;
  // The callbacks own their counter: one that fired just before the final
  // Stop may still be running its goroutine after this test's frame is gone.
  auto runs = std::make_shared<std::atomic<int>>(0);
  std::atomic<int> arms{0};
  std::atomic<int> workers{0};
  gort::Run([&] {
    std::vector<time::Timer> timers;
    for (int i = 0; i < kTimers; i++) {
      timers.push_back(time::AfterFunc(time::Hour, [runs] { runs->fetch_add(1); }));
      arms.fetch_add(1);
    }
    for (int w = 0; w < kWorkers; w++) {
      gort::go([&, w] {
        std::mt19937 rng(w);
        for (int i = 0; i < kOps; i++) {
          time::Timer& t = timers[rng() % kTimers];
          if (rng() % 2) {
            if (!t.Reset(Duration(int64_t(rng() % 200) * 1000))) arms.fetch_add(1);
          } else {
            t.Stop();
          }
          if (i % 16 == 0) time::Sleep(50 * Microsecond);
        }
        workers.fetch_add(1);
      });
    }
    waitFor([&] { return workers.load() == kWorkers; });
    for (auto& t : timers) t.Stop();
    // Callbacks already started run to the end; then only this goroutine is left.
    waitFor([] { return gort::runtime::NumGoroutine() == 1; });
  });
  EXPECT_LE(runs->load(), arms.load());
  EXPECT_GT(runs->load(), 0);
}

TEST_P(TimeTest, TimersSurviveGOMAXPROCSChanges) {
  constexpr int kN = 200;
  std::atomic<int> done{0};
  gort::Run([&] {
    for (int i = 0; i < kN; i++) {
      gort::go([&, i] {
        time::Sleep((5 + i % 20) * Millisecond);
        done.fetch_add(1);
      });
    }
    gort::runtime::GOMAXPROCS(8);
    gort::runtime::GOMAXPROCS(1);
    gort::runtime::GOMAXPROCS(GetParam());
    waitFor([&] { return done.load() == kN; });
  });
}

INSTANTIATE_TEST_SUITE_P(Procs, TimeTest, ::testing::Values(1, 2, 4, 8));

}  // namespace

namespace {

using gort::recv;
using gort::select;

class ChanTimerTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override { prev_ = gort::runtime::GOMAXPROCS(GetParam()); }
  void TearDown() override {
    for (int i = 0; i < 500 && gort::runtime::NumGoroutine() != 0; i++) usleep(1000);
    EXPECT_EQ(gort::runtime::NumGoroutine(), 0) << "goroutines leaked";
    gort::runtime::GOMAXPROCS(prev_);
  }
  int prev_ = 0;
};

TEST_P(ChanTimerTest, NewTimerAndAfterDeliverTheTime) {
  gort::Run([] {
    time::Time t0 = time::Now();
    time::Timer t = time::NewTimer(5 * Millisecond);
    time::Time fired = t.C.recv();
    EXPECT_GE(fired.Sub(t0), 5 * Millisecond);
    EXPECT_FALSE(t.Stop());
    time::Time t1 = time::Now();
    time::After(3 * Millisecond).recv();
    EXPECT_GE(time::Since(t1), 3 * Millisecond);
    // A select with a timeout.
    auto never = gort::make_chan<int>();
    bool timedOut = false;
    select(recv(never, [](int) {}), recv(time::After(2 * Millisecond), [&] { timedOut = true; }));
    EXPECT_TRUE(timedOut);
  });
}

// Go 1.23: after Stop or Reset returns, no stale value is received.
TEST_P(ChanTimerTest, NoStaleValueAfterStopOrReset) {
  gort::Run([] {
    for (int i = 0; i < 200; i++) {
      time::Timer t = time::NewTimer(Duration(int64_t(i % 20) * 1000));
      if (i % 3 == 0) time::Sleep(Duration(int64_t(i % 7) * 1000));
      if (i % 2 == 0) {
        t.Stop();
        EXPECT_FALSE(t.C.try_recv().has_value()) << i;
      } else {
        time::Time before = time::Now();
        t.Reset(time::Hour);
        EXPECT_FALSE(t.C.try_recv().has_value()) << i;
        t.Reset(Duration(1000));
        time::Time got = t.C.recv();
        EXPECT_TRUE(got.After(before)) << i;
      }
    }
  });
}

TEST_P(ChanTimerTest, TickerTicksAndStops) {
  gort::Run([] {
    // t0 is read before NewTicker: the ticker starts after it, so its 5th
    // tick comes 10 ms or more later however long the thread is held up
    // between the two (measured from after NewTicker, a delay there made
    // the wait look short under TSan).
    time::Time t0 = time::Now();
    time::Ticker tk = time::NewTicker(2 * Millisecond);
    for (int i = 0; i < 5; i++) tk.C.recv();
    EXPECT_GE(time::Since(t0), 10 * Millisecond);
    tk.Reset(time::Millisecond);
    tk.C.recv();
    tk.Stop();
    time::Sleep(5 * Millisecond);
    EXPECT_FALSE(tk.C.try_recv().has_value());
    EXPECT_THROW(time::NewTicker(Duration(0)), std::invalid_argument);
    EXPECT_FALSE(bool(time::Tick(Duration(-1))));
  });
}

INSTANTIATE_TEST_SUITE_P(Procs, ChanTimerTest, ::testing::Values(1, 2, 4));

}  // namespace
