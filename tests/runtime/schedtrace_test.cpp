// GODEBUG=schedtrace=N and scheddetail=1 (proc.cpp schedtrace): the line
// formats of Go 1.19's proc.go schedtrace, checked in a child running
// gort::Main. The Go program beside these expectations (a goroutine blocked
// on a channel while main sleeps) printed, with GODEBUG=schedtrace=10:
//   SCHED 0ms: gomaxprocs=2 idleprocs=2 threads=4 spinningthreads=0 idlethreads=2 runqueue=0 [0 0]
// and with scheddetail=1 the header plus "  P0: ...", "  M0: ...", "  G5: status=4(chan receive) ..."
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "gort/chan.hpp"
#include "gort/go.hpp"
#include "gort/runtime.hpp"
#include "gort/time.hpp"

namespace {

using ::testing::AllOf;
using ::testing::ContainsRegex;
using ::testing::Not;

class SchedTrace : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

// A goroutine blocked on a channel receive while main sleeps through a few
// trace periods.
void blockedReceiverMain() {
  auto ch = gort::make_chan<int>();
  gort::go([ch] { ch.recv(); });
  gort::time::Sleep(60 * gort::time::Millisecond);
}

void runTraced(const char* godebug) {
  setenv("GOMAXPROCS", "2", 1);
  setenv("GODEBUG", godebug, 1);
  gort::Main(0, nullptr, blockedReceiverMain);
}

const std::string kNum = "[0-9]+";
const std::string kId = "-?[0-9]+";
const std::string kBool = "(true|false)";

std::string header() {
  return "SCHED " + kNum + "ms: gomaxprocs=2 idleprocs=" + kNum + " threads=" + kNum + " spinningthreads=" + kNum +
         " idlethreads=" + kNum + " runqueue=" + kNum;
}

TEST_F(SchedTrace, OneLinePerPeriodWithPerPQueueLengths) {
  EXPECT_EXIT(runTraced("schedtrace=10"), ::testing::ExitedWithCode(0),
              AllOf(ContainsRegex("(^|\n)SCHED 0ms: gomaxprocs=2 "),  // the first line comes at once
                    ContainsRegex("(^|\n)" + header() + " \\[" + kNum + " " + kNum + "\\]\n" + header() + " \\[" +
                                  kNum + " " + kNum + "\\]\n"),
                    Not(ContainsRegex("  P0: |  M0: |  G1: "))));
}

TEST_F(SchedTrace, DetailListsEveryPMAndG) {
  const std::string p = "  P" + kNum + ": status=[0-4] schedtick=" + kNum + " syscalltick=" + kNum + " m=" + kId +
                        " runqsize=" + kNum + " gfreecnt=" + kNum + " timerslen=" + kNum + "\n";
  const std::string m = "  M" + kNum + ": p=" + kId + " curg=" + kId +
                        " mallocing=0 throwing=0 preemptoff= locks=" + kNum + " dying=0 spinning=" + kBool +
                        " blocked=" + kBool + " lockedg=" + kId + "\n";
  EXPECT_EXIT(runTraced("schedtrace=10,scheddetail=1"), ::testing::ExitedWithCode(0),
              AllOf(ContainsRegex(header() + " gcwaiting=" + kNum + " nmidlelocked=" + kNum + " stopwait=" + kNum +
                                  " sysmonwait=" + kNum + "\n" + p + p + "(" + m + ")+"),
                    ContainsRegex("\n  G1: status=[0-9]\\([^)]*\\) m=" + kId + " lockedm=" + kId + "\n"),
                    ContainsRegex("\n  G2: status=4\\(chan receive\\) m=-1 lockedm=-1\n"),
                    Not(ContainsRegex("\\[" + kNum + " " + kNum + "\\]\n"))));
}

TEST_F(SchedTrace, OffByDefaultAndForMalformedPeriods) {
  for (const char* v : {"", "schedtrace=x", "schedtrace=-5", "scheddetail=1"}) {
    EXPECT_EXIT(
        {
          setenv("GODEBUG", v, 1);
          gort::Main(0, nullptr, blockedReceiverMain);
        },
        ::testing::ExitedWithCode(0), Not(ContainsRegex("SCHED")))
        << "GODEBUG=" << v;
  }
}

}  // namespace
