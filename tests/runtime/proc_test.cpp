// Scheduler tests (in the spirit of runtime/proc_test.go): goroutine
// creation and exit, yielding, GOMAXPROCS changes under load, LockOSThread,
// Goexit, goroutine ids; each at several P counts, each checking that no
// goroutine is left behind.
#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "gort/chan.hpp"
#include "gort/debug.hpp"
#include "gort/go.hpp"
#include "gort/runtime.hpp"
#include "gort/sync.hpp"
#include "runtime/export_test.hpp"
#include "support/procs_test.hpp"

namespace {

using gort::runtime::Gosched;

int tid() { return int(syscall(SYS_gettid)); }

// Waits (yielding) until cond() holds; fails the test after ~5 s.
template <class F>
void waitFor(F cond) {
  for (int i = 0; i < 5000000 && !cond(); i++) Gosched();
  ASSERT_TRUE(cond());
}

class ProcTest : public gorttest::ProcsTest {};

TEST_P(ProcTest, GoRunsEveryGoroutine) {
  constexpr int kN = 10000;
  std::atomic<int> ran{0};
  gort::Run([&] {
    for (int i = 0; i < kN; i++) gort::go([&ran] { ran.fetch_add(1); });
    waitFor([&] { return ran.load() == kN; });
  });
  EXPECT_EQ(ran.load(), kN);
}

TEST_P(ProcTest, ArgumentsAreEvaluatedAndCopiedByTheCaller) {
  std::atomic<long> sum{0};
  std::atomic<int> done{0};
  gort::Run([&] {
    std::string s = "abc";
    for (int i = 0; i < 100; i++) {
      gort::go([&](int v, std::string str) {
        sum += v + long(str.size());
        done++;
      }, i, s);
      s += "x";  // the goroutine got a copy made at the go statement
    }
    waitFor([&] { return done.load() == 100; });
  });
  // sum of i + (3 + i)
  EXPECT_EQ(sum.load(), 4950 + 300 + 4950);
}

TEST_P(ProcTest, LargeClosuresAndMoveOnlyArguments) {
  std::atomic<int> got{0};
  gort::Run([&] {
    std::array<long, 64> big{};
    big[63] = 7;
    auto owned = std::make_unique<int>(5);
    gort::go([&got, big](std::unique_ptr<int> p) { got = int(big[63]) + *p; }, std::move(owned));
    waitFor([&] { return got.load() != 0; });
  });
  EXPECT_EQ(got.load(), 12);
}

TEST_P(ProcTest, GoschedLetsOthersRun) {
  // Two goroutines alternate through Gosched on any P count; both finish.
  std::atomic<int> a{0}, b{0};
  gort::Run([&] {
    std::atomic<int> done{0};
    for (auto* c : {&a, &b}) {
      gort::go([c, &done] {
        for (int i = 0; i < 1000; i++) {
          c->fetch_add(1);
          Gosched();
        }
        done++;
      });
    }
    waitFor([&] { return done.load() == 2; });
  });
  EXPECT_EQ(a.load(), 1000);
  EXPECT_EQ(b.load(), 1000);
}

TEST_P(ProcTest, GoroutineIdsAreUniqueAndPositive) {
  constexpr int kN = 2000;
  std::vector<int64_t> ids(kN);
  std::atomic<int> done{0};
  gort::Run([&] {
    EXPECT_GT(gort::runtime::GoID(), 0);
    for (int i = 0; i < kN; i++) {
      gort::go([&, i] {
        ids[i] = gort::runtime::GoID();
        done++;
      });
    }
    waitFor([&] { return done.load() == kN; });
  });
  std::set<int64_t> unique(ids.begin(), ids.end());
  EXPECT_EQ(unique.size(), size_t(kN));
  EXPECT_GT(*unique.begin(), 0);
  EXPECT_EQ(gort::runtime::GoID(), 0);  // not on a goroutine
}

TEST_P(ProcTest, GoexitRunsDestructorsAndEndsOnlyThatGoroutine) {
  std::atomic<int> destroyed{0}, after{0}, finished{0};
  struct Guard {
    std::atomic<int>* n;
    ~Guard() { n->fetch_add(1); }
  };
  gort::Run([&] {
    for (int i = 0; i < 50; i++) {
      gort::go([&] {
        Guard g{&destroyed};
        struct Finish {
          std::atomic<int>* n;
          ~Finish() { n->fetch_add(1); }
        } f{&finished};
        Gosched();
        gort::runtime::Goexit();
        after++;
      });
    }
    waitFor([&] { return finished.load() == 50; });
  });
  EXPECT_EQ(destroyed.load(), 50);
  EXPECT_EQ(after.load(), 0);
}

TEST_P(ProcTest, GoexitInRunEndsRunNormally) {
  bool reached = false;
  gort::Run([&] {
    gort::runtime::Goexit();
    reached = true;
  });
  EXPECT_FALSE(reached);
}

TEST_P(ProcTest, RunRethrowsTheGoroutinesException) {
  EXPECT_THROW(gort::Run([] { throw std::runtime_error("boom"); }), std::runtime_error);
}

TEST_P(ProcTest, LockOSThreadKeepsTheThread) {
  std::atomic<int> moved{0};
  gort::Run([&] {
    std::atomic<int> done{0};
    // Busy neighbours so the scheduler has reasons to move things around.
    std::atomic<bool> stop{false};
    for (int i = 0; i < 4; i++) {
      gort::go([&] {
        while (!stop.load()) Gosched();
        done++;
      });
    }
    for (int i = 0; i < 4; i++) {
      gort::go([&] {
        gort::runtime::LockOSThread();
        int t = tid();
        for (int k = 0; k < 300; k++) {
          Gosched();
          if (tid() != t) moved++;
        }
        gort::runtime::UnlockOSThread();
        done++;
      });
    }
    waitFor([&] { return done.load() == 4; });
    stop = true;
    waitFor([&] { return done.load() == 8; });
  });
  EXPECT_EQ(moved.load(), 0);
}

TEST_P(ProcTest, LockOSThreadNests) {
  std::atomic<int> moved{0};
  gort::Run([&] {
    gort::runtime::LockOSThread();
    gort::runtime::LockOSThread();
    gort::runtime::UnlockOSThread();  // still locked: one Lock outstanding
    int t = tid();
    std::atomic<bool> stop{false};
    std::atomic<int> done{0};
    gort::go([&] {
      while (!stop.load()) Gosched();
      done++;
    });
    for (int k = 0; k < 200; k++) {
      Gosched();
      if (tid() != t) moved++;
    }
    stop = true;
    waitFor([&] { return done.load() == 1; });
    gort::runtime::UnlockOSThread();
    gort::runtime::UnlockOSThread();  // extra unlocks are no-ops, as in Go
  });
  EXPECT_EQ(moved.load(), 0);
}

TEST_P(ProcTest, GoroutineExitingLockedTakesItsThread) {
  std::atomic<int> threadId{0};
  gort::Run([&] {
    std::atomic<bool> done{false};
    gort::go([&] {
      gort::runtime::LockOSThread();
      threadId = tid();
      done = true;
    });
    waitFor([&] { return done.load(); });
  });
  std::string task = "/proc/self/task/" + std::to_string(threadId.load());
  for (int i = 0; i < 2000 && access(task.c_str(), F_OK) == 0; i++) usleep(1000);
  EXPECT_NE(access(task.c_str(), F_OK), 0) << "the locked thread should have exited";
}

TEST_P(ProcTest, GOMAXPROCSChangesUnderLoad) {
  gort::Run([&] {
    std::atomic<bool> stop{false};
    std::atomic<int> done{0};
    std::atomic<long> work{0};
    for (int i = 0; i < 16; i++) {
      gort::go([&] {
        while (!stop.load()) {
          work++;
          Gosched();
        }
        done++;
      });
    }
    int procs = GetParam();
    for (int n : {1, 3, 8, 2, procs}) {
      int old = gort::runtime::GOMAXPROCS(n);
      EXPECT_EQ(old, procs);
      procs = n;
      EXPECT_EQ(gort::runtime::GOMAXPROCS(0), n);
      long before = work.load();
      waitFor([&] { return work.load() > before + 100; });
    }
    stop = true;
    waitFor([&] { return done.load() == 16; });
  });
}

INSTANTIATE_TEST_SUITE_P(Procs, ProcTest, ::testing::Values(1, 2, 4, 8));

// goparkHandoff whose unlock function refuses the park (the poller's commit
// when the I/O became ready first): the partner it switched to readies the
// parker again instead of dying on "refused the park", and the parker
// resumes. (Sanitizer builds randomise runnext and send some parks through
// g0, where a refusal resumes the parker at once; the normal build takes
// the hand-off every time.)
TEST(Proc, HandoffParkRefusedByItsUnlockFunctionResumesTheParker) {
  int prev = gort::runtime::GOMAXPROCS(1);
  std::atomic<int> resumed{0};
  gort::sync::WaitGroup wg;
  for (int i = 0; i < 20; i++) {
    wg.Add(2);
    gort::go([&] {
      gort::go([&] { wg.Done(); });  // runnext: the hand-off's partner
      {
        gort::internal::RuntimeEntry entry;
        gort::internal::goparkHandoff([](gort::internal::g*, void*) { return false; }, nullptr,
                                      gort::internal::waitReason::ioWait, true);
      }
      resumed++;
      wg.Done();
    });
  }
  wg.Wait();
  EXPECT_EQ(resumed.load(), 20);
  gort::runtime::GOMAXPROCS(prev);
}

// The pointer FIFO behind the global run queue and free-G pool: order kept
// across growth while the ring has wrapped, partial pops, empty pops.
TEST(Proc, GRingKeepsOrderAcrossGrowth) {
  gort::internal::gRing ring;
  std::vector<gort::internal::g*> in;
  for (uintptr_t i = 1; i <= 1000; i++) in.push_back(reinterpret_cast<gort::internal::g*>(i * 64));
  size_t next = 0, popped = 0;
  gort::internal::g* out[200];
  while (next < in.size()) {
    uint32_t n = uint32_t(std::min<size_t>(150, in.size() - next));
    ring.pushN(&in[next], n);  // grows from 256 while head has moved
    next += n;
    uint32_t got = ring.popN(out, 100);
    for (uint32_t i = 0; i < got; i++) ASSERT_EQ(out[i], in[popped++]);
  }
  while (gort::internal::g* gp = ring.pop()) ASSERT_EQ(gp, in[popped++]);
  EXPECT_EQ(popped, in.size());
  EXPECT_EQ(ring.popN(out, 10), 0u);
  delete[] ring.buf;
}

// Threads increment a counter under lock/unlock, the holder sometimes
// off-CPU; returns the count. More threads than CPUs, short critical
// sections and some long ones force the spin, yield and futex-sleep paths:
// a lost wake-up hangs the caller, a broken exclusion miscounts.
template <class Lock, class Unlock>
long countUnderContention(int threads, int iters, Lock lock, Unlock unlock) {
  long counter = 0;
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; t++) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < iters; i++) {
        lock();
        long v = counter;
        if ((i + t) % 1000 == 0) usleep(200);  // holder off-CPU: the others sleep
        counter = v + 1;
        unlock();
      }
    });
  }
  for (auto& th : ts) th.join();
  return counter;
}

TEST(Proc, RuntimeMutexExcludesAndWakesUnderContention) {
  gort::internal::mutex mu{gort::internal::LockRank::leaf};
  long n = countUnderContention(
      8, 20000, [&] { gort::internal::lock(&mu); }, [&] { gort::internal::unlock(&mu); });
  EXPECT_EQ(n, 8L * 20000);
  EXPECT_TRUE(gort::internal::trylock(&mu));
  EXPECT_FALSE(gort::internal::trylock(&mu));
  gort::internal::unlock(&mu);
}

// Channel locks' plain-release mode (lock_futex.hpp) under contention, with
// the mode flipping underneath: owners that took the lock in either mode,
// waiters that counted themselves for a plain owner and waiters that left
// "sleeping" in the key all meet.
TEST(Proc, PlainReleaseMutexExcludesAndWakesAcrossModes) {
  gort::runtime::GOMAXPROCS(0);  // the runtime registers for membarrier at start
  if (!gort::internal::membarrierRegister()) GTEST_SKIP() << "no membarrier(2) here";
  using gort::internal::plainReleaseLocks;
  bool saved = plainReleaseLocks.load();
  gort::internal::plainReleaseMutex mu{gort::internal::LockRank::leaf};
  std::atomic<bool> stop{false};
  std::thread flipper([&] {
    for (bool on = true; !stop.load(); on = !on) {
      plainReleaseLocks.store(on);
      usleep(50);
    }
  });
  long n = countUnderContention(
      6, 20000, [&] { gort::internal::lockPlainRelease(&mu); }, [&] { gort::internal::unlockPlainRelease(&mu); });
  stop = true;
  flipper.join();
  plainReleaseLocks.store(saved);
  EXPECT_EQ(n, 6L * 20000);
  EXPECT_EQ(mu.key.load(), gort::internal::mutex::kUnlocked);
  EXPECT_EQ(mu.sleepers.load(), 0u);
}

// At GOMAXPROCS=1 channel locks release with a plain store; threads outside
// the scheduler are the contenders that must still be excluded and woken.
TEST(Proc, ChannelLockSharedWithPlainThreadsAtOneP) {
  int prev = gort::runtime::GOMAXPROCS(1);
  auto ch = gort::make_chan<int>(4);
  constexpr int kPerSender = 20000;
  std::atomic<long> received{0};
  gort::sync::WaitGroup senders, consumer;
  consumer.Add(1);
  gort::go([&] {
    for (int v : ch) received += v;
    consumer.Done();
  });
  std::vector<std::thread> ts;
  for (int t = 0; t < 2; t++) {
    ts.emplace_back([&] {
      for (int i = 0; i < kPerSender;) {
        if (ch.try_send(1)) i++;
        if (auto r = ch.try_recv()) received += r->first;
      }
    });
  }
  for (int k = 0; k < 4; k++) {
    senders.Add(1);
    gort::go([&] {
      for (int i = 0; i < kPerSender; i++) ch.send(1);
      senders.Done();
    });
  }
  senders.Wait();
  for (auto& th : ts) th.join();
  gort::close(ch);
  consumer.Wait();
  EXPECT_EQ(received.load(), 6L * kPerSender);
  gort::runtime::GOMAXPROCS(prev);
}

TEST(Proc, NumCPUHonoursAffinity) {
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_EQ(sched_getaffinity(0, sizeof set, &set), 0);
  EXPECT_GE(gort::runtime::NumCPU(), 1);
  EXPECT_LE(gort::runtime::NumCPU(), CPU_COUNT(&set));
}

TEST(Proc, GOMAXPROCSQueryDoesNotChange) {
  int n = gort::runtime::GOMAXPROCS(0);
  EXPECT_EQ(gort::runtime::GOMAXPROCS(-1), n);
  EXPECT_EQ(gort::runtime::GOMAXPROCS(0), n);
}

// ---- fatal paths, each in a fresh child process ----------------------------------

class ProcDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

int depth(int n) {
  volatile char frame[256];
  frame[0] = char(n);
  return n == 0 ? frame[0] : depth(n - 1) + frame[0];
}

void overflowMain() { std::printf("%d\n", depth(1 << 30)); }

TEST_F(ProcDeathTest, StackOverflowIsFatalWithGosMessage) {
  EXPECT_EXIT(gort::Main(0, nullptr, overflowMain), ::testing::ExitedWithCode(2),
              "runtime: goroutine stack exceeds [0-9]+-byte limit\n"
              "runtime: sp=0x[0-9a-f]+ stack=\\[0x[0-9a-f]+, 0x[0-9a-f]+\\]\n"
              "fatal error: stack overflow\n\n"
              "goroutine 1 \\[running\\]:\n");
}

void overflowWithAnotherMain() {
  static auto never = gort::make_chan<int>();
  gort::go([] { never.recv(); });
  for (int i = 0; i < 10; i++) gort::runtime::Gosched();
  overflowMain();
}

// Go throws a stack overflow at level 2: all goroutines, even with
// GOTRACEBACK=none.
TEST_F(ProcDeathTest, StackOverflowListsEveryGoroutineWhateverGotraceback) {
  for (const char* level : {"none", "single"}) {
    EXPECT_EXIT(
        {
          setenv("GOTRACEBACK", level, 1);
          gort::Main(0, nullptr, overflowWithAnotherMain);
        },
        ::testing::ExitedWithCode(2),
        "fatal error: stack overflow\n\ngoroutine 1 \\[running\\]:\n(.|\n)*\ngoroutine [0-9]+ \\[chan receive\\]:\n")
        << level;
  }
}

void deepButAllowedMain() {
  gort::debug::SetMaxStack(64 << 20);
  std::atomic<int> r{-1};
  gort::go([&r] { r = depth(100000) == 0 ? 0 : 1; });  // ~30 MiB of frames
  while (r.load() < 0) gort::runtime::Gosched();
  std::fprintf(stderr, "deep ok\n");
}

TEST_F(ProcDeathTest, SetMaxStackAllowsDeeperRecursion) {
  EXPECT_EXIT(gort::Main(0, nullptr, deepButAllowedMain), ::testing::ExitedWithCode(0), "deep ok");
}

void escapingExceptionMain() {
  gort::go([] { throw std::runtime_error("boom"); });
  for (;;) gort::runtime::Gosched();
}

TEST_F(ProcDeathTest, ExceptionEscapingAGoroutineIsAnUnrecoveredPanic) {
  EXPECT_EXIT(gort::Main(0, nullptr, escapingExceptionMain), ::testing::ExitedWithCode(2),
              "panic: boom\n\ngoroutine [0-9]+ \\[running\\]:\n");
}

void threadExhaustionMain() {
  gort::debug::SetMaxThreads(1);
  gort::runtime::GOMAXPROCS(4);
  std::atomic<bool> stop{false};
  for (int i = 0; i < 8; i++) {
    gort::go([&stop] {
      while (!stop.load()) gort::runtime::Gosched();
    });
  }
  for (;;) gort::runtime::Gosched();
}

TEST_F(ProcDeathTest, ThreadLimitIsFatal) {
  EXPECT_EXIT(gort::Main(0, nullptr, threadExhaustionMain), ::testing::ExitedWithCode(2),
              "runtime: program exceeds 1-thread limit\nfatal error: thread exhaustion");
}

void goexitMain() { gort::runtime::Goexit(); }

TEST_F(ProcDeathTest, MainGoexitWithNothingLeftIsADeadlock) {
  EXPECT_EXIT(gort::Main(0, nullptr, goexitMain), ::testing::ExitedWithCode(2),
              "fatal error: no goroutines \\(main called runtime.Goexit\\) - deadlock!");
}

void mainReturnsMain() {
  for (int i = 0; i < 4; i++) {
    gort::go([] {
      for (;;) gort::runtime::Gosched();
    });
  }
  std::fprintf(stderr, "main done\n");
}

TEST_F(ProcDeathTest, ProgramExitsWhenMainReturns) {
  EXPECT_EXIT(gort::Main(0, nullptr, mainReturnsMain), ::testing::ExitedWithCode(0), "main done");
}

}  // namespace
