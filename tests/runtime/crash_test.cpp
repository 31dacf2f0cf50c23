// Crash output (runtime/crash_test.go's concerns): faults, SIGQUIT and
// SIGPIPE in a child process, per GOTRACEBACK level, with the format and exit
// status Go 1.19 gives the equivalent program (tests/runtime/testdata/
// crash.go: `go run crash.go fault|quit|...` prints Go's version); and
// crashes that happen while the failing thread holds malloc's lock.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

#include "gort/chan.hpp"
#include "gort/debug.hpp"
#include "gort/go.hpp"
#include "gort/panic.hpp"
#include "gort/runtime.hpp"
#include "gort/sync.hpp"
#include "support/arch.hpp"
#include "support/child.hpp"

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

// ---- crashes under malloc's lock -------------------------------------------------------
//
// A fatal report must not allocate: the failing thread may hold malloc's
// arena lock, which is not recursive, and a report that allocates then
// hangs forever with nothing printed. These children make that happen.
// With one arena and no per-thread cache (glibc's tunables, which only an
// exec sets), malloc_stats() holds the arena's mutex while it writes to
// stderr, which the child has replaced with a stream whose write function
// fails, once, in the way the test names. Before the report stopped
// allocating, each of these children hung after its first line.

void (*failOnStderrWrite)() = nullptr;
volatile int sink;

ssize_t cookieWrite(void*, const char*, size_t n) {
  if (auto fail = std::exchange(failOnStderrWrite, nullptr)) fail();
  return ssize_t(n);
}

void mallocStatsMain() {
  cookie_io_functions_t io{};
  io.write = cookieWrite;
  FILE* failing = fopencookie(nullptr, "w", io);
  setvbuf(failing, nullptr, _IONBF, 0);
  stderr = failing;
  malloc_stats();
}

[[gnu::noinline]] int recurse(int n) {
  volatile char frame[256];
  frame[0] = char(n);
  return n == 0 ? frame[0] : recurse(n - 1) + frame[0];
}

TEST(DISABLED_MallocLockChild, StackOverflow) {
  failOnStderrWrite = [] { sink = recurse(1 << 30); };
  gort::Main(0, nullptr, mallocStatsMain);
}

TEST(DISABLED_MallocLockChild, FatalError) {
  failOnStderrWrite = [] {
    static gort::sync::Mutex mu;
    mu.Unlock();
  };
  gort::Main(0, nullptr, mallocStatsMain);
}

TEST(DISABLED_MallocLockChild, Sigquit) {
  failOnStderrWrite = [] { raise(SIGQUIT); };
  gort::Main(0, nullptr, mallocStatsMain);
}

class MallocLockCrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
#if defined(GORT_ASAN) || defined(GORT_TSAN)
    GTEST_SKIP() << "the sanitizer's allocator replaces glibc's, whose arena lock these tests hold";
#endif
  }

  // The child's stderr; it must have exited 2 within 5 s. Asynchronous
  // preemption is off in the child: preempting the goroutine while glibc
  // holds its arena lock for it (its code runs inside malloc_stats's write)
  // is a hazard of its own, not the crash path's, and under qemu, where the
  // recursion is slow enough for sysmon to preempt it, it hung these
  // children in about half the runs.
  static std::string report(const std::string& test) {
    gorttest::Child child("DISABLED_MallocLockChild." + test,
                          {"GLIBC_TUNABLES=glibc.malloc.arena_max=1:glibc.malloc.tcache_count=0",
                           "GODEBUG=asyncpreemptoff=1"});
    int status = child.finish(5);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2)
        << "status " << status << " (SIGKILL: still running after 5 s)\n" << child.err;
    return child.err;
  }
};

// Demangled names with their parameters show that the frames were
// symbolised, not just that the first line came out.
constexpr const char* kCookieFrame = "cookieWrite\\(void\\*, char const\\*, unsigned long\\)\n";

TEST_F(MallocLockCrashTest, StackOverflowReports) {
  EXPECT_THAT(report("StackOverflow"),
              ContainsRegex("runtime: goroutine stack exceeds [0-9]+-byte limit\n"
                            "runtime: sp=0x[0-9a-f]+ stack=\\[0x[0-9a-f]+, 0x[0-9a-f]+\\]\n"
                            "fatal error: stack overflow\n\n"
                            "goroutine 1 \\[running\\]:\n(.|\n)*recurse\\(int\\)\n(.|\n)*"
                            "\\.\\.\\.additional frames elided\\.\\.\\.\n"));
}

TEST_F(MallocLockCrashTest, FatalErrorReports) {
  EXPECT_THAT(report("FatalError"), ContainsRegex(std::string("^fatal error: sync: unlock of unlocked mutex\n\n"
                                                              "goroutine 1 \\[running\\]:\n(.|\n)*") +
                                                  kCookieFrame));
}

TEST_F(MallocLockCrashTest, SigquitDumps) {
  EXPECT_THAT(report("Sigquit"),
              AllOf(ContainsRegex(std::string("^SIGQUIT: quit\nPC=0x[0-9a-f]+ m=[0-9]+ sigcode=-?[0-9]+\n\n"
                                              "goroutine 1 \\[running\\]:\n(.|\n)*") +
                                  kCookieFrame),
                    ContainsRegex(gorttest::kDumpPcLine)));
}

}  // namespace
