// Tests of sync::RWMutex, porting Go's sync/rwmutex_test.go
// (TestParallelReaders, TestRWMutex with HammerRWMutex and the
// TryLock/TryRLock checks, TestRLocker) and the RWMutex cases of
// TestMutexMisuse.
#include <atomic>
#include <cstdio>
#include <shared_mutex>

#include "gort/chan.hpp"
#include "gort/go.hpp"
#include "gort/select.hpp"
#include "gort/sync.hpp"
#include "sync/sync_test.hpp"

namespace {

using gort::runtime::Gosched;
using gort::sync::Locker;
using gort::sync::RWMutex;
using gort::sync::WaitGroup;
using synctest::kScale;

class RWMutexTest : public synctest::SyncTest {};
SYNC_INSTANTIATE(RWMutexTest);

// Go's doTestParallelReaders: numReaders goroutines all hold the read lock
// at once (each signals while holding it and waits to be told to leave).
void parallelReaders(int numReaders) {
  RWMutex m;
  auto clocked = gort::make_chan<bool>();
  auto cunlock = gort::make_chan<bool>();
  auto cdone = gort::make_chan<bool>();
  for (int i = 0; i < numReaders; i++) {
    gort::go([&] {
      m.RLock();
      clocked.send(true);
      cunlock.recv();
      m.RUnlock();
      cdone.send(true);
    });
  }
  for (int i = 0; i < numReaders; i++) clocked.recv();  // all inside together
  for (int i = 0; i < numReaders; i++) cunlock.send(true);
  for (int i = 0; i < numReaders; i++) cdone.recv();
}

TEST_P(RWMutexTest, ParallelReaders) {
  gort::Run([] {
    parallelReaders(1);
    parallelReaders(3);
    parallelReaders(4);
  });
}

// Go's HammerRWMutex: readers add 1 to activity, writers 10000; a reader
// must never see a writer inside and a writer must be alone.
void hammerRWMutex(int numReaders, int iterations) {
  RWMutex rwm;
  std::atomic<int32_t> activity{0};
  std::atomic<int> bad{0};
  WaitGroup wg;
  auto reader = [&] {
    for (int i = 0; i < iterations; i++) {
      rwm.RLock();
      int32_t n = activity.fetch_add(1) + 1;
      if (n < 1 || n >= 10000) bad++;
      for (int j = 0; j < 100; j++) {
      }
      activity.fetch_sub(1);
      rwm.RUnlock();
    }
    wg.Done();
  };
  auto writer = [&] {
    for (int i = 0; i < iterations; i++) {
      rwm.Lock();
      int32_t n = activity.fetch_add(10000) + 10000;
      if (n != 10000) bad++;
      for (int j = 0; j < 100; j++) {
      }
      activity.fetch_sub(10000);
      rwm.Unlock();
    }
    wg.Done();
  };
  // Go's ordering: a writer, half the readers, another writer, the rest.
  int i = 0;
  wg.Add(numReaders + 2);
  gort::go(writer);
  for (; i < numReaders / 2; i++) gort::go(reader);
  gort::go(writer);
  for (; i < numReaders; i++) gort::go(reader);
  wg.Wait();
  EXPECT_EQ(bad.load(), 0);
}

TEST_P(RWMutexTest, Hammer) {
  gort::Run([] {
    const int n = 1000 / kScale;
    hammerRWMutex(1, n);
    hammerRWMutex(3, n);
    hammerRWMutex(10, n);
  });
}

// TestRWMutex's TryLock/TryRLock sequence.
TEST_P(RWMutexTest, TryLockTryRLock) {
  gort::Run([] {
    RWMutex m;
    EXPECT_TRUE(m.TryLock());
    EXPECT_FALSE(m.TryLock());
    EXPECT_FALSE(m.TryRLock());
    m.Unlock();
    EXPECT_TRUE(m.TryLock());
    m.Unlock();
    EXPECT_TRUE(m.TryRLock());
    EXPECT_TRUE(m.TryRLock());
    EXPECT_FALSE(m.TryLock());
    m.RUnlock();
    m.RUnlock();
    EXPECT_TRUE(m.TryLock());
    m.Unlock();
  });
}

// Go's TestRLocker: the Locker from RLocker read-locks, and respects the
// write lock.
TEST_P(RWMutexTest, RLocker) {
  gort::Run([] {
    RWMutex wl;
    Locker rl = wl.RLocker();
    auto wlocked = gort::make_chan<bool>(1);
    auto rlocked = gort::make_chan<bool>(1);
    constexpr int n = 10;
    gort::go([&] {
      for (int i = 0; i < n; i++) {
        rl.Lock();
        rl.Lock();
        rlocked.send(true);
        wl.Lock();
        wlocked.send(true);
      }
    });
    for (int i = 0; i < n; i++) {
      rlocked.recv();
      rl.Unlock();
      gort::select(gort::recv(wlocked, [] { ADD_FAILURE() << "RLocker() didn't read-lock it"; }),
                   gort::default_([] {}));
      rl.Unlock();
      wlocked.recv();
      gort::select(gort::recv(rlocked, [] { ADD_FAILURE() << "RLocker() didn't respect the write lock"; }),
                   gort::default_([] {}));
      wl.Unlock();
    }
  });
}

// A pending writer blocks new readers (writer preference): a reader that
// arrives after Lock started waiting gets in only after the writer.
TEST_P(RWMutexTest, PendingWriterExcludesNewReaders) {
  gort::Run([] {
    RWMutex m;
    std::atomic<int> step{0};
    WaitGroup wg;
    m.RLock();
    wg.Add(2);
    gort::go([&] {
      m.Lock();  // waits for our read lock
      int expect = 0;
      EXPECT_TRUE(step.compare_exchange_strong(expect, 1)) << "writer was not first";
      m.Unlock();
      wg.Done();
    });
    // Until the writer is pending, TryRLock succeeds; then it must fail.
    while (m.TryRLock()) {
      m.RUnlock();
      Gosched();
    }
    gort::go([&] {
      m.RLock();
      int expect = 1;
      EXPECT_TRUE(step.compare_exchange_strong(expect, 2)) << "reader overtook the pending writer";
      m.RUnlock();
      wg.Done();
    });
    for (int i = 0; i < 10; i++) Gosched();
    EXPECT_EQ(step.load(), 0);
    m.RUnlock();  // lets the writer in, then the reader
    wg.Wait();
    EXPECT_EQ(step.load(), 2);
  });
}

// The std adaptors: shared_lock for readers, unique_lock for writers.
TEST_P(RWMutexTest, StdAdaptors) {
  gort::Run([] {
    RWMutex m;
    {
      std::shared_lock<RWMutex> r1(m);
      std::shared_lock<RWMutex> r2(m, std::try_to_lock);
      EXPECT_TRUE(r2.owns_lock());
      EXPECT_FALSE(m.TryLock());
    }
    std::unique_lock<RWMutex> w(m);
    EXPECT_FALSE(m.TryRLock());
  });
}

// ---- fatal misuse (the RWMutex cases of TestMutexMisuse) -------------------------

using RWMutexDeathTest = synctest::SyncDeathTest;

constexpr const char* kUnlock = "fatal error: sync: Unlock of unlocked RWMutex\n\ngoroutine 1 \\[running\\]:";
constexpr const char* kRUnlock = "fatal error: sync: RUnlock of unlocked RWMutex\n\ngoroutine 1 \\[running\\]:";

TEST_F(RWMutexDeathTest, Unlock) {
  EXPECT_EXIT(gort::Main(0, nullptr, +[] {
                RWMutex mu;
                mu.Unlock();
              }),
              ::testing::ExitedWithCode(2), kUnlock);
}

TEST_F(RWMutexDeathTest, UnlockAfterRLock) {
  EXPECT_EXIT(gort::Main(0, nullptr, +[] {
                RWMutex mu;
                mu.RLock();
                mu.Unlock();
              }),
              ::testing::ExitedWithCode(2), kUnlock);
}

TEST_F(RWMutexDeathTest, DoubleUnlock) {
  EXPECT_EXIT(gort::Main(0, nullptr, +[] {
                RWMutex mu;
                mu.Lock();
                mu.Unlock();
                mu.Unlock();
              }),
              ::testing::ExitedWithCode(2), kUnlock);
}

TEST_F(RWMutexDeathTest, RUnlock) {
  EXPECT_EXIT(gort::Main(0, nullptr, +[] {
                RWMutex mu;
                mu.RUnlock();
              }),
              ::testing::ExitedWithCode(2), kRUnlock);
}

TEST_F(RWMutexDeathTest, RUnlockAfterLock) {
  EXPECT_EXIT(gort::Main(0, nullptr, +[] {
                RWMutex mu;
                mu.Lock();
                mu.RUnlock();
              }),
              ::testing::ExitedWithCode(2), kRUnlock);
}

TEST_F(RWMutexDeathTest, DoubleRUnlock) {
  EXPECT_EXIT(gort::Main(0, nullptr, +[] {
                RWMutex mu;
                mu.RLock();
                mu.RUnlock();
                mu.RUnlock();
              }),
              ::testing::ExitedWithCode(2), kRUnlock);
}

}  // namespace
