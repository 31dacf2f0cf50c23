// White-box tests of the run queues through the test seam (export_test.hpp):
// a P's local queue, its overflow into the global queue, and stealing.
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <vector>

#include "gort/runtime.hpp"
#include "runtime/export_test.hpp"

namespace {

using namespace gort::internal;
using namespace gort::internal::exported;

// Gs that are never run: the queues only hold their addresses.
struct FakeGs {
  explicit FakeGs(size_t n) : gs(new g[n]), n(n) {}
  g* operator[](size_t i) { return &gs[i]; }
  std::unique_ptr<g[]> gs;
  size_t n;
};

struct TestP {
  TestP() : pp(NewTestP()) {}
  ~TestP() { FreeTestP(pp); }
  p* pp;
};

std::vector<g*> drain(p* pp) {
  std::vector<g*> out;
  bool inherit = false;
  while (g* gp = RunqGet(pp, &inherit)) out.push_back(gp);
  return out;
}

TEST(Runq, LocalQueueIsFIFOAndRunnextGoesFirst) {
  TestP p;
  FakeGs gs(4);
  for (int i = 0; i < 3; i++) RunqPut(p.pp, gs[i], false);
  RunqPut(p.pp, gs[3], true);
  bool inherit = false;
  g* first = RunqGet(p.pp, &inherit);
  if (RandomizedScheduler()) {
    // Sanitizer builds may ignore `next`: then gs[3] simply queues last.
    EXPECT_TRUE(first == gs[3] || first == gs[0]);
  } else {
    EXPECT_EQ(first, gs[3]);
    EXPECT_TRUE(inherit) << "a G from runnext inherits the time slice";
  }
  std::vector<g*> rest = drain(p.pp);
  rest.insert(rest.begin(), first);
  std::multiset<g*> seen(rest.begin(), rest.end());
  EXPECT_EQ(seen, std::multiset<g*>({gs[0], gs[1], gs[2], gs[3]}));
  if (!RandomizedScheduler()) EXPECT_EQ(rest, std::vector<g*>({gs[3], gs[0], gs[1], gs[2]}));
}

TEST(Runq, AFullLocalQueueMovesHalfAndTheNewGToTheGlobalQueue) {
  gort::Run([] {
    stopTheWorld("runq test");
    std::vector<g*> saved = GlobalRunqTakeAll();
    {
      TestP p;
      FakeGs gs(kRunqSize + 1);
      for (uint32_t i = 0; i < kRunqSize; i++) RunqPut(p.pp, gs[i], false);
      EXPECT_EQ(RunqLen(p.pp), kRunqSize);
      EXPECT_TRUE(GlobalRunqTakeAll().empty()) << "a queue with room overflows nothing";
      RunqPut(p.pp, gs[kRunqSize], false);
      EXPECT_EQ(RunqLen(p.pp), kRunqSize / 2);
      std::vector<g*> moved = GlobalRunqTakeAll();
      // The older half, then the G that did not fit (shuffled when the
      // scheduler is randomised).
      std::vector<g*> want;
      for (uint32_t i = 0; i < kRunqSize / 2; i++) want.push_back(gs[i]);
      want.push_back(gs[kRunqSize]);
      ASSERT_EQ(moved.size(), want.size());
      if (RandomizedScheduler()) {
        EXPECT_EQ(std::multiset<g*>(moved.begin(), moved.end()), std::multiset<g*>(want.begin(), want.end()));
      } else {
        EXPECT_EQ(moved, want);
      }
      std::vector<g*> local;
      for (uint32_t i = kRunqSize / 2; i < kRunqSize; i++) local.push_back(gs[i]);
      EXPECT_EQ(drain(p.pp), local) << "the newer half stays, in order";
    }
    GlobalRunqPutAll(saved);
    startTheWorld();
  });
}

TEST(Runq, StealTakesHalfRoundedUpAndReturnsTheLastStolen) {
  for (uint32_t n = 1; n <= kRunqSize; n++) {
    TestP victim, thief;
    FakeGs gs(n);
    for (uint32_t i = 0; i < n; i++) RunqPut(victim.pp, gs[i], false);
    uint32_t take = n - n / 2;
    g* got = RunqSteal(thief.pp, victim.pp, false);
    ASSERT_EQ(got, gs[take - 1]) << "n=" << n;
    EXPECT_EQ(RunqLen(thief.pp), take - 1) << "n=" << n;
    EXPECT_EQ(RunqLen(victim.pp), n / 2) << "n=" << n;
    std::vector<g*> stolen = drain(thief.pp), left = drain(victim.pp);
    for (uint32_t i = 0; i + 1 < take; i++) EXPECT_EQ(stolen[i], gs[i]);
    for (uint32_t i = 0; i < n / 2; i++) EXPECT_EQ(left[i], gs[take + i]);
  }
}

TEST(Runq, StealTakesRunnextOnlyWhenAskedAndNothingElseIsQueued) {
  if (RandomizedScheduler()) GTEST_SKIP() << "runqput may ignore `next` in randomised (sanitizer) builds";
  TestP victim, thief;
  FakeGs gs(1);
  RunqPut(victim.pp, gs[0], true);
  EXPECT_EQ(RunqSteal(thief.pp, victim.pp, false), nullptr);
  EXPECT_EQ(RunqSteal(thief.pp, victim.pp, true), gs[0]);
  bool inherit = false;
  EXPECT_EQ(RunqGet(victim.pp, &inherit), nullptr);
}

}  // namespace
