// Public entry points called first thing in a fresh process, from a plain
// thread, before anything started the runtime (proc.cpp, "Start-up": the
// runtime starts lazily, through ensureStarted). Each case runs in a
// re-executed child (threadsafe death-test style), so the runtime really is
// not started when the call happens; the child exits 0 on success and with
// a distinct code naming the failed check otherwise.
//
// Also: blocking operations from a std::thread outside the scheduler after
// start (they wait on a borrowed goroutine, stubs.hpp waitOnGoroutine), and
// timers armed from a thread without a P (they go to P 0's heap and must
// fire on time).
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <exception>
#include <string>
#include <thread>

#include "gort/chan.hpp"
#include "gort/context.hpp"
#include "gort/go.hpp"
#include "gort/net.hpp"
#include "gort/os.hpp"
#include "gort/runtime.hpp"
#include "gort/select.hpp"
#include "gort/time.hpp"
#include "runtime/export_test.hpp"

namespace {

using namespace gort;

constexpr int kStartedEarly = 10;  // something started the runtime before the call

// Runs check in the child: exits with its result, skipping global
// destructors (runtime threads still run).
template <class F>
[[noreturn]] void fresh(F check) {
  if (internal::runtimeStarted()) _exit(kStartedEarly);
  int code = check();
  _exit(code);
}

void plainSleepMs(int ms) { usleep(useconds_t(ms) * 1000); }

class LazyStartTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(LazyStartTest, AfterFuncFires) {
  EXPECT_EXIT(fresh([] {
                std::atomic<bool> fired{false};
                time::Timer t = time::AfterFunc(10 * time::Millisecond, [&] { fired = true; });
                for (int i = 0; i < 200 && !fired; i++) plainSleepMs(5);
                return fired ? 0 : 1;
              }),
              ::testing::ExitedWithCode(0), "");
}

TEST_F(LazyStartTest, NewTimerStop) {
  EXPECT_EXIT(fresh([] {
                time::Timer t = time::NewTimer(time::Hour);
                if (!t.Stop()) return 1;
                if (t.Stop()) return 2;  // stopped already
                return 0;
              }),
              ::testing::ExitedWithCode(0), "");
}

TEST_F(LazyStartTest, AfterReceive) {
  // A blocking receive from the plain thread: it waits on a borrowed goroutine.
  EXPECT_EXIT(fresh([] {
                time::Time t0 = time::Now();
                time::After(10 * time::Millisecond).recv();
                return time::Since(t0) >= 10 * time::Millisecond ? 0 : 1;
              }),
              ::testing::ExitedWithCode(0), "");
}

TEST_F(LazyStartTest, Sleep) {
  EXPECT_EXIT(fresh([] {
                time::Time t0 = time::Now();
                time::Sleep(10 * time::Millisecond);
                return time::Since(t0) >= 10 * time::Millisecond ? 0 : 1;
              }),
              ::testing::ExitedWithCode(0), "");
}

TEST_F(LazyStartTest, ContextTimeout) {
  EXPECT_EXIT(fresh([] {
                auto [ctx, cancel] = context::WithTimeout(context::Background(), 10 * time::Millisecond);
                ctx.Done().recv();
                int code = ctx.Err() == context::DeadlineExceeded ? 0 : 1;
                cancel();
                return code;
              }),
              ::testing::ExitedWithCode(0), "");
}

TEST_F(LazyStartTest, NetListenDialAccept) {
  // Dial and Accept wait in the poller: from the plain thread they wait on
  // borrowed goroutines.
  EXPECT_EXIT(fresh([] {
                auto [ln, err] = net::Listen("tcp", "127.0.0.1:0");
                if (err) return 1;
                auto [c, derr] = net::Dial("tcp", ln.Addr()->String());
                if (derr) return 2;
                auto [s, aerr] = ln.Accept();
                if (aerr) return 3;
                if (auto [n, werr] = c.Write("ping"); werr || n != 4) return 4;
                char buf[4];
                if (auto [n, rerr] = s.Read(buf, 4); rerr || n != 4) return 5;
                return 0;
              }),
              ::testing::ExitedWithCode(0), "");
}

TEST_F(LazyStartTest, OsPipe) {
  EXPECT_EXIT(fresh([] {
                auto [r, w, err] = os::Pipe();
                if (err) return 1;
                if (auto [n, werr] = w.Write("abc", 3); werr || n != 3) return 2;
                char buf[3];
                if (auto [n, rerr] = r.Read(buf, 3); rerr || n != 3) return 3;
                return 0;
              }),
              ::testing::ExitedWithCode(0), "");
}

TEST_F(LazyStartTest, TickerAndGomaxprocs) {
  EXPECT_EXIT(fresh([] {
                if (runtime::GOMAXPROCS(0) < 1) return 1;
                time::Ticker tk = time::NewTicker(5 * time::Millisecond);
                tk.C.recv();
                tk.C.recv();
                tk.Stop();
                return 0;
              }),
              ::testing::ExitedWithCode(0), "");
}

TEST_F(LazyStartTest, BlockingChannelAndSelectFromPlainThread) {
  EXPECT_EXIT(fresh([] {
                auto c = make_chan<int>();
                gort::go([c] {
                  time::Sleep(5 * time::Millisecond);
                  c.send(7);
                  c.send(8);
                });
                if (c.recv() != 7) return 1;
                int got = 0;
                auto never = make_chan<int>();  // two cases: the runtime's selectgo
                gort::select(recv(c, [&](int v) { got = v; }), recv(never, [&](int) { got = -1; }));
                if (got != 8) return 2;
                return 0;
              }),
              ::testing::ExitedWithCode(0), "");
}

// A panic raised while the plain thread waits on a borrowed goroutine (the
// channel is closed under a blocked send) reaches the plain thread.
TEST_F(LazyStartTest, SendOnClosedFromPlainThreadPanics) {
  EXPECT_EXIT(fresh([] {
                auto c = make_chan<int>();
                gort::go([c] {
                  time::Sleep(5 * time::Millisecond);
                  close(c);
                });
                try {
                  c.send(1);
                } catch (const std::exception& e) {
                  return std::string(e.what()) == "send on closed channel" ? 0 : 2;
                }
                return 1;
              }),
              ::testing::ExitedWithCode(0), "");
}

// After start: timers armed and channel waits from a std::thread that is
// not running a goroutine (no P): P 0's heap takes them, and they fire on
// time.
TEST_F(LazyStartTest, TimersFromThreadWithoutPAfterStart) {
  EXPECT_EXIT(fresh([] {
                gort::Run([] {});
                int code = 0;
                std::thread th([&] {
                  for (int i = 0; i < 5 && code == 0; i++) {
                    std::atomic<int64_t> late{-1};
                    time::Time t0 = time::Now();
                    time::Timer t = time::AfterFunc(10 * time::Millisecond, [&] {
                      late = (time::Since(t0) - 10 * time::Millisecond).Nanoseconds();
                    });
                    time::NewTimer(10 * time::Millisecond).C.recv();
                    for (int k = 0; k < 200 && late < 0; k++) plainSleepMs(1);
                    // Generous bound: sanitizer builds on a loaded machine.
                    if (late < 0 || late > 200 * time::Millisecond.Nanoseconds()) code = 1;
                  }
                });
                th.join();
                return code;
              }),
              ::testing::ExitedWithCode(0), "");
}

}  // namespace
