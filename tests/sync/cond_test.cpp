// Tests of sync::Cond, porting Go's sync/cond_test.go (TestCondSignal,
// TestCondSignalGenerations, TestCondBroadcast, TestRace,
// TestCondSignalStealing); TestCondCopy has no port: copying a Cond does
// not compile.
#include <atomic>
#include <type_traits>
#include <vector>

#include "gort/chan.hpp"
#include "gort/go.hpp"
#include "gort/select.hpp"
#include "gort/sync.hpp"
#include "gort/time.hpp"
#include "sync/sync_test.hpp"

namespace {

using gort::sync::Cond;
using gort::sync::Mutex;
using gort::sync::RWMutex;
using gort::sync::WaitGroup;

static_assert(!std::is_copy_constructible_v<Cond> && !std::is_copy_assignable_v<Cond>,
              "Go's copy check, made at compile time");

class CondTest : public synctest::SyncTest {};
SYNC_INSTANTIATE(CondTest);

// Go's TestCondSignal.
TEST_P(CondTest, Signal) {
  gort::Run([] {
    Mutex m;
    Cond c(&m);
    constexpr int n = 2;
    auto running = gort::make_chan<bool>(n);
    auto awake = gort::make_chan<bool>(n);
    // The waiters still Unlock m after the awake the test waits for, so the
    // test joins them before m goes out of scope (see sync_test.hpp).
    WaitGroup exited;
    exited.Add(n);
    for (int i = 0; i < n; i++) {
      gort::go([&] {
        m.Lock();
        running.send(true);
        c.Wait();
        awake.send(true);
        m.Unlock();
        exited.Done();
      });
    }
    for (int i = 0; i < n; i++) running.recv();  // Wait for everyone to run.
    for (int left = n; left > 0; left--) {
      gort::select(gort::recv(awake, [] { ADD_FAILURE() << "goroutine not asleep"; }), gort::default_([] {}));
      m.Lock();
      c.Signal();
      m.Unlock();
      awake.recv();  // Will deadlock if no goroutine wakes up
      gort::select(gort::recv(awake, [] { ADD_FAILURE() << "too many goroutines awake"; }), gort::default_([] {}));
    }
    c.Signal();
    exited.Wait();
  });
}

// Go's TestCondSignalGenerations: Signal wakes waiters in the order they
// started waiting.
TEST_P(CondTest, SignalGenerations) {
  gort::Run([] {
    Mutex m;
    auto c = gort::sync::NewCond(&m);
    constexpr int n = 100;
    auto running = gort::make_chan<bool>(n);
    auto awake = gort::make_chan<int>(n);
    WaitGroup exited;  // as in Signal: m outlives its last Unlock
    exited.Add(n);
    for (int i = 0; i < n; i++) {
      gort::go([&, i] {
        m.Lock();
        running.send(true);
        c->Wait();
        awake.send(i);
        m.Unlock();
        exited.Done();
      });
      if (i > 0) {
        int a = awake.recv();
        EXPECT_EQ(a, i - 1) << "wrong goroutine woke up";
      }
      running.recv();
      m.Lock();
      c->Signal();
      m.Unlock();
    }
    EXPECT_EQ(awake.recv(), n - 1);
    exited.Wait();
  });
}

// Go's TestCondBroadcast: repeated rounds, each Broadcast wakes all.
TEST_P(CondTest, Broadcast) {
  gort::Run([] {
    Mutex m;
    Cond c(&m);
    constexpr int n = 200;
    auto running = gort::make_chan<int>(n);
    auto awake = gort::make_chan<int>(n);
    std::atomic<bool> exit{false};
    WaitGroup wg;
    wg.Add(n);
    for (int i = 0; i < n; i++) {
      gort::go([&, i] {
        m.Lock();
        while (!exit) {
          running.send(i);
          c.Wait();
          awake.send(i);
        }
        m.Unlock();
        wg.Done();
      });
    }
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) running.recv();  // Will deadlock unless n are running.
      if (i == n - 1) {
        m.Lock();
        exit = true;
        m.Unlock();
      }
      gort::select(gort::recv(awake, [] { ADD_FAILURE() << "goroutine not asleep"; }), gort::default_([] {}));
      m.Lock();
      c.Broadcast();
      m.Unlock();
      std::vector<bool> seen(n);
      for (int j = 0; j < n; j++) {
        int g = awake.recv();
        EXPECT_FALSE(seen[g]) << "goroutine woke up twice";
        seen[g] = true;
      }
    }
    gort::select(gort::recv(running, [] { ADD_FAILURE() << "goroutine did not exit"; }), gort::default_([] {}));
    c.Broadcast();
    wg.Wait();
  });
}

// Go's TestRace: three goroutines pass a value around under a Cond.
TEST_P(CondTest, Race) {
  gort::Run([] {
    int x = 0;
    Mutex m;
    Cond c(&m);
    auto done = gort::make_chan<bool>();
    gort::go([&] {
      c.L.Lock();
      x = 1;
      c.Wait();
      EXPECT_EQ(x, 2) << "want 2";
      x = 3;
      c.Signal();
      c.L.Unlock();
      done.send(true);
    });
    gort::go([&] {
      c.L.Lock();
      for (;;) {
        if (x == 1) {
          x = 2;
          c.Signal();
          break;
        }
        c.L.Unlock();
        gort::runtime::Gosched();
        c.L.Lock();
      }
      c.L.Unlock();
      done.send(true);
    });
    gort::go([&] {
      c.L.Lock();
      for (;;) {
        if (x == 2) {
          c.Wait();
          EXPECT_EQ(x, 3) << "want 3";
          break;
        }
        if (x == 3) break;
        c.L.Unlock();
        gort::runtime::Gosched();
        c.L.Lock();
      }
      c.L.Unlock();
      done.send(true);
    });
    done.recv();
    done.recv();
    done.recv();
  });
}

// Go's TestCondSignalStealing: a Signal meant for a waiter already queued
// must not be taken by a goroutine that starts waiting after it.
TEST_P(CondTest, SignalStealing) {
  gort::Run([] {
    for (int iters = 0; iters < 200 / synctest::kScale; iters++) {
      Mutex m;
      Cond cond(&m);
      // Start a waiter.
      auto ch = gort::make_chan<bool>();
      gort::go([&] {
        m.Lock();
        ch.send(true);
        cond.Wait();
        m.Unlock();
        ch.send(true);
      });
      ch.recv();
      m.Lock();
      m.Unlock();
      // We know that the waiter is in the cond.Wait() call because we
      // synchronized with it, then acquired/released the mutex it was
      // holding when we synchronized.
      //
      // Start two goroutines that will race: one will broadcast on the cond
      // var, the other will wait on it.
      //
      // The new waiter may or may not get notified, but the first one has
      // to be notified.
      std::atomic<bool> done{false};
      WaitGroup wg;
      wg.Add(2);
      gort::go([&] {
        cond.Broadcast();
        wg.Done();
      });
      gort::go([&] {
        m.Lock();
        while (!done) cond.Wait();
        m.Unlock();
        wg.Done();
      });
      // Check that the first waiter does get signaled.
      bool got = false;
      gort::select(gort::recv(ch, [&] { got = true; }),
                   gort::recv(gort::time::After(2 * gort::time::Second), [] {}));
      EXPECT_TRUE(got) << "First waiter didn't get broadcast.";
      // Release the second waiter in case it didn't get the broadcast.
      m.Lock();
      done = true;
      m.Unlock();
      cond.Broadcast();
      wg.Wait();
    }
  });
}

// Cond over an RWMutex's read lock (notifyListAdd runs concurrently then).
TEST_P(CondTest, RLockerWaiters) {
  gort::Run([] {
    RWMutex rw;
    Cond c(rw.RLocker());
    bool ready = false;  // written under the write lock
    WaitGroup wg;
    const int n = 20;
    std::atomic<int> waiting{0};
    for (int i = 0; i < n; i++) {
      wg.Add(1);
      gort::go([&] {
        c.L.Lock();
        waiting++;
        while (!ready) c.Wait();
        c.L.Unlock();
        wg.Done();
      });
    }
    while (waiting.load() < n) gort::runtime::Gosched();
    rw.Lock();
    ready = true;
    rw.Unlock();
    c.Broadcast();
    wg.Wait();
  });
}

}  // namespace
