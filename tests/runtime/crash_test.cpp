// Crash output (runtime/crash_test.go's concerns): faults, SIGQUIT and
// SIGPIPE in a child process, per GOTRACEBACK level, with the format and exit
// status Go 1.19 gives the equivalent program (tests/runtime/testdata/
// crash.go: `go run crash.go fault|quit|...` prints Go's version).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "gort/chan.hpp"
#include "gort/debug.hpp"
#include "gort/go.hpp"
#include "gort/panic.hpp"
#include "gort/runtime.hpp"
#include "support/arch.hpp"

namespace {

using ::testing::AllOf;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::Not;

class CrashDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

// The sanitizers would stop these before the fault we test.
[[gnu::noinline, gnu::no_sanitize_undefined, gnu::no_sanitize_address]] int readAt(uintptr_t addr) {
  return *reinterpret_cast<volatile int*>(addr);
}

// A second goroutine parked on a channel, for the "all goroutines" levels.
void parkOne() {
  static auto never = gort::make_chan<int>();
  gort::go([] { never.recv(); });
  for (int i = 0; i < 10; i++) gort::runtime::Gosched();
}

void faultMain() {
  parkOne();
  std::printf("%d\n", readAt(0xdeadbeef));
}

// (ASan maps the low shadow gap: there the same fault is an access error,
// code 0x2, instead of 0x1.)
constexpr const char* kFaultReport =
    "unexpected fault address 0xdeadbeef\n"
    "fatal error: fault\n"
    "\\[signal SIGSEGV: segmentation violation code=0x[12] addr=0xdeadbeef pc=0x[0-9a-f]+\\]\n";

TEST_F(CrashDeathTest, FaultAtANonNilAddressIsFatal) {
  EXPECT_EXIT(gort::Main(0, nullptr, faultMain), ::testing::ExitedWithCode(2),
              AllOf(ContainsRegex(std::string(kFaultReport) + "\ngoroutine 1 \\[running\\]:\n.*readAt"),
                    Not(HasSubstr("[chan receive]"))));
}

TEST_F(CrashDeathTest, GotracebackNoneShowsNoGoroutines) {
  EXPECT_EXIT(
      {
        setenv("GOTRACEBACK", "none", 1);
        gort::Main(0, nullptr, faultMain);
      },
      ::testing::ExitedWithCode(2), AllOf(ContainsRegex(kFaultReport), Not(HasSubstr("goroutine"))));
}

TEST_F(CrashDeathTest, GotracebackAllShowsEveryGoroutine) {
  EXPECT_EXIT(
      {
        setenv("GOTRACEBACK", "all", 1);
        gort::Main(0, nullptr, faultMain);
      },
      ::testing::ExitedWithCode(2),
      AllOf(ContainsRegex(kFaultReport), ContainsRegex("goroutine [0-9]+ \\[chan receive\\]:")));
}

void setTracebackAllMain() {
  gort::debug::SetTraceback("none");  // below the environment's level: no effect, as in Go
  gort::debug::SetTraceback("all");
  faultMain();
}

TEST_F(CrashDeathTest, SetTracebackRaisesTheLevel) {
  EXPECT_EXIT(gort::Main(0, nullptr, setTracebackAllMain), ::testing::ExitedWithCode(2),
              AllOf(ContainsRegex(kFaultReport), ContainsRegex("goroutine [0-9]+ \\[chan receive\\]:")));
}

TEST_F(CrashDeathTest, GotracebackCrashAborts) {
  EXPECT_EXIT(
      {
        setenv("GOTRACEBACK", "crash", 1);
        gort::Main(0, nullptr, faultMain);
      },
      ::testing::KilledBySignal(SIGABRT), ContainsRegex(kFaultReport));
}

void nilMain() { std::printf("%d\n", readAt(0)); }

TEST_F(CrashDeathTest, NilDereferenceIsARuntimePanic) {
  EXPECT_EXIT(gort::Main(0, nullptr, nilMain), ::testing::ExitedWithCode(2),
              ContainsRegex("panic: runtime error: invalid memory address or nil pointer dereference\n"
                            "\\[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x[0-9a-f]+\\]\n\n"
                            "goroutine 1 \\[running\\]:"));
}

[[gnu::noinline, gnu::no_sanitize_undefined]] int divide(int a, int b) { return a / b; }

void divideMain() { std::printf("%d\n", divide(1, *static_cast<volatile int*>(new int(0)))); }

TEST_F(CrashDeathTest, IntegerDivideByZeroIsARuntimePanic) {
  if (!gorttest::kIntegerDivideTraps) GTEST_SKIP() << "this CPU's integer division by zero does not trap";
  EXPECT_EXIT(gort::Main(0, nullptr, divideMain), ::testing::ExitedWithCode(2),
              ContainsRegex("panic: runtime error: integer divide by zero\n\n"  // Go: no "[signal" line
                            "goroutine 1 \\[running\\]:"));
}

// A fault while the report is being made (here in the panic value's
// Error()) ends the program with status 2; it used to wait forever.
struct ErrorFaults : std::exception {
  std::string Error() const { return std::to_string(readAt(0xdeadbeef)); }
};

TEST_F(CrashDeathTest, FaultWhilePrintingTheReportExitsPromptly) {
  EXPECT_EXIT(gort::Main(0, nullptr, [] { gort::panic(ErrorFaults{}); }), ::testing::ExitedWithCode(2),
              HasSubstr("panic during panic\n"));
}

void quitMain() {
  parkOne();
  raise(SIGQUIT);
  for (;;) pause();
}

TEST_F(CrashDeathTest, SigquitDumpsEveryGoroutineAndTheRegisters) {
  EXPECT_EXIT(gort::Main(0, nullptr, quitMain), ::testing::ExitedWithCode(2),
              AllOf(ContainsRegex("^SIGQUIT: quit\nPC=0x[0-9a-f]+ m=[0-9]+ sigcode=-?[0-9]+\n\ngoroutine 1 \\[running\\]:"),
                    ContainsRegex("goroutine [0-9]+ \\[chan receive\\]:"), ContainsRegex(gorttest::kDumpPcLine),
                    ContainsRegex(gorttest::kDumpLastLine)));
}

void illegalInstructionMain() {
  parkOne();
  gorttest::illegalInstruction();
}

TEST_F(CrashDeathTest, IllegalInstructionThrowsLikeGo) {
  EXPECT_EXIT(gort::Main(0, nullptr, illegalInstructionMain), ::testing::ExitedWithCode(2),
              AllOf(ContainsRegex("^SIGILL: illegal instruction\nPC=0x[0-9a-f]+ m=[0-9]+ sigcode=[0-9]+\n\n"
                                  "goroutine 1 \\[running\\]:"),
                    ContainsRegex("goroutine [0-9]+ \\[chan receive\\]:"), ContainsRegex(gorttest::kDumpPcLine)));
}

void abortMain() { std::abort(); }

TEST_F(CrashDeathTest, AbortThrowsLikeGo) {
  EXPECT_EXIT(gort::Main(0, nullptr, abortMain), ::testing::ExitedWithCode(2),
              ContainsRegex("^SIGABRT: abort\nPC=0x[0-9a-f]+ m=[0-9]+ sigcode=-?[0-9]+\n\ngoroutine 1 \\[running\\]:"));
}

void pipeOnStdoutMain() {
  int fds[2];
  if (pipe(fds) != 0) std::abort();
  dup2(fds[1], 1);
  close(fds[0]);
  (void)!write(1, "x", 1);  // no reader: SIGPIPE, fatal on fd 1 as in Go
  std::fprintf(stderr, "survived\n");
}

TEST_F(CrashDeathTest, BrokenPipeOnStdoutKillsWithSigpipe) {
  EXPECT_EXIT(gort::Main(0, nullptr, pipeOnStdoutMain), ::testing::KilledBySignal(SIGPIPE), "");
}

void pipeOnOtherFdMain() {
  int fds[2];
  if (pipe(fds) != 0) std::abort();
  close(fds[0]);
  ssize_t n = write(fds[1], "x", 1);
  std::fprintf(stderr, "write=%zd errno=%s\n", n, errno == EPIPE ? "EPIPE" : "other");
}

TEST_F(CrashDeathTest, BrokenPipeElsewhereIsAnEPIPEError) {
  EXPECT_EXIT(gort::Main(0, nullptr, pipeOnOtherFdMain), ::testing::ExitedWithCode(0), "write=-1 errno=EPIPE");
}

TEST(Crash, SetPanicOnFaultTurnsAFaultIntoARecoverablePanic) {
  std::string got;
  gort::Run([&] {
    bool old = gort::debug::SetPanicOnFault(true);
    EXPECT_FALSE(old);
    gort::func([&](gort::Defer& defer) {
      defer([&] {
        if (auto r = gort::recover()) got = r.String();
      });
      readAt(0xdeadbeef);
    });
    EXPECT_TRUE(gort::debug::SetPanicOnFault(old));
  });
  EXPECT_EQ(got, "runtime error: invalid memory address or nil pointer dereference");
}

}  // namespace
