// Tests of sync::WaitGroup, porting Go's sync/waitgroup_test.go
// (TestWaitGroup, TestWaitGroupMisuse, TestWaitGroupRace) and a
// deterministic form of the reuse misuse of TestWaitGroupMisuse2.
#include <atomic>
#include <string>
#include <thread>

#include "gort/chan.hpp"
#include "gort/go.hpp"
#include "gort/panic.hpp"
#include "gort/select.hpp"
#include "gort/sync.hpp"
#include "gort/time.hpp"
#include "sync/sync_test.hpp"

namespace {

using gort::runtime::Gosched;
using gort::sync::WaitGroup;
using synctest::kScale;

class WaitGroupTest : public synctest::SyncTest {};
SYNC_INSTANTIATE(WaitGroupTest);

// Go's testWaitGroup: wg1 releases the main goroutine only after all n
// Dones, and wg2's waiters stay parked until its last Done.
void testWaitGroup(WaitGroup& wg1, WaitGroup& wg2) {
  constexpr int n = 16;
  wg1.Add(n);
  wg2.Add(n);
  auto exited = gort::make_chan<bool>(n);
  for (int i = 0; i != n; i++) {
    gort::go([&] {
      wg1.Done();
      wg2.Wait();
      exited.send(true);
    });
  }
  wg1.Wait();
  for (int i = 0; i != n; i++) {
    gort::select(gort::recv(exited, [] { ADD_FAILURE() << "WaitGroup released group too soon"; }),
                 gort::default_([] {}));
    wg2.Done();
  }
  for (int i = 0; i != n; i++) exited.recv();  // will block if barrier fails to unlock someone
}

TEST_P(WaitGroupTest, WaitGroup) {
  gort::Run([] {
    WaitGroup wg1, wg2;
    // Run the same test a few times to ensure barrier is in a proper state.
    for (int i = 0; i != 8; i++) testWaitGroup(wg1, wg2);
  });
}

// Go's TestWaitGroupMisuse: a negative counter panics with Go's message,
// and the panic is recoverable.
TEST_P(WaitGroupTest, NegativeCounterPanics) {
  gort::Run([] {
    WaitGroup wg;
    wg.Add(1);
    wg.Done();
    std::string got;
    gort::func([&](gort::Defer& defer) {
      defer([&] {
        gort::any r = gort::recover();
        if (auto [s, ok] = gort::as2<std::string>(r); ok) got = s;
      });
      wg.Done();
    });
    EXPECT_EQ(got, "sync: negative WaitGroup counter");
  });
}

// Go's TestWaitGroupRace: Done happens before Wait returns (plain writes,
// checked under TSan).
TEST_P(WaitGroupTest, Race) {
  gort::Run([] {
    for (int i = 0; i < 1000 / kScale; i++) {
      WaitGroup wg;
      std::atomic<int> n{0};
      int plain1 = 0, plain2 = 0;
      wg.Add(2);
      gort::go([&] {
        plain1 = 1;
        n++;
        wg.Done();
      });
      gort::go([&] {
        plain2 = 1;
        n++;
        wg.Done();
      });
      wg.Wait();
      ASSERT_EQ(n.load(), 2) << "Spurious wakeup from Wait";
      ASSERT_EQ(plain1 + plain2, 2);
    }
  });
}

// Many waiters on one WaitGroup are all released, and it is reusable.
TEST_P(WaitGroupTest, ManyWaiters) {
  gort::Run([] {
    WaitGroup gate, done;
    for (int round = 0; round < 5; round++) {
      gate.Add(1);
      const int waiters = 200 / kScale;
      done.Add(waiters);
      for (int i = 0; i < waiters; i++) {
        gort::go([&] {
          gate.Wait();
          done.Done();
        });
      }
      for (int i = 0; i < 5; i++) Gosched();
      gate.Done();
      done.Wait();
    }
  });
}

// Threads outside the scheduler may wait too: a WaitGroup, a contended
// Mutex and a Cond, each released by goroutines.
TEST_P(WaitGroupTest, PlainThreadsWaitOnBorrowedGoroutines) {
  WaitGroup wg;
  gort::sync::Mutex mu;
  gort::sync::Cond cond(&mu);
  bool ready = false;
  int total = 0;
  wg.Add(4);
  mu.Lock();  // held by this plain thread, released by a goroutine below
  std::thread waiter([&] {
    wg.Wait();
    mu.Lock();  // contended until the goroutine unlocks
    while (!ready) cond.Wait();
    total += 100;
    mu.Unlock();
  });
  for (int i = 0; i < 4; i++) {
    gort::go([&] {
      gort::time::Sleep(gort::time::Millisecond);
      wg.Done();
    });
  }
  auto released = gort::make_chan<int>();
  gort::go([&] {
    gort::time::Sleep(5 * gort::time::Millisecond);
    total = 1;
    ready = true;
    mu.Unlock();  // Go's Mutex is not tied to a goroutine or thread
    cond.Broadcast();
    released.send(0);
  });
  released.recv();
  waiter.join();
  mu.Lock();
  EXPECT_EQ(total, 101);
  mu.Unlock();
}

// Go prints, for the equivalent program:
//   panic: sync: WaitGroup is reused before previous Wait has returned
// At GOMAXPROCS=1 the interleaving is deterministic: Done readies the waiter
// into runnext but keeps running, and Add(1) restarts the WaitGroup before
// the waiter looks at it.
using WaitGroupDeathTest = synctest::SyncDeathTest;
TEST_F(WaitGroupDeathTest, ReusedBeforeWaitReturned) {
  EXPECT_EXIT(
      {
        setenv("GOMAXPROCS", "1", 1);
        gort::Main(0, nullptr, +[] {
          static WaitGroup wg;
          static std::atomic<bool> waiting{false};
          wg.Add(1);
          gort::go([] {
            waiting = true;
            wg.Wait();
          });
          while (!waiting) Gosched();
          Gosched();  // it parks in Wait
          wg.Done();
          wg.Add(1);
          // The panic ends the process; main must not return first.
          gort::time::Sleep(10 * gort::time::Second);
        });
      },
      ::testing::ExitedWithCode(2), "panic: sync: WaitGroup is reused before previous Wait has returned");
}

}  // namespace
