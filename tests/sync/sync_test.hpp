// sync_test.hpp: the fixture shared by the package sync tests: each test
// body runs on goroutines at GOMAXPROCS 1, 2, 4 and 8 and must leave no
// goroutine behind.
//
// Ports of Go tests: in Go the garbage collector keeps a Mutex or Cond alive
// while any goroutine still refers to it; here the objects are locals of the
// gort::Run lambda and die when it returns, and its stack goes back to the
// runtime (under TSan stackfree remaps it, zeroing it). A goroutine that
// still touches them after its last message to the test body (say
// `awake.send(true); m.Unlock();`) may run after that return, a
// use-after-scope that shows up as "sync: unlock of unlocked mutex" when
// the memory was zeroed. Join such goroutines (a WaitGroup whose Done comes
// after their last access) before returning.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include "gort/runtime.hpp"
#include "support/procs_test.hpp"

namespace synctest {

class SyncTest : public gorttest::ProcsTest {};

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
