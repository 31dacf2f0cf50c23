// White-box tests of a P's timer heap through the test seam
// (export_test.hpp): a 4-ary min-heap on `when`.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <vector>

#include "runtime/export_test.hpp"

namespace {

using namespace gort::internal;
using namespace gort::internal::exported;

// Pops the earliest timer until the heap is empty; the `when`s in order.
std::vector<int64_t> popAll(timerHeap* ts) {
  std::vector<int64_t> out;
  while (!ts->heap.empty()) {
    timer* t = ts->heap[0].t;
    out.push_back(t->when);
    TimerHeapDelete(ts, t);
    EXPECT_TRUE(TimerHeapValid(ts));
  }
  return out;
}

TEST(TimerHeap, KeepsTheEarliestOnTopAndPopsInOrder) {
  std::mt19937_64 rng(42);
  timerHeap ts;
  std::vector<std::unique_ptr<timer>> timers;
  std::vector<int64_t> whens;
  for (int i = 0; i < 1000; i++) {
    auto t = std::make_unique<timer>();
    t->when = int64_t(rng() % 500) + 1;  // duplicates too
    whens.push_back(t->when);
    TimerHeapAdd(&ts, t.get());
    ASSERT_TRUE(TimerHeapValid(&ts)) << "after add " << i;
    EXPECT_EQ(ts.minWhen.load(), *std::min_element(whens.begin(), whens.end()));
    timers.push_back(std::move(t));
  }
  std::sort(whens.begin(), whens.end());
  EXPECT_EQ(popAll(&ts), whens);
  EXPECT_EQ(ts.minWhen.load(), 0);
}

TEST(TimerHeap, DeletingAnyTimerKeepsTheHeap) {
  std::mt19937_64 rng(7);
  timerHeap ts;
  std::vector<std::unique_ptr<timer>> timers;
  for (int i = 0; i < 500; i++) {
    auto t = std::make_unique<timer>();
    t->when = int64_t(rng() % 10000) + 1;
    TimerHeapAdd(&ts, t.get());
    timers.push_back(std::move(t));
  }
  std::shuffle(timers.begin(), timers.end(), rng);
  std::vector<int64_t> kept;
  for (size_t i = 0; i < timers.size(); i++) {
    if (i % 3 == 0) {
      TimerHeapDelete(&ts, timers[i].get());
      EXPECT_EQ(timers[i]->ts, nullptr);
      EXPECT_EQ(timers[i]->idx, -1);
      ASSERT_TRUE(TimerHeapValid(&ts)) << "after delete " << i;
    } else {
      kept.push_back(timers[i]->when);
    }
  }
  std::sort(kept.begin(), kept.end());
  EXPECT_EQ(popAll(&ts), kept);
}

}  // namespace
