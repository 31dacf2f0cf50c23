// Tests of runtime::Caller, Callers, CallersFrames and Stack (Go's skip
// counts and dump format), GODEBUG=tracebackancestors, and the wait
// duration in goroutine headers.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <span>
#include <stdexcept>
#include <string>

#include "gort/chan.hpp"
#include "gort/go.hpp"
#include "gort/runtime.hpp"
#include "gort/runtime_stack.hpp"
#include "runtime/export_test.hpp"
#include "support/watchdog.hpp"

namespace {

[[gnu::noinline]] gort::runtime::CallerInfo callerOfMe() {
  auto c = gort::runtime::Caller(1);
  asm volatile("");
  return c;
}

TEST(Traceback, CallerSkipCounts) {
  int line = __LINE__ + 1;
  auto self = gort::runtime::Caller(0);
  ASSERT_TRUE(self.ok);
  EXPECT_EQ(self.line, line);
  EXPECT_NE(self.file.find("traceback_test.cpp"), std::string::npos) << self.file;
  EXPECT_NE(self.pc, 0u);
  line = __LINE__ + 1;
  auto viaHelper = callerOfMe();
  ASSERT_TRUE(viaHelper.ok);
  EXPECT_EQ(viaHelper.line, line);
  EXPECT_FALSE(gort::runtime::Caller(100000).ok);
}

[[gnu::noinline]] int collect(uintptr_t* pcs, int skip) {
  int n = gort::runtime::Callers(skip, std::span<uintptr_t>(pcs, 32));
  asm volatile("");
  return n;
}

TEST(Traceback, CallersAndFrames) {
  uintptr_t pcs[32];
  int n = collect(pcs, 0);
  ASSERT_GT(n, 2);
  auto frames = gort::runtime::CallersFrames(std::span<const uintptr_t>(pcs, size_t(n)));
  auto [f0, more0] = frames.Next();
  EXPECT_TRUE(more0);
  EXPECT_NE(f0.Function.find("gort::runtime::Callers"), std::string::npos) << f0.Function;
  auto [f1, more1] = frames.Next();
  EXPECT_TRUE(more1);
  EXPECT_NE(f1.Function.find("collect"), std::string::npos) << f1.Function;
  EXPECT_NE(f1.File.find("traceback_test.cpp"), std::string::npos);
  EXPECT_GT(f1.Line, 0);
  EXPECT_LE(f1.Entry, f1.PC);
  // skip 1 starts at Callers' caller.
  n = collect(pcs, 1);
  auto [g0, more] = gort::runtime::CallersFrames(std::span<const uintptr_t>(pcs, size_t(n))).Next();
  EXPECT_NE(g0.Function.find("collect"), std::string::npos) << g0.Function;
  // Exhausting the iterator ends with more == false.
  auto all = gort::runtime::CallersFrames(std::span<const uintptr_t>(pcs, size_t(n)));
  bool m = true;
  int count = 0;
  while (m && count < 1000) {
    m = all.Next().second;
    count++;
  }
  EXPECT_FALSE(m);
}

void parkedWorker(gort::chan<int> c) { c.recv(); }

TEST(Traceback, StackDumpsGoroutinesInGosFormat) {
  gort::Run([] {
    auto c = gort::make_chan<int>();
    gort::go(parkedWorker, c);
    for (int i = 0; i < 50; i++) gort::runtime::Gosched();
    char buf[1 << 16];
    int n = gort::runtime::Stack(buf, false);
    std::string mine(buf, size_t(n));
    EXPECT_EQ(mine.rfind("goroutine ", 0), 0u) << mine;
    EXPECT_NE(mine.find(" [running]:\n"), std::string::npos) << mine;
    EXPECT_EQ(mine.find("[chan receive]"), std::string::npos) << mine;
    n = gort::runtime::Stack(buf, true);
    std::string all(buf, size_t(n));
    EXPECT_NE(all.find("\n\ngoroutine "), std::string::npos) << all;
    EXPECT_NE(all.find(" [chan receive]:\n"), std::string::npos) << all;
    EXPECT_NE(all.find("parkedWorker(gort::chan<int>)\n\t"), std::string::npos) << all;
    EXPECT_NE(all.find("created by "), std::string::npos) << all;
    EXPECT_NE(all.find(" in goroutine "), std::string::npos) << all;
    // Truncation to the buffer.
    EXPECT_EQ(gort::runtime::Stack(std::span<char>(buf, 10), true), 10);
    c.send(1);
  });
}

TEST(Traceback, HeaderShowsWaitReasonAndMinutes) {
  gort::internal::g gp;
  gp.goid = 7;
  gp.atomicstatus.store(gort::internal::Gwaiting);
  gp.waitreason = gort::internal::waitReason::chanReceive;
  // waitsince is in cputicks (park time from the TSC).
  double ticksPerNano = 1e9 / double(gort::internal::cputicksToNanos(1000000000));
  // 150 s: "2 minutes" even where the tick rate is known only roughly
  // (early in the process, or under an emulator).
  gp.waitsince = gort::internal::cputicks() - int64_t(150e9 * ticksPerNano);
  auto header = [&gp] {
    char buf[128];
    gort::internal::Printer out(buf);
    gort::internal::goroutineheader(&gp, out);
    return std::string(buf, out.size());
  };
  EXPECT_EQ(header(), "goroutine 7 [chan receive, 2 minutes]:\n");
  gp.waitsince = gort::internal::cputicks();
  EXPECT_EQ(header(), "goroutine 7 [chan receive]:\n");
  gp.atomicstatus.store(gort::internal::Gdead);
}

TEST(Traceback, PrinterFormatsAsGosPrintAndNeverOverflows) {
  char buf[96];
  gort::internal::Printer out(buf);
  out << "n=" << -42 << " " << INT64_MIN << " " << UINT64_MAX << " " << gort::internal::Hex{0} << " "
      << gort::internal::Hex{0xdeadbeef} << ' ' << uint8_t(7);
  EXPECT_EQ(std::string(buf, out.size()), "n=-42 -9223372036854775808 18446744073709551615 0x0 0xdeadbeef 7");
  // Buffer mode keeps what fits.
  char small[4];
  gort::internal::Printer cut(small);
  cut << "abcdef" << 12;
  EXPECT_EQ(std::string(small, cut.size()), "abcd");
  // Descriptor mode writes everything out, through a buffer smaller than the text.
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  {
    gort::internal::Printer to(small, fds[1]);
    to << "ab" << "cdefgh" << "i" << 12345;
  }
  close(fds[1]);
  char got[32];
  ssize_t n = read(fds[0], got, sizeof got);
  close(fds[0]);
  EXPECT_EQ(std::string(got, size_t(n > 0 ? n : 0)), "abcdefghi12345");
}

TEST(Traceback, AncestorsAreRecordedWhenAsked) {
  gort::Run([] {
    gort::internal::debug.tracebackancestors = 5;
    auto c = gort::make_chan<int>();
    auto spawned = gort::make_chan<int>();
    gort::go([c, spawned]() mutable {
      gort::go(parkedWorker, c);
      spawned.send(1);
    });
    spawned.recv();
    for (int i = 0; i < 50; i++) gort::runtime::Gosched();
    char buf[1 << 16];
    std::string all(buf, size_t(gort::runtime::Stack(buf, true)));
    gort::internal::debug.tracebackancestors = 0;
    EXPECT_NE(all.find("[originating from goroutine "), std::string::npos) << all;
    c.send(1);
  });
}

}  // namespace

namespace {

// The first symbolisation reads the program's DWARF inside
// dl_iterate_phdr's callback, under glibc's recursive loader lock; a
// goroutine preempted there would leave the lock owned by a thread it no
// longer runs on, and the next exception thrown anywhere would wait for it
// for ever. Many goroutines symbolise at once while sysmon preempts the
// long-running ones; then every one of them throws (the unwinder takes the
// loader lock again).
void firstSymbolisationsThenThrowsMain() {
  gorttest::watchdog(20);
  gort::runtime::GOMAXPROCS(4);
  constexpr int kG = 32;
  auto done = gort::make_chan<int>(kG);
  for (int i = 0; i < kG; i++) {
    gort::go([done] {
      uintptr_t pcs[8];
      int n = gort::runtime::Callers(0, pcs);
      auto frames = gort::runtime::CallersFrames(std::span<const uintptr_t>(pcs, size_t(n)));
      bool named = !frames.Next().first.Function.empty();
      int caught = 0;
      try {
        throw std::runtime_error("unwound");
      } catch (const std::runtime_error&) {
        caught = 1;
      }
      done.send(named && caught ? 1 : 0);
    });
  }
  int ok = 0;
  for (int i = 0; i < kG; i++) ok += done.recv();
  if (ok != kG) {
    std::fprintf(stderr, "%d of %d goroutines symbolised and caught\n", ok, kG);
    _exit(3);
  }
}

TEST(TracebackDeathTest, SymbolisingGoroutinesAreNotPreemptedUnderTheLoaderLock) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  for (int run = 0; run < 5; run++) {
    EXPECT_EXIT({ gort::Main(0, nullptr, firstSymbolisationsThenThrowsMain); }, ::testing::ExitedWithCode(0),
                "");
  }
}

}  // namespace
