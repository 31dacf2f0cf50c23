// Preemption tests (proposal 24543; runtime/proc_test.go's
// TestPreemption*, TestAsyncPreempt): tight loops that never enter the
// runtime are preempted by signal, with every register preserved.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <unistd.h>

#include "gort/chan.hpp"
#include "gort/go.hpp"
#include "gort/runtime.hpp"
#include "gort/time.hpp"
#include "support/arch.hpp"
#include "support/watchdog.hpp"
#include "gort/sync.hpp"
#include "runtime/export_test.hpp"

namespace {

std::atomic<bool> spinnerStarted{false};

// The loop body is plain arithmetic: no call, no runtime entry.
__attribute__((noinline)) void spinForever() {
  spinnerStarted.store(true);
  volatile uint64_t x = 1;
  for (;;) x = x * 6364136223846793005ull + 1442695040888963407ull;
}

void spinnerMain() {
  gort::go(spinForever);
  // On one P the spinner takes over as soon as main yields; main gets the P
  // back only if the spinner is preempted.
  while (!spinnerStarted.load()) gort::runtime::Gosched();
  for (int i = 0; i < 5; i++) gort::runtime::Gosched();
  std::fprintf(stderr, "main finished\n");
}

class PreemptDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

#if !defined(GORT_TSAN) && !defined(GORT_ASAN)  // async preemption is off there
TEST_F(PreemptDeathTest, TightLoopDoesNotStarveMainAtOneP) {
  EXPECT_EXIT(
      {
        setenv("GOMAXPROCS", "1", 1);
        gort::Main(0, nullptr, spinnerMain);
      },
      ::testing::ExitedWithCode(0), "main finished");
}
#endif

void starvedMain() {
  // A plain thread reports the starvation the runtime cannot prevent.
  std::thread([] {
    usleep(300 * 1000);
    std::fprintf(stderr, "main starved\n");
    std::_Exit(3);
  }).detach();
  gort::go(spinForever);
  while (!spinnerStarted.load()) gort::runtime::Gosched();
  std::fprintf(stderr, "main finished\n");
}

TEST_F(PreemptDeathTest, AsyncPreemptOffShowsTheStarvation) {
  EXPECT_EXIT(
      {
        setenv("GOMAXPROCS", "1", 1);
        setenv("GODEBUG", "asyncpreemptoff=1", 1);
        gort::Main(0, nullptr, starvedMain);
      },
      ::testing::ExitedWithCode(3), "main starved");
}

TEST(Preempt, StopTheWorldCompletesWhileGoroutinesSpin) {
  int prev = gort::runtime::GOMAXPROCS(4);  // also starts the runtime
  if (!gort::internal::asyncPreemptAvailable()) GTEST_SKIP() << "async preemption unavailable in this build";
  std::atomic<bool> stop{false};
  std::atomic<int> done{0};
  gort::Run([&] {
    for (int i = 0; i < 4; i++) {
      gort::go([&] {
        // No runtime call in the loop: only a signal can stop it.
        while (!stop.load(std::memory_order_relaxed)) {
        }
        done++;
      });
    }
    for (int n : {2, 3, 1, 4}) EXPECT_NE(gort::runtime::GOMAXPROCS(n), 0);  // each change stops the world
    stop = true;
    while (done.load() < 4) gort::runtime::Gosched();
  });
  gort::runtime::GOMAXPROCS(prev);
}

// Each worker mixes integer, SSE and x87-free double arithmetic in
// registers; any register lost across a preemption corrupts the result.
__attribute__((noinline)) double work(uint64_t seed, uint64_t iters, uint64_t* outInt) {
  uint64_t a = seed, b = seed ^ 0x9E3779B97F4A7C15ull, c = 7;
  double x = double(seed % 1000) + 0.5, y = 1.0;
  for (uint64_t i = 0; i < iters; i++) {
    a = a * 6364136223846793005ull + 1442695040888963407ull;
    b ^= a >> 17;
    c += (a ^ b) & 0xff;
    x = x * 0.999999 + double(c & 7);
    y = std::fma(y, 1.0000001, 0.25);
  }
  *outInt = a ^ b ^ c;
  return x + y;
}

// A plain thread that asks every P to yield every periodUs microseconds
// until stop().
class PreemptStorm {
 public:
  explicit PreemptStorm(int periodUs)
      : thread_([this, periodUs] {
          while (!stop_.load()) {
            for (int i = 0; i < gort::internal::gomaxprocs.load(); i++) {
              gort::internal::preemptone(gort::internal::allp[i]);
            }
            usleep(periodUs);
          }
        }) {}
  ~PreemptStorm() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST(Preempt, RegistersSurviveThousandsOfPreemptions) {
  int prev = gort::runtime::GOMAXPROCS(2);  // also starts the runtime
  if (!gort::internal::asyncPreemptAvailable()) GTEST_SKIP() << "async preemption unavailable in this build";
  constexpr int kWorkers = 8;
  constexpr uint64_t kIters = 30'000'000;
  uint64_t wantInt[kWorkers];
  double want[kWorkers];
  for (int i = 0; i < kWorkers; i++) want[i] = work(uint64_t(i + 1), kIters / 10, &wantInt[i]);
  uint64_t before = gort::internal::asyncPreemptions.load();
  std::atomic<int> bad{0}, done{0};
  // Besides sysmon's 10 ms requests, a plain thread asks every P to yield
  // every 100 us, so the signal path runs thousands of times.
  PreemptStorm storm(100);
  gort::Run([&] {
    for (int round = 0; round < 10; round++) {
      for (int i = 0; i < kWorkers; i++) {
        gort::go([&, i] {
          uint64_t gotInt;
          double got = work(uint64_t(i + 1), kIters / 10, &gotInt);
          if (got != want[i] || gotInt != wantInt[i]) bad++;
          done++;
        });
      }
    }
    while (done.load() < 10 * kWorkers) gort::runtime::Gosched();
  });
  storm.stop();
  EXPECT_EQ(bad.load(), 0);
  uint64_t preempted = gort::internal::asyncPreemptions.load() - before;
  std::printf("async preemptions: %lu\n", static_cast<unsigned long>(preempted));
  EXPECT_GT(preempted, 1000u);
  gort::runtime::GOMAXPROCS(prev);
}

// The whole register file, the full vector registers included, survives
// asynchronous preemption (amd64: pushed and xsaved by the stub; arm64: the
// kernel's signal frame, copied and returned through with rt_sigreturn), as
// the goroutine moves between Ms.
TEST(Preempt, WholeRegisterFileSurvivesPreemption) {
  int prev = gort::runtime::GOMAXPROCS(2);
  if (!gort::internal::asyncPreemptAvailable()) GTEST_SKIP() << "async preemption unavailable in this build";
  constexpr int kWorkers = 4;
  constexpr uint64_t kWanted = 300;
  uint64_t in[kWorkers][gorttest::kRegfileWords], out[kWorkers][gorttest::kRegfileWords] = {};
  for (int w = 0; w < kWorkers; w++) {
    for (int i = 0; i < gorttest::kRegfileWords; i++) {
      in[w][i] = (0x0101010101010101ull * uint64_t(i + 1)) ^ (uint64_t(w) << 56) ^ 0x5A5A00000000A5A5ull;
    }
  }
  std::atomic<int> stop{0}, done{0};
  uint64_t before = gort::internal::asyncPreemptions.load();
  uint64_t preempted = 0;
  PreemptStorm storm(100);
  gort::Run([&] {
    for (int w = 0; w < kWorkers; w++) {
      gort::go([&, w] {
        gorttest_spin_registers(&stop, out[w], in[w]);
        done++;
      });
    }
    // More spinners than Ps: this goroutine runs only when one is preempted.
    for (int i = 0; i < 20000 && preempted < kWanted; i++) {
      gort::time::Sleep(gort::time::Millisecond);
      preempted = gort::internal::asyncPreemptions.load() - before;
    }
    stop = 1;
    while (done.load() < kWorkers) gort::runtime::Gosched();
  });
  storm.stop();
  EXPECT_GE(preempted, kWanted);
  for (int w = 0; w < kWorkers; w++) {
    for (int slot : gorttest::kSpinIntSlots) EXPECT_EQ(out[w][slot], in[w][slot]) << "worker " << w << " slot " << slot;
    for (int v = 0; v < 2 * gorttest::kSpinVectors; v++) {
      EXPECT_EQ(out[w][32 + v], in[w][32 + v]) << "worker " << w << " vector " << v / 2 << " half " << v % 2;
    }
  }
  gort::runtime::GOMAXPROCS(prev);
}

// The resume half of the context switch (after gort_swapcontext_resume, a
// label inside gort_swapcontext) is runtime code. The label once hid the
// rest of the function from the safe-point table, and a SIGURG landing
// there preempted a goroutine before it finished a hand-off park, leaving
// the parker holding a channel lock forever.
extern "C" void gort_swapcontext_resume();

TEST(Preempt, SwitchCodeIsNeverAnAsyncSafePoint) {
  gort::runtime::GOMAXPROCS(0);  // starts the runtime, which loads the table
  if (!gort::internal::asyncPreemptAvailable()) GTEST_SKIP() << "async preemption unavailable in this build";
  auto resume = reinterpret_cast<uintptr_t>(&gort_swapcontext_resume);
  // The restore sequence: ldmxcsr, fldcw, the frame pop and six register
  // pops come to more than 16 bytes.
  for (uintptr_t off = 0; off < 16; off++) EXPECT_TRUE(gort::internal::inRuntimeText(resume + off)) << "+" << off;
}

// Channel exchanges park by direct hand-off while a plain thread asks every
// P to yield every 50 us and GOMAXPROCS changes under them: every park,
// hand-off and preemption path at once. A watchdog fails a hung child.
TEST_F(PreemptDeathTest, HandoffsSurviveAPreemptionStorm) {
  gort::runtime::GOMAXPROCS(0);  // starts the runtime
  if (!gort::internal::asyncPreemptAvailable()) GTEST_SKIP() << "async preemption unavailable in this build";
  EXPECT_EXIT(
      {
        gorttest::watchdog(60);
        gort::runtime::GOMAXPROCS(4);
        PreemptStorm storm(50);
        gort::Run([] {
          constexpr int kPairs = 64, kMsgs = 40000;
          gort::sync::WaitGroup wg;
          for (int i = 0; i < kPairs; i++) {
            auto c = gort::make_chan<int>(i % 2);  // unbuffered and one-slot
            wg.Add(2);
            gort::go([c, &wg] {
              for (int k = 0; k < kMsgs; k++) c.send(k);
              wg.Done();
            });
            gort::go([c, &wg] {
              for (int k = 0; k < kMsgs; k++) c.recv();
              wg.Done();
            });
          }
          gort::go([] {
            for (int n = 0; n < 2000; n++) {
              gort::runtime::GOMAXPROCS(1 + n % 4);
              gort::runtime::Gosched();
            }
          });
          wg.Wait();
        });
        storm.stop();
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
