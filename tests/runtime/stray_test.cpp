// Stray blocking calls (beyond Go): a goroutine that
// blocks its thread in the kernel without syscall::Blocking (a raw sleep, a
// blocking read, a contended pthread mutex) must not stall the other
// goroutines: sysmon hands its P to another M (src/runtime/stray.cpp).
// Timing bounds are generous: CI is a loaded 2-core machine.
#include <fcntl.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "gort/chan.hpp"
#include "gort/go.hpp"
#include "gort/runtime.hpp"
#include "gort/sync.hpp"
#include "gort/time.hpp"
#include "runtime/export_test.hpp"
#include "support/procs_test.hpp"

namespace gtime = gort::time;

namespace {

template <class F>
void waitFor(F cond) {
  for (int i = 0; i < 5000 && !cond(); i++) gtime::Sleep(gtime::Millisecond);
  ASSERT_TRUE(cond());
}

uint64_t handoffs() { return gort::internal::strayHandoffs.load(); }

// Runs block() on one goroutine (not marked as blocking) and a ticker of
// 20 x 1 ms sleeps on another at GOMAXPROCS=1: the ticker must finish while
// block() is still blocked, and block() must return afterwards.
template <class Block>
void expectNoStall(Block block) {
  int prev = gort::runtime::GOMAXPROCS(1);
  uint64_t before = handoffs();
  gort::Run([&] {
    std::atomic<bool> blocked{false}, finished{false}, tickerDone{false};
    gtime::Time t0 = gtime::Now();
    gort::go([&] {
      blocked = true;
      block();
      finished = true;
    });
    gort::go([&] {
      while (!blocked.load()) gort::runtime::Gosched();
      for (int i = 0; i < 20; i++) gtime::Sleep(gtime::Millisecond);
      tickerDone = true;
    });
    waitFor([&] { return tickerDone.load(); });
    EXPECT_FALSE(finished.load()) << "the ticker waited for the blocked goroutine";
    EXPECT_LT(gtime::Since(t0), 150 * gtime::Millisecond);
    waitFor([&] { return finished.load(); });
  });
  EXPECT_GT(handoffs(), before);
  gort::runtime::GOMAXPROCS(prev);
}

TEST(StrayBlocking, RawSleepDoesNotStall) {
  expectNoStall([] {
    // A signal (preemption's SIGURG) may cut a sleep short: sleep on.
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
    while (std::chrono::steady_clock::now() < end) usleep(10 * 1000);
  });
}

// The same from a goroutine wired to its thread: it takes a P back through
// its own M (the locked-M hand-over), not through any M.
TEST(StrayBlocking, LockedGoroutineSleepDoesNotStall) {
  expectNoStall([] {
    gort::runtime::LockOSThread();
    pthread_t self = pthread_self();
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
    while (std::chrono::steady_clock::now() < end) usleep(10 * 1000);
    gort::runtime::Gosched();  // re-enters the runtime: needs a P again
    EXPECT_TRUE(pthread_equal(self, pthread_self()));
    gort::runtime::UnlockOSThread();
  });
}

TEST(StrayBlocking, BlockingPipeReadDoesNotStall) {
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  expectNoStall([r = fds[0], w = fds[1]] {
    // A timer's goroutine writes the byte that ends the read: the timer sits
    // on the blocked reader's P, and runs only if that P was handed off.
    gtime::AfterFunc(200 * gtime::Millisecond, [w] { EXPECT_EQ(write(w, "x", 1), 1); });
    char c = 0;
    EXPECT_EQ(read(r, &c, 1), 1);
    EXPECT_EQ(c, 'x');
  });
  close(fds[0]);
  close(fds[1]);
}

TEST(StrayBlocking, ContendedPthreadMutexDoesNotStall) {
  pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  std::atomic<bool> held{false};
  std::thread holder([&] {
    pthread_mutex_lock(&mu);
    held = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    pthread_mutex_unlock(&mu);
  });
  while (!held.load()) std::this_thread::yield();
  expectNoStall([&] {
    pthread_mutex_lock(&mu);
    pthread_mutex_unlock(&mu);
  });
  holder.join();
}

// Goroutines that only compute are never handed off: their threads run.
TEST(StrayBlocking, CpuBoundGoroutinesAreNotHandedOff) {
  int prev = gort::runtime::GOMAXPROCS(2);
  uint64_t before = handoffs();
  gort::Run([] {
    gort::sync::WaitGroup wg;
    std::atomic<uint64_t> sum{0};
    for (int i = 0; i < 2; i++) {
      wg.Add(1);
      gort::go([&] {
        auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(150);
        uint64_t n = 0;
        while (std::chrono::steady_clock::now() < end) n++;
        sum += n;
        wg.Done();
      });
    }
    wg.Wait();
    EXPECT_GT(sum.load(), 0u);
  });
  EXPECT_EQ(handoffs(), before);
  gort::runtime::GOMAXPROCS(prev);
}

class StrayStress : public gorttest::ProcsTest {};

// Raw blocking calls mixed with channels, `go` and timers: nothing hangs,
// every message arrives, no goroutine is left behind. resize: another
// goroutine keeps changing GOMAXPROCS (stop-the-world) meanwhile.
void stress(bool resize) {
  constexpr int kWorkers = 8, kRounds = 150;
  gort::Run([resize] {
    auto results = gort::make_chan<int>(kWorkers);
    std::atomic<bool> stop{false};
    gort::sync::WaitGroup resizer;
    if (resize) {
      resizer.Add(1);
      gort::go([&] {
        for (int n = 1; !stop.load(); n = n % 4 + 1) {
          gort::runtime::GOMAXPROCS(n);
          gtime::Sleep(200 * gtime::Microsecond);
        }
        resizer.Done();
      });
    }
    for (int w = 0; w < kWorkers; w++) {
      gort::go([w, results] {
        auto ping = gort::make_chan<int>();
        int total = 0;
        for (int r = 0; r < kRounds; r++) {
          switch ((w + r) % 4) {
            case 0: usleep(100 + 50 * unsigned(r % 5)); break;
            case 1: {
              timespec ts{0, 150 * 1000};
              nanosleep(&ts, nullptr);
              break;
            }
            case 2: gtime::Sleep(100 * gtime::Microsecond); break;
            default: gort::runtime::Gosched(); break;
          }
          gort::go([ping, r] {
            usleep(50);
            ping.send(r);
          });
          total += ping.recv();
        }
        results.send(total);
      });
    }
    int expect = kRounds * (kRounds - 1) / 2;
    for (int w = 0; w < kWorkers; w++) EXPECT_EQ(results.recv(), expect);
    stop = true;
    resizer.Wait();
  });
}

TEST_P(StrayStress, MixedBlockingAndChannels) { stress(false); }
TEST_P(StrayStress, MixedBlockingWhileResizing) { stress(true); }

INSTANTIATE_TEST_SUITE_P(Procs, StrayStress, ::testing::Values(1, 2, 4));

}  // namespace
