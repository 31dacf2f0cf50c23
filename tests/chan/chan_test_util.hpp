// Shared scaffolding for the channel tests: a fixture run at several P
// counts that checks no goroutine is left behind, and small helpers.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include "gort/chan.hpp"
#include "gort/go.hpp"
#include "gort/runtime.hpp"
#include "gort/select.hpp"
#include "gort/time.hpp"

namespace chantest {

class ChanTest : public ::testing::TestWithParam<int> {
 protected:
  // GOMAXPROCS is left as the test set it: the next test sets its own.
  void SetUp() override {
    gort::runtime::GOMAXPROCS(GetParam());
    settle(parkedForever());
  }
  void TearDown() override {
    parkedForever() += leaked_;
    settle(parkedForever());
    EXPECT_EQ(gort::runtime::NumGoroutine(), parkedForever()) << "goroutines leaked";
  }
  // A goroutine that returned is counted out a moment later on its M's g0.
  static void settle(int want) {
    for (int i = 0; i < 2000 && gort::runtime::NumGoroutine() != want; i++) usleep(1000);
  }
  // Goroutines a test leaves parked forever on purpose (nil channels, select {}).
  void expectParkedForever(int n) { leaked_ += n; }
  static int& parkedForever() {  // by every test of this binary so far
    static int n = 0;
    return n;
  }

 private:
  int leaked_ = 0;
};

inline void sleepMs(int ms) { gort::time::Sleep(gort::time::Millisecond * ms); }

// Go's sync.WaitGroup, for tests that need one: n goroutines call done(),
// one waits for all of them.
class Waiter {
 public:
  explicit Waiter(int n) : n_(n), c_(gort::make_chan<int>(n)) {}
  void done() const { c_.send(1); }
  void wait() const {
    for (int i = 0; i < n_; i++) c_.recv();
  }

 private:
  int n_;
  gort::chan<int> c_;
};

#if defined(GORT_TSAN) || defined(GORT_ASAN)
constexpr int kScale = 10;  // sanitizer builds run the stress loops 10x shorter
#else
constexpr int kScale = 1;
#endif

}  // namespace chantest
