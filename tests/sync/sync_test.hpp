// sync_test.hpp: the fixture shared by the package sync tests: each test
// body runs on goroutines at GOMAXPROCS 1, 2, 4 and 8 and must leave no
// goroutine behind.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include "gort/runtime.hpp"

namespace synctest {

class SyncTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    prev_ = gort::runtime::GOMAXPROCS(GetParam());
    settle();
  }
  void TearDown() override {
    settle();
    EXPECT_EQ(gort::runtime::NumGoroutine(), 0) << "goroutines leaked";
    gort::runtime::GOMAXPROCS(prev_);
  }
  // A goroutine that returned is counted out on its M's g0 a moment later.
  static void settle() {
    for (int i = 0; i < 500 && gort::runtime::NumGoroutine() != 0; i++) usleep(1000);
  }
  int prev_ = 0;
};

inline std::string procsName(const ::testing::TestParamInfo<int>& info) {
  return "P" + std::to_string(info.param);
}

// Death tests re-execute the binary and run a scenario under gort::Main.
class SyncDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

// Fewer goroutines and iterations under the sanitizers (TSan caps live
// fibers; both are several times slower).
#if defined(GORT_TSAN) || defined(GORT_ASAN)
inline constexpr int kScale = 4;
#else
inline constexpr int kScale = 1;
#endif

}  // namespace synctest

#define SYNC_INSTANTIATE(suite) \
  INSTANTIATE_TEST_SUITE_P(Procs, suite, ::testing::Values(1, 2, 4, 8), synctest::procsName)
