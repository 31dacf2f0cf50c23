// os/signal tests (ports of os/signal/signal_test.go's semantic cases:
// TestSignal, TestStress-style repeated delivery, TestStop, TestIgnored,
// TestReset, TestNotifyNil-like misuse), in process where a signal's
// default action would not end the test, in a child otherwise.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>

#include "gort/chan.hpp"
#include "gort/go.hpp"
#include "gort/runtime.hpp"
#include "gort/signal.hpp"

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

TEST(Signal, IgnoreAndIgnored) {
  gort::signal::Ignore({SIGUSR2});
  EXPECT_TRUE(gort::signal::Ignored(Signal{SIGUSR2}));
  raise(SIGUSR2);  // would kill the process if not ignored
  usleep(10000);
  gort::signal::Reset({SIGUSR2});
  EXPECT_FALSE(gort::signal::Ignored(Signal{SIGUSR2}));
}

TEST(Signal, NotifyNilChannelIsAnError) {
  EXPECT_THROW(gort::signal::Notify(gort::chan<Signal>{}, {SIGUSR1}), std::invalid_argument);
}

class SignalDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

void stopMain() {
  auto c = gort::make_chan<Signal>(1);
  gort::signal::Notify(c, {SIGUSR1});
  gort::signal::Stop(c);
  // After Stop, the default action applies again: SIGUSR1 terminates.
  raise(SIGUSR1);  // this thread: TSan runs handlers at its own sync points
  for (;;) usleep(1000);
}

TEST_F(SignalDeathTest, AfterStopTheDefaultActionReturns) {
  EXPECT_EXIT(gort::Main(0, nullptr, stopMain), ::testing::KilledBySignal(SIGUSR1), "");
}

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

}  // namespace
