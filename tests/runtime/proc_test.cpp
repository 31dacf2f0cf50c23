// Scheduler tests (proc_test.go's spirit): goroutine creation, yielding,
// GOMAXPROCS, LockOSThread, at several P counts.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "gort/go.hpp"
#include "gort/runtime.hpp"

namespace {

TEST(Proc, RunAndGo) {
  std::atomic<int> n{0};
  gort::Run([&] {
    for (int i = 0; i < 1000; i++) gort::go([&] { n++; });
    while (n.load() < 1000) gort::runtime::Gosched();
  });
  EXPECT_EQ(n.load(), 1000);
}

}  // namespace
