// The end of gort::Main (runtime.main's exit): the process ends with _exit,
// as Go's does, so in ASan builds the runtime runs LeakSanitizer's check
// itself first, with the stacks of goroutines still alive as roots.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>

#include "gort/chan.hpp"
#include "gort/go.hpp"
#include "gort/runtime.hpp"

namespace {

#if defined(GORT_ASAN)
constexpr bool kASan = true;
#else
constexpr bool kASan = false;
#endif

void* volatile sink;

void leakingMain() {
  sink = std::malloc(4096);
  sink = nullptr;  // the only pointer to the block is gone
}

// A parked goroutine holds the only pointer to its block, on its stack.
void parkedHolderMain() {
  auto ready = gort::make_chan<int>(0);
  gort::go([ready] {
    char* block = static_cast<char*>(std::malloc(4096));
    block[0] = 1;
    ready.send(0);
    gort::make_chan<int>(0).recv();  // parks for good, block in a live frame
    std::free(block);
  });
  ready.recv();
}

TEST(ExitDeathTest, LeakSanitizerRunsWhenMainReturns) {
  if (!kASan) GTEST_SKIP() << "LeakSanitizer runs in ASan builds";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  // The status is the sanitizer's exitcode option (1 under ASan by default).
  auto failed = [](int status) { return WIFEXITED(status) && WEXITSTATUS(status) != 0; };
  EXPECT_EXIT(gort::Main(0, nullptr, leakingMain), failed, "LeakSanitizer: detected memory leaks");
}

TEST(ExitDeathTest, WhatLiveGoroutinesHoldIsNoLeak) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(gort::Main(0, nullptr, parkedHolderMain), ::testing::ExitedWithCode(0), "");
}

}  // namespace
