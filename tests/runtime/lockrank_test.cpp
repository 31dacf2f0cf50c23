// The lock-rank checker (lockrank.hpp): in checked builds, taking a runtime
// lock against the order is the fatal error "lock ordering problem", with
// both ranks named; taking it in order is not.
#include <gtest/gtest.h>

#include "runtime/export_test.hpp"

namespace {

using namespace gort::internal;

TEST(LockRank, LocksTakenInOrderAreFine) {
  mutex outer{LockRank::sched}, inner{LockRank::stack};
  lock(&outer);
  lock(&inner);
  if constexpr (kChecked) EXPECT_TRUE(lockRankHeld(&inner) && lockRankHeld(&outer));
  unlock(&inner);
  unlock(&outer);
  if constexpr (kChecked) EXPECT_FALSE(lockRankHeld(&outer));
}

TEST(LockRank, ChannelLocksMayNestAndATrylockIsNotChecked) {
  plainReleaseMutex a{LockRank::hchan}, b{LockRank::hchan};
  mutex heap{LockRank::timers}, t{LockRank::timer};
  lockPlainRelease(&a);
  lockPlainRelease(&b);  // select's address order
  unlockPlainRelease(&b);
  unlockPlainRelease(&a);
  lock(&heap);
  ASSERT_TRUE(trylock(&t));  // the timer runner's t.mu under ts.mu
  unlock(&t);
  unlock(&heap);
}

void takeOutOfOrder() {
  static mutex inner{LockRank::stack}, outer{LockRank::sched};
  lock(&inner);
  lock(&outer);
}

TEST(LockRankDeathTest, TakingALockAgainstTheOrderIsFatal) {
  if constexpr (!kChecked) GTEST_SKIP() << "lock ranks are checked in checked builds (sanitizers, no NDEBUG)";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(takeOutOfOrder(), ::testing::ExitedWithCode(2),
              "runtime: lock ordering problem: taking sched 0x[0-9a-f]+ while holding stack\n"
              "held locks:\n 0: stack 0x[0-9a-f]+\nfatal error: lock ordering problem\n");
}

}  // namespace
