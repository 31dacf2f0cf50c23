// Package context tests (in the spirit of context/context_test.go): trees
// of cancelable, deadline and value contexts; propagation to children;
// Done usable in select; Go's error values and messages.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <vector>

#include "gort/context.hpp"
#include "gort/go.hpp"
#include "gort/runtime.hpp"
#include "gort/select.hpp"
#include "gort/time.hpp"
#include "support/procs_test.hpp"

namespace {

namespace context = gort::context;
namespace time = gort::time;
using context::Context;

bool isDone(const Context& c) { return c.Done().try_recv().has_value(); }

class ContextTest : public gorttest::ProcsTest {};

TEST(Context, ErrorsAndNames) {
  EXPECT_EQ(context::Canceled.Error(), "context canceled");
  EXPECT_EQ(context::DeadlineExceeded.Error(), "context deadline exceeded");
  EXPECT_TRUE(context::DeadlineExceeded.Timeout());
  EXPECT_FALSE(context::Canceled.Timeout());
  EXPECT_EQ(context::Background().String(), "context.Background");
  EXPECT_EQ(context::TODO().String(), "context.TODO");
  EXPECT_FALSE(bool(context::Background().Done()));
  EXPECT_FALSE(context::Background().Err());
  EXPECT_FALSE(context::Background().Deadline().second);
}

TEST_P(ContextTest, CancelPropagatesDownNotUp) {
  gort::Run([] {
    auto [root, cancelRoot] = context::WithCancel(context::Background());
    auto [mid, cancelMid] = context::WithCancel(root);
    static const int key = 0;
    Context val = context::WithValue(mid, &key, std::any(42));
    auto [leaf, cancelLeaf] = context::WithCancel(val);
    auto [sibling, cancelSibling] = context::WithCancel(root);
    EXPECT_EQ(leaf.String(), "context.Background.WithCancel.WithCancel.WithValue(type context.Key, val <not Stringer>).WithCancel");
    EXPECT_EQ(std::any_cast<int>(leaf.Value(&key)), 42);
    EXPECT_FALSE(leaf.Value(&cancelRoot).has_value());

    cancelMid();
    EXPECT_TRUE(isDone(mid));
    EXPECT_TRUE(isDone(val));
    EXPECT_TRUE(isDone(leaf));
    EXPECT_TRUE(leaf.Err() == context::Canceled);
    EXPECT_FALSE(isDone(root));
    EXPECT_FALSE(isDone(sibling));
    EXPECT_FALSE(root.Err());
    cancelMid();  // idempotent

    // A child of a canceled context is born canceled.
    auto [late, cancelLate] = context::WithCancel(leaf);
    EXPECT_TRUE(isDone(late));
    cancelRoot();
    EXPECT_TRUE(isDone(sibling));
    cancelLeaf();
    cancelSibling();
    cancelLate();
  });
}

TEST_P(ContextTest, DoneWakesWaitersInSelect) {
  gort::Run([] {
    auto [ctx, cancel] = context::WithCancel(context::Background());
    constexpr int kN = 20;
    std::atomic<int> woke{0};
    for (int i = 0; i < kN; i++) {
      gort::go([ctx = ctx, &woke] {
        auto never = gort::make_chan<int>();
        gort::select(gort::recv(ctx.Done(), [&] { woke.fetch_add(1); }), gort::recv(never, [](int) {}));
      });
    }
    time::Sleep(5 * time::Millisecond);
    EXPECT_EQ(woke.load(), 0);
    cancel();
    for (int i = 0; i < 2000 && woke.load() < kN; i++) time::Sleep(time::Millisecond);
    EXPECT_EQ(woke.load(), kN);
  });
}

TEST_P(ContextTest, TimeoutsAndDeadlines) {
  gort::Run([] {
    time::Time t0 = time::Now();
    auto [ctx, cancel] = context::WithTimeout(context::Background(), 20 * time::Millisecond);
    auto [dl, ok] = ctx.Deadline();
    EXPECT_TRUE(ok);
    EXPECT_TRUE(dl.After(t0));
    auto [child, cancelChild] = context::WithTimeout(ctx, time::Hour);  // parent's deadline wins
    EXPECT_TRUE(child.Deadline().first.Equal(dl));
    ctx.Done().recv();
    EXPECT_GE(time::Since(t0), 20 * time::Millisecond);
    EXPECT_TRUE(ctx.Err() == context::DeadlineExceeded);
    EXPECT_TRUE(ctx.Err().Timeout());
    EXPECT_TRUE(isDone(child));
    EXPECT_TRUE(child.Err() == context::DeadlineExceeded);
    cancel();  // after expiry: Err stays DeadlineExceeded
    EXPECT_TRUE(ctx.Err() == context::DeadlineExceeded);
    cancelChild();

    // Canceled before the deadline: Canceled, and the timer is stopped.
    auto [c2, cancel2] = context::WithTimeout(context::Background(), time::Hour);
    cancel2();
    EXPECT_TRUE(c2.Err() == context::Canceled);
    // A deadline in the past expires at once.
    auto [c3, cancel3] = context::WithDeadline(context::Background(), time::Now().Add(-time::Second));
    EXPECT_TRUE(isDone(c3));
    EXPECT_TRUE(c3.Err() == context::DeadlineExceeded);
    cancel3();
  });
}

// A wide tree canceled from the root while goroutines create and cancel
// subtrees concurrently.
TEST_P(ContextTest, ConcurrentTreeCancel) {
  gort::Run([] {
    auto [root, cancelRoot] = context::WithCancel(context::Background());
    constexpr int kWorkers = 16;
    std::atomic<int> finished{0};
    for (int w = 0; w < kWorkers; w++) {
      gort::go([root = root, &finished] {
        std::vector<context::CancelFunc> cancels;
        Context cur = root;
        for (int i = 0; i < 50; i++) {
          auto [c, cancel] = i % 3 == 0 ? context::WithTimeout(cur, time::Duration(int64_t(i) * 100000))
                                        : context::WithCancel(cur);
          cancels.push_back(cancel);
          if (i % 5 == 0) cur = c;
        }
        cur.Done().recv();
        for (auto& c : cancels) c();
        finished.fetch_add(1);
      });
    }
    time::Sleep(2 * time::Millisecond);
    cancelRoot();
    for (int i = 0; i < 3000 && finished.load() < kWorkers; i++) time::Sleep(time::Millisecond);
    EXPECT_EQ(finished.load(), kWorkers);
  });
}

// Go's valueCtx.String: the key's type, and the value when it is a string
// or a Stringer.
TEST(Context, WithValueStringShowsTheValue) {
  static const int key = 0;
  Context bg = context::Background();
  EXPECT_EQ(context::WithValue(bg, &key, std::string("v1")).String(),
            "context.Background.WithValue(type context.Key, val v1)");
  EXPECT_EQ(context::WithValue(bg, &key, std::any(1500 * time::Millisecond)).String(),
            "context.Background.WithValue(type context.Key, val 1.5s)");
  EXPECT_EQ(context::WithValue(bg, &key, std::any(7)).String(),
            "context.Background.WithValue(type context.Key, val <not Stringer>)");
  EXPECT_EQ(context::WithValue(bg, &key, std::any()).String(),
            "context.Background.WithValue(type context.Key, val <nil>)");
}

// Go cancels, queries and frees chains 100000 deep; on a goroutine's
// fixed stack nothing may recurse along the chain (it overflowed at 1500).
TEST_P(ContextTest, DeepChainsCancelQueryAndFree) {
  gort::Run([] {
    constexpr int kDepth = 100000;
    static const int key = 0;
    auto [root, cancelRoot] = context::WithTimeout(context::Background(), time::Hour);
    Context leaf = context::WithValue(root, &key, std::any(std::string("deep")));
    std::vector<context::CancelFunc> cancels;
    for (int i = 0; i < kDepth; i++) {
      auto [c, cancel] = context::WithCancel(leaf);
      leaf = i % 3 ? c : context::WithValue(c, &cancels, std::any(i));
      cancels.push_back(cancel);
    }
    EXPECT_EQ(std::any_cast<std::string>(leaf.Value(&key)), "deep");
    EXPECT_TRUE(leaf.Deadline().second);
    EXPECT_FALSE(isDone(leaf));
    cancelRoot();
    EXPECT_TRUE(isDone(leaf));
    EXPECT_EQ(leaf.Err(), context::Canceled);
    leaf = Context();
    cancels.clear();  // the last references: the chain is freed here
  });
}

INSTANTIATE_TEST_SUITE_P(Procs, ContextTest, ::testing::Values(1, 2, 4, 8));

}  // namespace
