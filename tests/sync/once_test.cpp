// Tests of sync::Once, porting Go's sync/once_test.go (TestOnce,
// TestOncePanic) plus the happens-before promise at several P counts.
#include <atomic>
#include <stdexcept>

#include "gort/chan.hpp"
#include "gort/go.hpp"
#include "gort/sync.hpp"
#include "sync/sync_test.hpp"

namespace {

using gort::sync::Once;
using gort::sync::WaitGroup;

class OnceTest : public synctest::SyncTest {};
SYNC_INSTANTIATE(OnceTest);

// Go's TestOnce: ten goroutines call Do; f runs once and every Do returns
// after it.
TEST_P(OnceTest, Once) {
  gort::Run([] {
    int o = 0;
    Once once;
    auto c = gort::make_chan<bool>();
    std::atomic<int> bad{0};
    for (int i = 0; i < 10; i++) {
      gort::go([&] {
        once.Do([&] { o++; });
        if (o != 1) bad++;
        c.send(true);
      });
    }
    for (int i = 0; i < 10; i++) c.recv();
    EXPECT_EQ(o, 1);
    EXPECT_EQ(bad.load(), 0);
  });
}

// Go's TestOncePanic: f that panics (throws) still counts as done.
TEST_P(OnceTest, ThrowingFunctionCountsAsDone) {
  gort::Run([] {
    Once once;
    EXPECT_THROW(once.Do([] { throw std::runtime_error("failed"); }), std::runtime_error);
    once.Do([] { ADD_FAILURE() << "Once.Do called twice"; });
  });
}

// Slow f, many callers: none returns before f's writes are visible; a plain
// (non-atomic) write proves the edge under TSan.
TEST_P(OnceTest, EveryDoReturnsAfterF) {
  gort::Run([] {
    for (int round = 0; round < 20; round++) {
      Once once;
      long value = 0;
      std::atomic<int> bad{0};
      WaitGroup wg;
      for (int i = 0; i < 8; i++) {
        wg.Add(1);
        gort::go([&] {
          once.Do([&] {
            for (int k = 0; k < 3; k++) gort::runtime::Gosched();
            value = 42;
          });
          if (value != 42) bad++;
          wg.Done();
        });
      }
      wg.Wait();
      EXPECT_EQ(bad.load(), 0);
    }
  });
}

// Do accepts plain functions and function objects, by reference or value.
int calls = 0;
void bump() { calls++; }
TEST_P(OnceTest, Callables) {
  gort::Run([] {
    calls = 0;
    Once a, b;
    a.Do(bump);
    a.Do(bump);
    struct F {
      void operator()() const { calls += 10; }
    } f;
    b.Do(f);
    b.Do(F{});
    EXPECT_EQ(calls, 11);
  });
}

}  // namespace
