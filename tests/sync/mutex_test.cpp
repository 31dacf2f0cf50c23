// Tests of the runtime semaphores and sync::Mutex, porting Go's
// sync/mutex_test.go (TestSemaphore, TestMutex, TestMutexMisuse,
// TestMutexFairness) plus white-box checks of the semaphore table's FIFO
// and LIFO queueing and of the starvation-mode bound.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <vector>

#include "gort/chan.hpp"
#include "gort/go.hpp"
#include "gort/select.hpp"
#include "gort/sync.hpp"
#include "gort/time.hpp"
#include "runtime/export_test.hpp"
#include "sync/sync_test.hpp"

namespace {

using gort::runtime::Gosched;
using gort::sync::Mutex;
using gort::sync::WaitGroup;
using synctest::kScale;

class MutexTest : public synctest::SyncTest {};
SYNC_INSTANTIATE(MutexTest);

// Waits until n goroutines are parked in semacquire on sema (counted by
// the test) by yielding; the table itself is private.
void yieldUntil(const std::atomic<int>& v, int want) {
  while (v.load() < want) Gosched();
}

// Go's HammerSemaphore: acquire/release pairs from many goroutines never
// let two holders in at once.
TEST_P(MutexTest, Semaphore) {
  gort::Run([] {
    std::atomic<uint32_t> s{1};
    std::atomic<int> inside{0}, bad{0};
    WaitGroup wg;
    const int loops = 1000 / kScale;
    for (int i = 0; i < 10; i++) {
      wg.Add(1);
      gort::go([&] {
        for (int j = 0; j < loops; j++) {
          gort::internal::semacquire(&s);
          if (inside.fetch_add(1) != 0) bad++;
          if (j % 7 == 0) Gosched();
          inside.fetch_sub(1);
          gort::internal::semrelease(&s);
        }
        wg.Done();
      });
    }
    wg.Wait();
    EXPECT_EQ(bad.load(), 0);
    EXPECT_EQ(s.load(), 1u);
  });
}

// A release before the acquire is not lost (the "sleep paired with a
// wake-up even when they race" contract).
TEST_P(MutexTest, SemaphoreReleaseBeforeAcquire) {
  gort::Run([] {
    std::atomic<uint32_t> s{0};
    gort::internal::semrelease(&s);
    gort::internal::semrelease(&s);
    gort::internal::semacquire(&s);
    gort::internal::semacquire(&s);
    EXPECT_EQ(s.load(), 0u);
  });
}

// Waiters on one address wake in FIFO order; a lifo waiter goes first.
// Many other addresses (more than the table's 251 roots, so they collide)
// have waiters at the same time and each wakes only for its own address.
TEST(Sema, FifoLifoAndCollisions) {
  int prev = gort::runtime::GOMAXPROCS(1);  // deterministic queueing order
  gort::Run([] {
    constexpr int kAddrs = 600, kSame = 5;
    std::vector<std::atomic<uint32_t>> others(kAddrs);
    std::atomic<uint32_t> one{0};
    std::atomic<int> parked{0};
    // Raw semaphores promise no happens-before edge (sync's types add
    // them), so the wake order is recorded under a Mutex.
    Mutex orderMu;
    std::vector<int> order;
    auto woken = [&] {
      std::lock_guard<Mutex> g(orderMu);
      return int(order.size());
    };
    std::atomic<int> othersWoken{0};
    WaitGroup wg;
    for (int i = 0; i < kAddrs; i++) {
      wg.Add(1);
      gort::go([&, i] {
        parked++;
        gort::internal::semacquire(&others[i]);
        othersWoken++;
        wg.Done();
      });
    }
    auto waiter = [&](int id, bool lifo) {
      wg.Add(1);
      gort::go([&, id, lifo] {
        parked++;
        gort::internal::semacquire1(&one, lifo, gort::internal::waitReason::semacquire);
        std::lock_guard<Mutex> g(orderMu);
        order.push_back(id);
        wg.Done();
      });
      yieldUntil(parked, kAddrs + id + 1);
      for (int k = 0; k < 3; k++) Gosched();  // let it reach the queue
    };
    for (int id = 0; id < kSame; id++) waiter(id, false);
    waiter(kSame, true);
    for (int id = 0; id <= kSame; id++) {
      gort::internal::semrelease(&one);
      while (woken() < id + 1) Gosched();
    }
    {
      std::lock_guard<Mutex> g(orderMu);
      EXPECT_EQ(order, (std::vector<int>{kSame, 0, 1, 2, 3, 4}));
    }
    EXPECT_EQ(othersWoken.load(), 0);
    for (int i = kAddrs - 1; i >= 0; i -= 2) gort::internal::semrelease(&others[i]);
    for (int i = kAddrs - 2; i >= 0; i -= 2) gort::internal::semrelease(&others[i]);
    wg.Wait();
    EXPECT_EQ(othersWoken.load(), kAddrs);
  });
  gort::runtime::GOMAXPROCS(prev);
}

// Go's HammerMutex: 10 goroutines, each 1000 lock/unlock pairs, some
// through TryLock; the counter proves mutual exclusion.
TEST_P(MutexTest, HammerMutex) {
  gort::Run([] {
    Mutex m;
    long counter = 0;
    WaitGroup wg;
    const int loops = 1000 / kScale;
    for (int i = 0; i < 10; i++) {
      wg.Add(1);
      gort::go([&] {
        for (int j = 0; j < loops; j++) {
          if (j % 3 == 0) {
            if (m.TryLock()) {
              counter++;
              m.Unlock();
            } else {
              m.Lock();
              counter++;
              m.Unlock();
            }
            continue;
          }
          m.Lock();
          long c = counter;
          if (j % 5 == 0) Gosched();
          counter = c + 1;
          m.Unlock();
        }
        wg.Done();
      });
    }
    wg.Wait();
    EXPECT_EQ(counter, 10L * loops);
  });
}

// TestMutex's TryLock checks.
TEST_P(MutexTest, TryLock) {
  gort::Run([] {
    Mutex m;
    EXPECT_TRUE(m.TryLock());
    EXPECT_FALSE(m.TryLock());
    m.Unlock();
    EXPECT_TRUE(m.TryLock());
    m.Unlock();
  });
}

// The standard lock adaptors, and unlocking from another goroutine (a Go
// mutex belongs to no goroutine).
TEST_P(MutexTest, StdAdaptorsAndForeignUnlock) {
  gort::Run([] {
    Mutex m;
    int x = 0;
    {
      std::lock_guard<Mutex> g(m);
      x++;
    }
    {
      std::unique_lock<Mutex> l(m, std::try_to_lock);
      EXPECT_TRUE(l.owns_lock());
      x++;
    }
    m.Lock();
    WaitGroup wg;
    wg.Add(1);
    gort::go([&] {
      x++;
      m.Unlock();
      wg.Done();
    });
    m.Lock();  // parks until the other goroutine unlocks
    EXPECT_EQ(x, 3);
    m.Unlock();
    wg.Wait();
  });
}

// Go's TestMutexFairness: a goroutine that holds the mutex most of the time
// (sleeping with it held) cannot keep another from getting it 10 times.
TEST_P(MutexTest, Fairness) {
  gort::Run([] {
    using namespace gort::time;
    Mutex mu;
    auto stop = gort::make_chan<bool>();
    auto done = gort::make_chan<bool>(1);
    WaitGroup wg;
    wg.Add(1);
    gort::go([&] {
      for (;;) {
        mu.Lock();
        Sleep(100 * Microsecond);
        mu.Unlock();
        bool stopped = false;
        gort::select(gort::recv(stop, [&] { stopped = true; }), gort::default_([] {}));
        if (stopped) break;
      }
      wg.Done();
    });
    gort::go([&] {
      for (int i = 0; i < 10; i++) {
        Sleep(100 * Microsecond);
        mu.Lock();
        mu.Unlock();
      }
      done.send(true);
    });
    bool ok = false;
    gort::select(gort::recv(done, [&] { ok = true; }), gort::recv(After(10 * Second), [] {}));
    EXPECT_TRUE(ok) << "can't acquire Mutex in 10 seconds";
    gort::close(stop);
    wg.Wait();
  });
}

// Starvation mode: goroutines hammering the mutex in tight loops cannot
// keep a waiter out indefinitely. Once it has waited over 1 ms the mutex is
// handed to it in FIFO order, so each acquisition is bounded by the queue
// ahead of it, not by luck.
TEST_P(MutexTest, StarvationBound) {
  gort::Run([] {
    Mutex mu;
    std::atomic<bool> stop{false};
    std::atomic<long> hammered{0};
    WaitGroup wg;
    for (int i = 0; i < 4; i++) {
      wg.Add(1);
      gort::go([&] {
        for (int j = 1; !stop.load(std::memory_order_relaxed); j++) {
          // At P=1 only preemption lets the victim run at all; yield now
          // and then for builds where asynchronous preemption cannot stop
          // this loop (TSan delivers signals only at its own sync points).
          if (j % 256 == 0) Gosched();
          mu.Lock();
          hammered.fetch_add(1, std::memory_order_relaxed);
          // Hold it for a few µs: newcomers (already running) would win every
          // race against a woken waiter in normal mode. (Spin in our own
          // code, where asynchronous preemption can stop it at P=1.)
          for (int k = 0; k < 100; k++) gort::internal::cpuRelax();
          mu.Unlock();
        }
        wg.Done();
      });
    }
    int64_t worst = 0;
    for (int i = 0; i < 20; i++) {
      auto t0 = std::chrono::steady_clock::now();
      mu.Lock();
      auto waited = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
      worst = std::max<int64_t>(worst, waited);
      mu.Unlock();
      gort::time::Sleep(200 * gort::time::Microsecond);
    }
    stop = true;
    wg.Wait();
    EXPECT_GT(hammered.load(), 0);
    // Generous for loaded CI machines; without starvation mode the wait is
    // unbounded (tens of ms and up).
    EXPECT_LT(worst, 2'000'000) << "worst wait " << worst << " us";
  });
}

// ---- fatal misuse (TestMutexMisuse), compared with Go 1.19's output --------------

using MutexDeathTest = synctest::SyncDeathTest;

TEST_F(MutexDeathTest, UnlockOfUnlocked) {
  EXPECT_EXIT(gort::Main(0, nullptr, +[] {
                Mutex mu;
                mu.Unlock();
              }),
              ::testing::ExitedWithCode(2), "fatal error: sync: unlock of unlocked mutex\n\ngoroutine 1 \\[running\\]:");
}

TEST_F(MutexDeathTest, DoubleUnlock) {
  EXPECT_EXIT(gort::Main(0, nullptr, +[] {
                Mutex mu;
                mu.Lock();
                mu.Unlock();
                mu.Unlock();
              }),
              ::testing::ExitedWithCode(2), "fatal error: sync: unlock of unlocked mutex");
}

// A fatal error is not a panic: a recover in a deferred call cannot stop it.
TEST_F(MutexDeathTest, UnlockOfUnlockedIsNotRecoverable) {
  EXPECT_EXIT(gort::Main(0, nullptr, +[] {
                Mutex mu;
                try {
                  mu.Unlock();
                } catch (...) {
                }
                std::printf("survived\n");
              }),
              ::testing::ExitedWithCode(2), "fatal error: sync: unlock of unlocked mutex");
}

}  // namespace
