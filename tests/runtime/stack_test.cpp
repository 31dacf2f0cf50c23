// Goroutine stack tests (runtime/stack_test.go's concerns, for gort's
// fixed-reservation stacks): a million parked goroutines with the default
// settings, one page of stack each, without running into the kernel's
// mapping limit; stacks reused hot; SetMaxStack.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <string>

#include "gort/chan.hpp"
#include "gort/debug.hpp"
#include "gort/go.hpp"
#include "gort/runtime.hpp"
#include "support/emulator.hpp"
#include "support/watchdog.hpp"

namespace {

long rssKiB() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

int mappingCount() {
  std::ifstream f("/proc/self/maps");
  std::string line;
  int n = 0;
  while (std::getline(f, line)) n++;
  return n;
}

#if defined(GORT_TSAN)
constexpr int kParked = 4000;  // TSan caps live goroutines near 8K
#elif defined(GORT_ASAN)
constexpr int kParked = 100000;
#else
constexpr int kParked = 1000000;
#endif

constexpr const char* kNoGuardRegions =
    "it accepts MADV_GUARD_INSTALL and installs nothing, so stack guards are mprotect guards, one mapping "
    "each, and vm.max_map_count caps the stacks far below this test's count";

TEST(Stack, ManyParkedGoroutinesCostAboutAPageEach) {
  GORTTEST_SKIP_UNDER_EMULATOR(kNoGuardRegions);
  long before = rssKiB();
  int mapsBefore = mappingCount();
  std::atomic<int> started{0}, finished{0};
  long after = 0;
  int mapsAfter = 0;
  gort::Run([&] {
    auto gate = gort::make_chan<int>();
    for (int i = 0; i < kParked; i++) {
      gort::go([gate, &started, &finished] {
        started.fetch_add(1, std::memory_order_relaxed);
        gate.recv();
        finished.fetch_add(1, std::memory_order_relaxed);
      });
    }
    while (started.load() < kParked) gort::runtime::Gosched();
    // Let the last ones reach their receive.
    for (int i = 0; i < 100; i++) gort::runtime::Gosched();
    after = rssKiB();
    mapsAfter = mappingCount();
    EXPECT_GE(gort::runtime::NumGoroutine(), kParked);
    gort::close(gate);
    while (finished.load() < kParked) gort::runtime::Gosched();
  });
  double perGoroutine = double(after - before) * 1024 / kParked;
  std::printf("%d parked goroutines: %.0f bytes/goroutine RSS, %d new mappings\n", kParked, perGoroutine,
              mapsAfter - mapsBefore);
#if !defined(GORT_ASAN) && !defined(GORT_TSAN)
  EXPECT_LT(perGoroutine, 4.5 * 1024);
#endif
#if !defined(GORT_TSAN)
  // One mapping per 1 GiB stack chunk, not one per stack. (TSan builds map
  // fresh memory over each reused stack to reset its shadow, which splits
  // the chunk's mapping.)
  EXPECT_LT(mapsAfter - mapsBefore, 2000);
#endif
}

TEST(Stack, SetMaxStackReturnsThePreviousSetting) {
  int64_t old = gort::debug::SetMaxStack(1 << 20);
  EXPECT_GE(old, 16 << 10);
  EXPECT_EQ(gort::debug::SetMaxStack(old), 1 << 20);
  // Rounded to whole pages, with a floor.
  int64_t prev = gort::debug::SetMaxStack(1);
  EXPECT_EQ(gort::debug::SetMaxStack(prev), 16 << 10);
}

int recurse(int n) {
  volatile char frame[1024];
  frame[0] = char(n);
  return n == 0 ? 0 : recurse(n - 1) + frame[0] - char(n);
}

TEST(Stack, NewGoroutinesGetTheNewSize) {
  int64_t old = gort::debug::SetMaxStack(8 << 20);
  std::atomic<int> r{-1};
  gort::Run([&] { r = recurse(4000); });  // ~4 MiB of frames
  EXPECT_EQ(r.load(), 0);
  gort::debug::SetMaxStack(old);
}

// After many goroutines exit, their stacks wait in the pool at the old
// size; a new size must not make each allocation step over all of them
// (100000 old stacks made this 15-30 s). A watchdog ends the child if it is slow.
TEST(StackDeathTest, SetMaxStackAfterMassExitStaysLinear) {
#if defined(GORT_ASAN) || defined(GORT_TSAN)
  GTEST_SKIP() << "timed against a watchdog: the normal and LTO builds run it";
#endif
  GORTTEST_SKIP_UNDER_EMULATOR(kNoGuardRegions);
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        gorttest::watchdog(8);  // 0.3-0.8 s here; up to 21 s before the per-size pools
        auto wave = [] {
          gort::Run([] {
            constexpr int kLive = kParked < 100000 ? kParked : 100000;
            auto release = gort::make_chan<int>(0);
            auto exited = gort::make_chan<int>(kLive);
            for (int i = 0; i < kLive; i++) {
              gort::go([release, exited] {
                release.recv2();
                exited.send(1);
              });
            }
            gort::close(release);
            for (int i = 0; i < kLive; i++) exited.recv();
          });
        };
        wave();
        gort::debug::SetMaxStack(512 << 10);
        wave();
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
