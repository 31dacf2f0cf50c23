// procs_test.hpp: the fixture of every test that runs at several P counts.
// Each test gets GOMAXPROCS = its parameter and fails if it leaves
// goroutines behind.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include "gort/runtime.hpp"

namespace gorttest {

class ProcsTest : public ::testing::TestWithParam<int> {
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
  // A goroutine that returned is counted out on its M's g0 a moment later
  // (gort::Run itself returns just before its goroutine exits): give the
  // count that moment.
  static void settle() {
    for (int i = 0; i < 500 && gort::runtime::NumGoroutine() != 0; i++) usleep(1000);
  }

 private:
  int prev_ = 0;
};

}  // namespace gorttest
