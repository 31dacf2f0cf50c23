// os/signal tests (ports of os/signal/signal_test.go's semantic cases:
// TestSignal, TestStress-style repeated delivery, TestStop, TestIgnored,
// TestReset, TestNotifyNil-like misuse), in process where a signal's
// default action would not end the test, in a child otherwise; and the
// default dispositions of Go's os/signal table, each checked against Go 1.19
// (a Go twin sent the same signal by kill).
//
// Children: death tests (EXPECT_EXIT) where the child signals itself; where
// a parent must watch the child idle and signal it from outside, the child
// is this binary again running one DISABLED_SignalChild test (Child below,
// tests/support/child.hpp).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "gort/chan.hpp"
#include "gort/go.hpp"
#include "gort/runtime.hpp"
#include "gort/signal.hpp"
#include "gort/time.hpp"
#include "support/child.hpp"

namespace {

using gort::os::Signal;

// Waits up to ~2 s for a value on c.
std::optional<Signal> waitSignal(const gort::chan<Signal>& c) {
  for (int i = 0; i < 2000; i++) {
    if (auto r = c.try_recv()) return r->first;
    usleep(1000);
    gort::runtime::Gosched();
  }
  return std::nullopt;
}

TEST(Signal, NamesMatchGo) {
  EXPECT_EQ(Signal{SIGINT}.String(), "interrupt");
  EXPECT_EQ(Signal{SIGTERM}.String(), "terminated");
  EXPECT_EQ(Signal{SIGHUP}.String(), "hangup");
  EXPECT_EQ(Signal{SIGUSR1}.String(), "user defined signal 1");
  EXPECT_EQ(Signal{64}.String(), "signal 64");
}

TEST(Signal, NotifiedSignalArrivesOnTheChannel) {
  gort::Run([] {
    auto c = gort::make_chan<Signal>(1);
    gort::signal::Notify(c, {SIGUSR1});
    raise(SIGUSR1);  // this thread: TSan runs handlers at its own sync points
    auto got = waitSignal(c);
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(*got, Signal{SIGUSR1});
    gort::signal::Stop(c);
  });
}

TEST(Signal, EveryRegisteredChannelReceivesAndNotifyAllCoversIt) {
  gort::Run([] {
    auto one = gort::make_chan<Signal>(1), all = gort::make_chan<Signal>(4);
    gort::signal::Notify(one, {SIGUSR2});
    gort::signal::Notify(all);
    raise(SIGUSR2);  // this thread: TSan runs handlers at its own sync points
    EXPECT_EQ(waitSignal(one), Signal{SIGUSR2});
    EXPECT_EQ(waitSignal(all), Signal{SIGUSR2});
    gort::signal::Stop(one);
    gort::signal::Stop(all);
  });
}

TEST(Signal, DeliveryNeverBlocksOnAFullChannel) {
  gort::Run([] {
    auto c = gort::make_chan<Signal>(1);
    gort::signal::Notify(c, {SIGUSR1});
    for (int i = 0; i < 50; i++) {
      raise(SIGUSR1);  // this thread: TSan runs handlers at its own sync points
      usleep(200);
    }
    // One buffered, the rest dropped; nothing is stuck.
    EXPECT_TRUE(waitSignal(c).has_value());
    raise(SIGUSR1);  // this thread: TSan runs handlers at its own sync points
    EXPECT_TRUE(waitSignal(c).has_value());
    gort::signal::Stop(c);
  });
}

// As in Go 1.19, Reset undoes Notify only: an ignored signal stays ignored
// until a Notify.
TEST(Signal, IgnoreAndIgnored) {
  gort::signal::Ignore({SIGUSR2});
  EXPECT_TRUE(gort::signal::Ignored(Signal{SIGUSR2}));
  raise(SIGUSR2);
  usleep(10000);
  gort::signal::Reset({SIGUSR2});
  EXPECT_TRUE(gort::signal::Ignored(Signal{SIGUSR2}));
  gort::Run([] {
    auto c = gort::make_chan<Signal>(1);
    gort::signal::Notify(c, {SIGUSR2});
    EXPECT_FALSE(gort::signal::Ignored(Signal{SIGUSR2}));
    raise(SIGUSR2);  // this thread: TSan runs handlers at its own sync points
    EXPECT_EQ(waitSignal(c), Signal{SIGUSR2});
    gort::signal::Stop(c);
  });
}

TEST(Signal, NotifyNilChannelIsAnError) {
  EXPECT_THROW(gort::signal::Notify(gort::chan<Signal>{}, {SIGUSR1}), std::invalid_argument);
}

class SignalDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

void resetMain() {
  auto c = gort::make_chan<Signal>(1);
  gort::signal::Notify(c, {SIGTERM});
  gort::signal::Reset({SIGTERM});
  raise(SIGTERM);  // this thread: TSan runs handlers at its own sync points
  for (;;) usleep(1000);
}

TEST_F(SignalDeathTest, ResetRestoresTheDefault) {
  EXPECT_EXIT(gort::Main(0, nullptr, resetMain), ::testing::KilledBySignal(SIGTERM), "");
}

// Sets a signal's disposition for the scope (a death test's child inherits
// SIG_IGN across its exec), then restores it.
class ScopedDisposition {
 public:
  ScopedDisposition(int sig, void (*handler)(int)) : sig_(sig) {
    struct sigaction sa {};
    sa.sa_handler = handler;
    sigaction(sig, &sa, &old_);
  }
  ~ScopedDisposition() { sigaction(sig_, &old_, nullptr); }

 private:
  int sig_;
  struct sigaction old_ {};
};

int sigUnderTest;  // the signal a death test's child sends itself

[[noreturn]] void survive() {
  gort::time::Sleep(50 * gort::time::Millisecond);
  std::fprintf(stderr, "survived\n");
  // As os.Exit: no atexit hooks, which under ASan would run LeakSanitizer
  // from a goroutine, where it cannot see the main thread's stack.
  std::fflush(nullptr);
  _exit(0);
}

void killSelfMain() {
  kill(getpid(), sigUnderTest);
  survive();
}

void killSelfAfterStopMain() {
  auto c = gort::make_chan<Signal>(1);
  gort::signal::Notify(c, {sigUnderTest});
  gort::signal::Stop(c);
  kill(getpid(), sigUnderTest);
  survive();
}

// Go catches these and, unnotified, does nothing (os/signal's table).
class IgnoredByDefault : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    sigUnderTest = GetParam();
  }
};

TEST_P(IgnoredByDefault, SurvivesKill) {
  EXPECT_EXIT(gort::Main(0, nullptr, killSelfMain), ::testing::ExitedWithCode(0), "^survived\n$");
}

TEST_P(IgnoredByDefault, SurvivesKillAfterNotifyAndStop) {
  EXPECT_EXIT(gort::Main(0, nullptr, killSelfAfterStopMain), ::testing::ExitedWithCode(0), "^survived\n$");
}

INSTANTIATE_TEST_SUITE_P(Go, IgnoredByDefault,
                         ::testing::Values(SIGUSR1, SIGUSR2, SIGALRM, SIGVTALRM, SIGPROF, SIGXCPU, SIGXFSZ, SIGIO,
                                           SIGPWR, SIGURG, SIGWINCH, SIGCHLD, 35, 40, 64),
                         [](const ::testing::TestParamInfo<int>& info) { return std::to_string(info.param); });

// SIGHUP, SIGINT and SIGTERM end the program by the signal, as in Go.
TEST_F(SignalDeathTest, HupIntTermKillByDefault) {
  for (int sig : {SIGHUP, SIGINT, SIGTERM}) {
    ScopedDisposition dfl(sig, SIG_DFL);  // a shell may start the tests with SIGINT ignored
    sigUnderTest = sig;
    EXPECT_EXIT(gort::Main(0, nullptr, killSelfMain), ::testing::KilledBySignal(sig), "") << sig;
  }
}

// SIGSTKFLT and SIGSYS: Go 1.19 prints the signal, the pc and M, every
// goroutine and exits 2 ("SIGSYS: bad system call\nPC=0x45ef21 m=0
// sigcode=0\n\ngoroutine 1 [sleep]:...").
TEST_F(SignalDeathTest, StkfltAndSysDumpAndExit2) {
  for (auto [sig, name] : {std::pair{SIGSTKFLT, "SIGSTKFLT: stack fault"}, std::pair{SIGSYS, "SIGSYS: bad system call"}}) {
    sigUnderTest = sig;
    EXPECT_EXIT(gort::Main(0, nullptr, killSelfMain), ::testing::ExitedWithCode(2),
                ::testing::AllOf(::testing::StartsWith(std::string(name) + "\nPC=0x"),
                                 ::testing::ContainsRegex("^[^\n]*\nPC=0x[0-9a-f]+ m=[0-9]+ sigcode=0\n\n"),
                                 ::testing::HasSubstr("goroutine 1 [")))
        << name;
  }
}

void inheritedIgnoreMain() {
  std::fprintf(stderr, "ignored at start: %d\n", gort::signal::Ignored(Signal{SIGINT}));
  auto c = gort::make_chan<Signal>(1);
  gort::signal::Notify(c, {SIGINT});
  gort::signal::Stop(c);
  std::fprintf(stderr, "after stop: %d\n", gort::signal::Ignored(Signal{SIGINT}));
  raise(SIGINT);
  survive();
}

// A SIGINT the program inherits as ignored stays ignored after Notify and
// Stop (Go restores what it found at start); Ignored reports it until the
// Notify, as Go's does.
TEST_F(SignalDeathTest, InheritedIgnoredSigintStaysIgnored) {
  ScopedDisposition ign(SIGINT, SIG_IGN);
  EXPECT_EXIT(gort::Main(0, nullptr, inheritedIgnoreMain), ::testing::ExitedWithCode(0),
              "^ignored at start: 1\nafter stop: 0\nsurvived\n$");
}

// ---- children signalled by their parent ---------------------------------------------

// This binary again, running DISABLED_SignalChild.<test> alone.
struct Child : gorttest::Child {
  explicit Child(const std::string& test) : gorttest::Child("DISABLED_SignalChild." + test) {}
};

// The parent reads a pipe: write at once, unbuffered.
void say(const std::string& line) {
  std::string s = line + "\n";
  if (write(1, s.data(), s.size()) < 0) std::abort();
}

// The shutdown idiom: Go waits for the signal (the twin prints "got
// terminated" and exits 0 on SIGTERM).
TEST(DISABLED_SignalChild, NotifyThenWait) {
  gort::Main(0, nullptr, [] {
    auto c = gort::make_chan<Signal>(1);
    gort::signal::Notify(c, {SIGINT, SIGTERM});
    say("ready");
    say("got " + c.recv().String());
  });
}

// Go 1.19 keeps waiting after Stop too (its signal_recv goroutine lives on).
TEST(DISABLED_SignalChild, NotifyStopThenWait) {
  gort::Main(0, nullptr, [] {
    auto c = gort::make_chan<Signal>(1);
    gort::signal::Notify(c, {SIGINT, SIGTERM});
    gort::signal::Stop(c);
    say("ready");
    gort::make_chan<int>().recv();
  });
}

TEST(DISABLED_SignalChild, SleepThenWait) {
  gort::Main(0, nullptr, [] {
    say("ready");
    gort::time::Sleep(3600 * gort::time::Second);
  });
}

bool exitedWith(int status, int code) { return WIFEXITED(status) && WEXITSTATUS(status) == code; }

TEST(SignalChildTest, ShutdownIdiomWaitsForTheSignal) {
  Child child("NotifyThenWait");
  ASSERT_TRUE(child.waitFor("ready\n")) << child.err;
  usleep(200 * 1000);
  ASSERT_TRUE(child.alive()) << "child ended early:\n" << child.err;
  child.signal(SIGTERM);
  int status = child.finish();
  EXPECT_TRUE(exitedWith(status, 0)) << "status " << status << "\n" << child.err;
  EXPECT_THAT(child.out, ::testing::HasSubstr("ready\ngot terminated\n"));
}

TEST(SignalChildTest, AfterStopStillNoDeadlockAndSigtermKills) {
  Child child("NotifyStopThenWait");
  ASSERT_TRUE(child.waitFor("ready\n")) << child.err;
  usleep(200 * 1000);
  ASSERT_TRUE(child.alive()) << "child ended early:\n" << child.err;
  child.signal(SIGTERM);
  int status = child.finish();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) << "status " << status << "\n" << child.err;
}

// A program idle in the runtime (every M parked) still gets its signals;
// TSan builds once lost them on parked Ms (os_linux.cpp, futexsleep).
TEST(SignalChildTest, IdleProgramGetsEverySignal) {
  for (int i = 0; i < 20; i++) {
    Child child("NotifyThenWait");
    ASSERT_TRUE(child.waitFor("ready\n")) << child.err;
    usleep(100 * 1000);
    child.signal(SIGTERM);
    int status = child.finish();
    ASSERT_TRUE(exitedWith(status, 0)) << "round " << i << ", status " << status << "\n" << child.err;
    ASSERT_THAT(child.out, ::testing::HasSubstr("got terminated\n")) << "round " << i;
  }
  for (int i = 0; i < 20; i++) {
    Child child("SleepThenWait");
    ASSERT_TRUE(child.waitFor("ready\n")) << child.err;
    usleep(100 * 1000);
    child.signal(SIGQUIT);
    int status = child.finish();
    ASSERT_TRUE(exitedWith(status, 2)) << "round " << i << ", status " << status << "\n" << child.err;
    ASSERT_THAT(child.err, ::testing::StartsWith("SIGQUIT: quit\nPC=0x")) << "round " << i;
  }
}

}  // namespace
