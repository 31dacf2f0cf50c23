// Deadlock detection (proc.cpp checkdead), compared with Go 1.19.
//
// Each case is the C++ twin of a Go program in tests/golden/<name>.go; the
// child runs it under gort::Main and must die as Go did: the same exit
// status and the same skeleton of the output, which is
//   - every line before the first goroutine header (the fatal error),
//   - the header of the goroutine printed first, id and wait reason exactly
//     ("goroutine 1 [chan receive]:"),
//   - the headers of the other goroutines as a multiset (ids other than 1
//     masked; Go and gort number helper goroutines differently),
//   - and at least one frame under every header.
// The frames themselves differ by nature (C++ function names and files).
// The golden files come from scripts/golden.sh (Go 1.19); this test only
// reads them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "gort/chan.hpp"
#include "gort/go.hpp"
#include "gort/runtime.hpp"
#include "gort/select.hpp"
#include "gort/signal.hpp"
#include "gort/sync.hpp"
#include "gort/time.hpp"

namespace {

// ---- the programs (twins of tests/golden/*.go) ------------------------------------
//
// A blocking call in tail position would become a jump (the caller's frame
// gone from the stack, unlike Go's); reached() after it keeps the frame.

[[gnu::noinline]] void reached() { std::fprintf(stderr, "unreachable\n"); }

void deadlock_chan_recv() {
  auto c = gort::make_chan<int>();
  c.recv();
}

void deadlock_chan_send() {
  auto c = gort::make_chan<int>();
  c.send(1);
}

void deadlock_nil_chan() {
  gort::chan<int> c;
  c.recv();
}

void deadlock_select_no_cases() { gort::select(); }

void deadlock_select() {
  auto a = gort::make_chan<int>();
  auto b = gort::make_chan<std::string>();
  gort::select(gort::recv(a), gort::send(b, std::string("x")));
}

void deadlock_mutex() {
  static gort::sync::Mutex mu;
  mu.Lock();
  mu.Lock();
  reached();
}

void deadlock_waitgroup() {
  static gort::sync::WaitGroup wg;
  auto c = gort::make_chan<int>();
  for (int i = 0; i < 2; i++) {
    wg.Add(1);
    gort::go([c] {
      c.recv();
      wg.Done();
    });
  }
  wg.Wait();
}

void deadlock_cond() {
  static gort::sync::Mutex mu;
  static gort::sync::Cond cond(&mu);
  mu.Lock();
  cond.Wait();
  reached();
}

void goexit_alone() { gort::runtime::Goexit(); }

void goexit_then_deadlock() {
  auto c = gort::make_chan<int>();
  gort::go([c] {
    gort::time::Sleep(10 * gort::time::Millisecond);
    c.recv();
  });
  gort::runtime::Goexit();
}

// ---- golden comparison ------------------------------------------------------------

struct Golden {
  int exitCode = -1;
  std::string output;
};

Golden readGolden(const std::string& name) {
  std::ifstream in(std::string(GORT_GOLDEN_DIR) + "/" + name + ".golden");
  Golden g;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("#", 0) == 0) continue;
    if (g.exitCode < 0 && line.rfind("exit ", 0) == 0) {
      g.exitCode = std::stoi(line.substr(5));
      continue;
    }
    g.output += line + "\n";
  }
  return g;
}

struct Skeleton {
  std::vector<std::string> preamble;       // lines before the first header
  std::string first;                       // first goroutine header
  std::vector<std::string> others;         // other headers, sorted
  std::vector<std::string> frameless;      // headers with no frame under them
};

std::string maskHeader(const std::string& line) {
  static const std::regex id("^goroutine ([0-9]+|N) \\[([^\\]]*)\\]:$");
  static const std::regex minutes(", [0-9]+ minutes");
  std::smatch m;
  if (!std::regex_match(line, m, id)) return "";
  std::string reason = std::regex_replace(m[2].str(), minutes, "");
  return "goroutine " + (m[1] == "1" ? std::string("1") : std::string("N")) + " [" + reason + "]:";
}

Skeleton skeletonOf(const std::string& text) {
  Skeleton s;
  std::istringstream in(text);
  std::string line, current;
  bool sawHeader = false, sawFrame = false;
  auto close = [&] {
    if (sawHeader && !sawFrame) s.frameless.push_back(current);
  };
  while (std::getline(in, line)) {
    std::string header = maskHeader(line);
    if (!header.empty()) {
      close();
      if (sawHeader) {
        s.others.push_back(header);
      } else {
        s.first = header;
      }
      sawHeader = true;
      sawFrame = false;
      current = header;
    } else if (!sawHeader) {
      s.preamble.push_back(line);
    } else if (!line.empty()) {
      sawFrame = true;
    }
  }
  close();
  std::sort(s.others.begin(), s.others.end());
  return s;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) out += "    " + s + "\n";
  return out;
}

MATCHER_P(MatchesGoldenSkeleton, golden, "output with the golden skeleton of " + std::string(golden)) {
  Skeleton want = skeletonOf(readGolden(golden).output), got = skeletonOf(arg);
  bool ok = true;
  if (got.preamble != want.preamble) {
    *result_listener << "\n  preamble differs; want:\n" << join(want.preamble) << "  got:\n" << join(got.preamble);
    ok = false;
  }
  if (got.first != want.first) {
    *result_listener << "\n  first goroutine: want '" << want.first << "', got '" << got.first << "'";
    ok = false;
  }
  if (got.others != want.others) {
    *result_listener << "\n  other goroutines; want:\n" << join(want.others) << "  got:\n" << join(got.others);
    ok = false;
  }
  if (!got.frameless.empty()) {
    *result_listener << "\n  goroutines printed without frames:\n" << join(got.frameless);
    ok = false;
  }
  return ok;
}

struct Case {
  const char* name;
  void (*program)();
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class Deadlock : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_P(Deadlock, DiesAsGoDoes) {
  const Case& c = GetParam();
  Golden golden = readGolden(c.name);
  ASSERT_GE(golden.exitCode, 0) << "missing or malformed " << GORT_GOLDEN_DIR << "/" << c.name << ".golden";
  EXPECT_EXIT(
      {
        unsetenv("GOTRACEBACK");
        gort::Main(0, nullptr, c.program);
      },
      ::testing::ExitedWithCode(golden.exitCode), MatchesGoldenSkeleton(c.name));
}

#define GORT_CASE(name) Case{#name, name}
INSTANTIATE_TEST_SUITE_P(Golden, Deadlock,
                         ::testing::Values(GORT_CASE(deadlock_chan_recv), GORT_CASE(deadlock_chan_send),
                                           GORT_CASE(deadlock_nil_chan), GORT_CASE(deadlock_select_no_cases),
                                           GORT_CASE(deadlock_select), GORT_CASE(deadlock_mutex),
                                           GORT_CASE(deadlock_waitgroup), GORT_CASE(deadlock_cond),
                                           GORT_CASE(goexit_alone), GORT_CASE(goexit_then_deadlock)),
                         [](const ::testing::TestParamInfo<Case>& info) { return std::string(info.param.name); });
#undef GORT_CASE

// The exact text of the common case, independent of the golden files.
TEST(DeadlockMessage, ExactFirstLines) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(gort::Main(0, nullptr, deadlock_chan_recv), ::testing::ExitedWithCode(2),
              ::testing::StartsWith("fatal error: all goroutines are asleep - deadlock!\n\n"
                                    "goroutine 1 [chan receive]:\n"));
  EXPECT_EXIT(gort::Main(0, nullptr, goexit_alone), ::testing::ExitedWithCode(2),
              ::testing::StrEq("fatal error: no goroutines (main called runtime.Goexit) - deadlock!\n"));
}

void ignoreThenRecv() {
  gort::signal::Ignore({SIGINT});
  auto c = gort::make_chan<int>();
  c.recv();
}

// Only Notify starts watching signals (which keeps checkdead quiet, see
// signal_test's children): after Ignore alone, Go 1.19 still reports the
// deadlock.
TEST(DeadlockMessage, IgnoreAloneStillDeadlocks) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(gort::Main(0, nullptr, ignoreThenRecv), ::testing::ExitedWithCode(2),
              ::testing::StartsWith("fatal error: all goroutines are asleep - deadlock!\n\n"
                                    "goroutine 1 [chan receive]:\n"));
}

// The golden matcher itself: a skeleton mismatch must be caught.
TEST(DeadlockMessage, SkeletonComparisonCatchesDifferences) {
  Skeleton want = skeletonOf(readGolden("deadlock_waitgroup").output);
  EXPECT_EQ(want.first, "goroutine 1 [semacquire]:");
  EXPECT_EQ(want.others, (std::vector<std::string>{"goroutine N [chan receive]:", "goroutine N [chan receive]:"}));
  Skeleton wrong = skeletonOf(
      "fatal error: all goroutines are asleep - deadlock!\n\ngoroutine 1 [chan receive]:\nf()\n\t<file>\n");
  EXPECT_NE(wrong.first, want.first);
  EXPECT_EQ(wrong.preamble, want.preamble);
}

}  // namespace
