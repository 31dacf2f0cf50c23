// Tests of defer, panic, recover and run-time panics (panic.hpp), in process
// and, for the fatal report, in a child process. The expected reports are
// Go 1.19's for the equivalent Go program (tests/panic/testdata/*.go), with
// addresses, paths and line numbers masked.
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "gort/any.hpp"
#include "gort/chan.hpp"
#include "gort/go.hpp"
#include "gort/panic.hpp"
#include "gort/runtime.hpp"
#include "gort/sync.hpp"
#include "gort/time.hpp"
#include "runtime/export_test.hpp"

namespace {

using gort::any;
using gort::Defer;

// The report of the panic that escapes f.
std::string panicMessage(void (*f)()) {
  try {
    gort::Run(f);
  } catch (const gort::PanicException& e) {
    return e.message();
  }
  return "(no panic)";
}

// ---- defer ------------------------------------------------------------------------

TEST(Defer, RunsLIFOOnReturnAndChangesNamedResults) {
  gort::Run([] {
    std::vector<int> order;
    int r = 0;
    gort::func([&](Defer& defer) {
      defer([&] { order.push_back(1); });
      defer([&] { order.push_back(2); });
      defer([&] { r *= 10; });
      r = 4;
    });
    EXPECT_EQ(r, 40);
    EXPECT_EQ(order, (std::vector<int>{2, 1}));
  });
}

TEST(Defer, ValueResultIsReturnedAfterDeferredCalls) {
  gort::Run([] {
    int calls = 0;
    int v = gort::func([&](Defer& defer) {
      defer([&] { calls++; });
      return 7;
    });
    EXPECT_EQ(v, 7);
    EXPECT_EQ(calls, 1);
  });
}

TEST(Defer, ManyAndLargeClosuresSpillToTheHeap) {
  gort::Run([] {
    std::vector<int> order;
    gort::func([&](Defer& defer) {
      for (int i = 0; i < 50; i++) {
        std::string big(100, char('a' + i % 26));  // owned data: destroyed after the call
        defer([&order, i, big] { order.push_back(i + int(big.size()) - 100); });
      }
    });
    ASSERT_EQ(order.size(), 50u);
    for (int i = 0; i < 50; i++) EXPECT_EQ(order[size_t(i)], 49 - i);
  });
}

TEST(Defer, FunctionPointerCanBeDeferred) {
  static int hits = 0;
  hits = 0;
  gort::Run([] {
    gort::func([](Defer& defer) { defer(+[] { hits++; }); });
  });
  EXPECT_EQ(hits, 1);
}

// ---- panic and recover ---------------------------------------------------------------

int safeDiv(int a, int b, std::string* err) {
  int q = 0;
  gort::func([&](Defer& defer) {
    defer([&] {
      if (any r = gort::recover()) {
        *err = r.String();
        q = -1;
      }
    });
    q = gort::div(a, b);
  });
  return q;
}

TEST(Panic, RecoverStopsThePanicAndTheFunctionReturnsNormally) {
  gort::Run([] {
    std::string err;
    EXPECT_EQ(safeDiv(7, 2, &err), 3);
    EXPECT_EQ(err, "");
    EXPECT_EQ(safeDiv(7, 0, &err), -1);
    EXPECT_EQ(err, "runtime error: integer divide by zero");
  });
}

TEST(Panic, RecoverReturnsTheValueWithItsType) {
  gort::Run([] {
    any got;
    int r = gort::func([&](Defer& defer) {
      defer([&] { got = gort::recover(); });
      gort::panic(42);
      return 1;
    });
    EXPECT_EQ(r, 0);  // Go's zero result after a recovered panic
    EXPECT_EQ(gort::as<int>(got), 42);
    EXPECT_EQ(got.String(), "42");
  });
}

TEST(Panic, RecoverIsNilWhenNotPanickingAndOnSecondCall) {
  gort::Run([] {
    EXPECT_FALSE(gort::recover());
    bool first = false, second = true, normal = true;
    gort::func([&](Defer& defer) {
      defer([&] { normal = bool(gort::recover()); });
    });
    gort::func([&](Defer& defer) {
      defer([&] {
        first = bool(gort::recover());
        second = bool(gort::recover());
      });
      gort::panic("x");
    });
    EXPECT_FALSE(normal);
    EXPECT_TRUE(first);
    EXPECT_FALSE(second);
  });
}

[[gnu::noinline]] bool recoverFromHelper() { return bool(gort::recover()); }
// Inlined into the deferred call, it is still a helper: Go's rule is about
// the source, whatever the optimiser does.
[[gnu::always_inline]] inline bool recoverFromInlinedHelper() { return bool(gort::recover()); }

void deferredFunctionPointer() {
  if (!gort::recover()) std::abort();
}

TEST(Panic, RecoverMustBeCalledDirectlyByTheDeferredCall) {
  gort::Run([] {
    bool viaHelper = true, viaNestedDefer = true, direct = false;
    gort::func([&](Defer& defer) {
      defer([&] {
        viaHelper = recoverFromHelper();
        // A deferred call of another function returning normally.
        gort::func([&](Defer& inner) { inner([&] { viaNestedDefer = bool(gort::recover()); }); });
        direct = bool(gort::recover());
      });
      gort::panic("x");
    });
    EXPECT_FALSE(viaHelper);
    EXPECT_FALSE(viaNestedDefer);
    EXPECT_TRUE(direct);
    // A plain function deferred by pointer calls recover directly.
    gort::func([](Defer& defer) {
      defer(&deferredFunctionPointer);
      gort::panic("y");
    });
    // A generic lambda has no single code address: the frames decide.
    bool genericDirect = false, genericHelper = true;
    gort::func([&](Defer& defer) {
      defer([&](auto...) {
        genericHelper = recoverFromHelper();
        genericDirect = bool(gort::recover());
      });
      gort::panic("z");
    });
    EXPECT_FALSE(genericHelper);
    EXPECT_TRUE(genericDirect);
  });
}

TEST(Panic, RecoverInAHelperTheCompilerInlinedReturnsNil) {
  gort::Run([] {
    bool viaInlined = true, direct = false, genericViaInlined = true, genericDirect = false;
    gort::func([&](Defer& defer) {
      defer([&] {
        viaInlined = recoverFromInlinedHelper();
        direct = bool(gort::recover());
      });
      gort::panic("x");
    });
    gort::func([&](Defer& defer) {
      defer([&](auto...) {
        genericViaInlined = recoverFromInlinedHelper();
        genericDirect = bool(gort::recover());
      });
      gort::panic("y");
    });
    EXPECT_FALSE(viaInlined);
    EXPECT_TRUE(direct);
    EXPECT_FALSE(genericViaInlined);
    EXPECT_TRUE(genericDirect);
  });
}

TEST(Panic, PropagatesThroughFunctionsRunningEachOnesDeferredCalls) {
  gort::Run([] {
    std::vector<std::string> log;
    auto inner = [&] {
      gort::func([&](Defer& defer) {
        defer([&] { log.push_back("inner"); });
        gort::panic("deep");
      });
      log.push_back("not reached");
    };
    auto middle = [&] {
      gort::func([&](Defer& defer) {
        defer([&] { log.push_back("middle"); });
        inner();
      });
    };
    gort::func([&](Defer& defer) {
      defer([&] { log.push_back("outer:" + gort::recover().String()); });
      middle();
    });
    EXPECT_EQ(log, (std::vector<std::string>{"inner", "middle", "outer:deep"}));
  });
}

TEST(Panic, PanicInDeferredCallReplacesTheFirst) {
  EXPECT_EQ(panicMessage([] {
              gort::func([](Defer& defer) {
                defer([] { gort::panic("second"); });
                gort::panic("first");
              });
            }),
            "panic: first\n\tpanic: second\n");
  EXPECT_EQ(panicMessage([] {
              gort::func([](Defer& defer) {
                defer([] { gort::panic("third"); });
                defer([] { gort::panic("second"); });
                gort::panic("first");
              });
            }),
            "panic: first\n\tpanic: second\n\tpanic: third\n");
}

TEST(Panic, RecoveredThenRepanickedIsMarkedRecovered) {
  EXPECT_EQ(panicMessage([] {
              gort::func([](Defer& defer) {
                defer([] {
                  gort::recover();
                  gort::panic("second");
                });
                gort::panic("first");
              });
            }),
            "panic: first [recovered]\n\tpanic: second\n");
}

TEST(Panic, PanicAfterRecoveryInALaterDeferredCallStartsAfresh) {
  // Go: the recovered function's remaining deferred calls run as on a
  // normal return, and a panic there has no chain.
  EXPECT_EQ(panicMessage([] {
              gort::func([](Defer& defer) {
                defer([] { gort::panic("B"); });
                defer([] { gort::recover(); });
                gort::panic("A");
              });
            }),
            "panic: B\n");
}

TEST(Panic, ReplacingPanicCanBeRecovered) {
  gort::Run([] {
    std::string got;
    gort::func([&](Defer& defer) {
      defer([&] { got = gort::recover().String(); });
      defer([] { gort::panic("B"); });
      gort::panic("A");
    });
    EXPECT_EQ(got, "B");
  });
}

TEST(Panic, ForeignExceptionIsAPanicValue) {
  gort::Run([] {
    any got;
    gort::func([&](Defer& defer) {
      defer([&] { got = gort::recover(); });
      throw std::runtime_error("foreign");
    });
    ASSERT_TRUE(got);
    ASSERT_NE(got.error(), nullptr);
    EXPECT_STREQ(got.error()->what(), "foreign");
    EXPECT_EQ(got.String(), "foreign");
  });
  EXPECT_EQ(panicMessage([] {
              gort::func([](Defer& defer) {
                defer([] { throw std::logic_error("in defer"); });
                gort::panic("first");
              });
            }),
            "panic: first\n\tpanic: in defer\n");
}

TEST(Panic, PanicNilBecomesPanicNilError) {
  gort::Run([] {
    any got;
    gort::func([&](Defer& defer) {
      defer([&] { got = gort::recover(); });
      gort::panic(nullptr);
    });
    ASSERT_TRUE(got);
    EXPECT_NE(got.get_if<gort::runtime::PanicNilError>(), nullptr);
    EXPECT_EQ(got.String(), "panic called with nil argument");
    auto* e = dynamic_cast<const gort::runtime::Error*>(got.error());
    ASSERT_NE(e, nullptr);
  });
  gort::internal::debug.panicnil = 1;
  EXPECT_EQ(panicMessage([] { gort::panic(nullptr); }), "panic: nil\n");
  gort::internal::debug.panicnil = 0;
}

TEST(Panic, GoexitRunsDeferredCallsAndCannotBeRecovered) {
  gort::Run([] {
    auto done = gort::make_chan<std::string>(1);
    gort::go([done]() mutable {
      std::string log;
      gort::func([&](Defer& defer) {
        defer([&, done]() mutable { done.send(log + "|" + gort::recover().String()); });
        defer([&] { log += "deferred"; });
        gort::runtime::Goexit();
      });
      done.send("not reached");
    });
    EXPECT_EQ(done.recv(), "deferred|nil");
  });
}

TEST(Panic, GoexitResumesAfterARecoveredPanicReplacedIt) {
  gort::Run([] {
    auto done = gort::make_chan<std::string>(2);
    gort::go([done]() mutable {
      gort::func([&](Defer& outer) {
        outer([&] { gort::close(done); });  // runs as the goroutine exits
        gort::func([&](Defer& defer) {
          defer([&] { done.send("rec:" + gort::recover().String()); });
          defer([] { gort::panic("P"); });
          gort::runtime::Goexit();
        });
        done.send("not reached");
      });
    });
    EXPECT_EQ(done.recv(), "rec:P");
    auto [v, ok] = done.recv2();
    EXPECT_FALSE(ok) << v;
  });
}

// ---- run-time panics --------------------------------------------------------------

template <class F>
any recovered(F f) {
  any got;
  gort::func([&](Defer& defer) {
    defer([&] { got = gort::recover(); });
    f();
  });
  return got;
}

TEST(RuntimeError, CheckedOperationsPanicWithGosMessages) {
  gort::Run([] {
    std::vector<int> s{1, 2, 3};
    EXPECT_EQ(gort::at(s, 2), 3);
    gort::at(s, 1) = 9;
    EXPECT_EQ(s[1], 9);
    any r = recovered([&] { gort::at(s, 5); });
    EXPECT_EQ(r.String(), "runtime error: index out of range [5] with length 3");
    ASSERT_NE(dynamic_cast<const gort::runtime::Error*>(r.error()), nullptr);
    EXPECT_EQ(recovered([&] { gort::at(s, -1); }).String(), "runtime error: index out of range [-1] with length 3");
    int* nil = nullptr;
    EXPECT_EQ(recovered([&] { gort::deref(nil); }).String(),
              "runtime error: invalid memory address or nil pointer dereference");
    EXPECT_EQ(recovered([] { gort::mod(1, 0); }).String(), "runtime error: integer divide by zero");
    EXPECT_EQ(gort::div(INT32_MIN, -1), INT32_MIN);  // wraps as in Go
    EXPECT_EQ(gort::mod(INT32_MIN, -1), 0);
  });
}

TEST(RuntimeError, FailedTypeAssertion) {
  gort::Run([] {
    any s = "text";
    EXPECT_EQ(gort::as<std::string>(s), "text");
    auto [v, ok] = gort::as2<int>(s);
    EXPECT_FALSE(ok);
    EXPECT_EQ(v, 0);
    any r = recovered([&] { gort::as<int>(s); });
    EXPECT_EQ(r.String(), "interface conversion: interface {} is std::string, not int");
    auto* e = r.get_if<gort::runtime::TypeAssertionError>();
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->concrete(), "std::string");
    EXPECT_EQ(recovered([] { gort::as<int>(any()); }).String(), "interface conversion: interface {} is nil, not int");
  });
}

int loadThrough(int* p);

TEST(RuntimeError, NilDereferenceFaultIsARecoverablePanic) {
  gort::Run([] {
    any r = recovered([] { loadThrough(nullptr); });
    EXPECT_EQ(r.String(), "runtime error: invalid memory address or nil pointer dereference");
    auto* e = dynamic_cast<const gort::runtime::Error*>(r.error());
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->signal().sig, SIGSEGV);
    EXPECT_EQ(e->signal().addr, 0u);
  });
}

// UBSan (in the ASan build) would stop the null load before it faults.
[[gnu::noinline, gnu::no_sanitize_undefined]] int loadThrough(int* p) {
  asm volatile("" : "+r"(p));
  return *p;
}

// ---- how values print (Go's printpanicval) -------------------------------------------

enum class Color { red = 2 };
struct Point {
  int x;
};
struct Temp {
  std::string String() const { return "25C"; }
};
struct MyErr {
  std::string Error() const { return "my error"; }
};

TEST(Any, PrintsValuesAsGoPrintsPanicValues) {
  EXPECT_EQ(any().String(), "nil");
  EXPECT_EQ(any("boom").String(), "boom");
  EXPECT_EQ(any(std::string("s")).String(), "s");
  EXPECT_EQ(any(42).String(), "42");
  EXPECT_EQ(any(-7LL).String(), "-7");
  EXPECT_EQ(any(7u).String(), "7");
  EXPECT_EQ(any(true).String(), "true");
  EXPECT_EQ(any(1.5).String(), "+1.500000e+000");
  EXPECT_EQ(any(-0.000123).String(), "-1.230000e-004");
  EXPECT_EQ(any(Color::red).String(), "(anonymous namespace)::Color(2)");
  EXPECT_EQ(any(Temp{}).String(), "25C");
  EXPECT_EQ(any(MyErr{}).String(), "my error");
  EXPECT_EQ(any(std::runtime_error("re")).String(), "re");
  std::string p = any(Point{1}).String();
  EXPECT_EQ(p.rfind("((anonymous namespace)::Point) 0x", 0), 0u) << p;
}

// ---- exception state across goroutine switches ----------------------------------------

TEST(ExceptionState, SurvivesParkingAndMigrationInsideACatchBlock) {
  gort::Run([] {
    int prev = gort::runtime::GOMAXPROCS(4);
    int start = gort::runtime::NumGoroutine();
#if defined(GORT_TSAN)
    constexpr int kG = 50;
#else
    constexpr int kG = 200;
#endif
    auto done = gort::make_chan<int>(kG);
    for (int i = 0; i < kG; i++) {
      gort::go([done, i]() mutable {
        int ok = 0;
        try {
          throw std::runtime_error(std::to_string(i));
        } catch (...) {
          for (int k = 0; k < 20; k++) gort::runtime::Gosched();  // migrate between Ms
          try {
            throw;  // the exception being handled travelled with the goroutine
          } catch (const std::runtime_error& e) {
            ok = std::string(e.what()) == std::to_string(i) && std::uncaught_exceptions() == 0;
          }
        }
        done.send(ok);
      });
    }
    int good = 0;
    for (int i = 0; i < kG; i++) good += done.recv();
    EXPECT_EQ(good, kG);
    // The last senders may still be on their way out (slowly under qemu).
    for (int i = 0; i < 5000 && gort::runtime::NumGoroutine() != start; i++) gort::time::Sleep(gort::time::Millisecond);
    EXPECT_EQ(gort::runtime::NumGoroutine(), start);
    gort::runtime::GOMAXPROCS(prev);
  });
}

TEST(ExceptionState, DeferredCallsThatParkDuringAPanic) {
  gort::Run([] {
    int prev = gort::runtime::GOMAXPROCS(4);
    constexpr int kG = 50;
    auto done = gort::make_chan<std::string>(kG);
    for (int i = 0; i < kG; i++) {
      gort::go([done, i]() mutable {
        std::string got;
        gort::func([&](Defer& defer) {
          defer([&] { got = gort::recover().String(); });
          defer([] {
            for (int k = 0; k < 10; k++) gort::runtime::Gosched();
          });
          gort::panic(std::to_string(i));
        });
        done.send(got == std::to_string(i) ? "ok" : got);
      });
    }
    for (int i = 0; i < kG; i++) EXPECT_EQ(done.recv(), "ok");
    gort::runtime::GOMAXPROCS(prev);
  });
}

// ---- fatal reports, each in a fresh child process --------------------------------------

class PanicDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

void panicStringMain() { gort::panic("boom"); }

TEST_F(PanicDeathTest, UnrecoveredPanicPrintsValueAndTraceAndExits2) {
  // Go 1.19: "panic: boom\n\ngoroutine 1 [running]:\nmain.main()\n\t/tmp/x.go:4 +0x27\n"
  EXPECT_EXIT(gort::Main(0, nullptr, panicStringMain), ::testing::ExitedWithCode(2),
              "^panic: boom\n\ngoroutine 1 \\[running\\]:\n[^\n]*panicStringMain\\(\\)\n\t[^\n]*panic_test.cpp:[0-9]+ "
              "\\+0x[0-9a-f]+\n");
}

void chainMain() {
  gort::func([](Defer& defer) {
    defer([] {
      gort::recover();
      gort::panic("second");
    });
    gort::panic("first");
  });
}

TEST_F(PanicDeathTest, ChainIsPrintedOldestFirst) {
  EXPECT_EXIT(gort::Main(0, nullptr, chainMain), ::testing::ExitedWithCode(2),
              "^panic: first \\[recovered\\]\n\tpanic: second\n\ngoroutine 1 \\[running\\]:\n");
}

void indexMain() {
  std::vector<int> s{1, 2, 3};
  std::printf("%d\n", gort::at(s, 5));
}

TEST_F(PanicDeathTest, IndexOutOfRange) {
  EXPECT_EXIT(gort::Main(0, nullptr, indexMain), ::testing::ExitedWithCode(2),
              "^panic: runtime error: index out of range \\[5\\] with length 3\n\ngoroutine 1 \\[running\\]:\n"
              "[^\n]*indexMain\\(\\)\n");
}

void nilMain() { std::printf("%d\n", loadThrough(nullptr)); }

TEST_F(PanicDeathTest, NilDereferenceFaultPrintsTheSignalLine) {
  EXPECT_EXIT(gort::Main(0, nullptr, nilMain), ::testing::ExitedWithCode(2),
              "^panic: runtime error: invalid memory address or nil pointer dereference\n"
              "\\[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x[0-9a-f]+\\]\n\n"
              "goroutine 1 \\[running\\]:\n[^\n]*loadThrough\\(int\\*\\)\n");
}

void panicNilMain() { gort::panic(nullptr); }

TEST_F(PanicDeathTest, PanicNil) {
  EXPECT_EXIT(gort::Main(0, nullptr, panicNilMain), ::testing::ExitedWithCode(2),
              "^panic: panic called with nil argument\n\ngoroutine 1 \\[running\\]:\n");
  EXPECT_EXIT(
      {
        setenv("GODEBUG", "panicnil=1", 1);
        gort::Main(0, nullptr, panicNilMain);
      },
      ::testing::ExitedWithCode(2), "^panic: nil\n\ngoroutine 1 \\[running\\]:\n");
}

void blockedWorker(gort::chan<int> c) { c.recv(); }

void twoGoroutinesMain() {
  auto c = gort::make_chan<int>();
  gort::go(blockedWorker, c);
  for (int i = 0; i < 100; i++) gort::runtime::Gosched();
  gort::panic("boom");
}

TEST_F(PanicDeathTest, GotracebackChoosesTheGoroutinesShown) {
  EXPECT_EXIT(
      {
        setenv("GOTRACEBACK", "none", 1);
        gort::Main(0, nullptr, twoGoroutinesMain);
      },
      ::testing::ExitedWithCode(2), "^panic: boom\n$");
  EXPECT_EXIT(
      {
        setenv("GOTRACEBACK", "single", 1);
        gort::Main(0, nullptr, twoGoroutinesMain);
      },
      ::testing::ExitedWithCode(2), "^panic: boom\n\ngoroutine 1 \\[running\\]:\n[^\n]*twoGoroutinesMain\\(\\)\n\t[^\n]*\n$");
  EXPECT_EXIT(
      {
        setenv("GOTRACEBACK", "all", 1);
        gort::Main(0, nullptr, twoGoroutinesMain);
      },
      ::testing::ExitedWithCode(2),
      "^panic: boom\n\ngoroutine 1 \\[running\\]:\n.*goroutine [0-9]+ \\[chan receive\\]:\n.*"
      "blockedWorker\\(gort::chan<int>\\)\n.*created by [^\n]*twoGoroutinesMain in goroutine 1\n");
  EXPECT_EXIT(
      {
        setenv("GOTRACEBACK", "crash", 1);
        gort::Main(0, nullptr, twoGoroutinesMain);
      },
      ::testing::KilledBySignal(SIGABRT), "^panic: boom\n");
}

// A checked nil dereference reports as Go's nil fault does; a divide by
// zero has no signal line in Go (the trapped one: crash_test).
void derefMain() {
  int* volatile p = nullptr;
  std::printf("%d\n", gort::deref(p));
}
void checkedDivMain() {
  volatile int z = 0;
  std::printf("%d\n", gort::div(10, int(z)));
}

TEST_F(PanicDeathTest, CheckedNilDereferencePrintsTheSignalLine) {
  EXPECT_EXIT(gort::Main(0, nullptr, derefMain), ::testing::ExitedWithCode(2),
              "^panic: runtime error: invalid memory address or nil pointer dereference\n"
              "\\[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x[0-9a-f]+\\]\n\n"
              "goroutine 1 \\[running\\]:\n[^\n]*derefMain\\(\\)\n");
}

TEST_F(PanicDeathTest, DivideByZeroHasNoSignalLine) {
  EXPECT_EXIT(gort::Main(0, nullptr, checkedDivMain), ::testing::ExitedWithCode(2),
              "^panic: runtime error: integer divide by zero\n\ngoroutine 1 \\[running\\]:\n");
}

// A function whose last act is a runtime entry that panics keeps its frame
// (the entry is no tail call), as Go's caller of closechan does.
[[gnu::noinline]] void closeChannel(gort::chan<int> c) { gort::close(c); }
[[gnu::noinline]] void sendOne(gort::chan<int> c) { c.send(1); }
[[gnu::noinline]] void finishWork(gort::sync::WaitGroup* wg) { wg->Done(); }
void closeNilMain() { closeChannel(nullptr); }
void doneTooOftenMain() {
  gort::sync::WaitGroup wg;
  finishWork(&wg);
}
void sendOnClosedMain() {
  auto c = gort::make_chan<int>(1);
  gort::close(c);
  sendOne(c);
}

TEST_F(PanicDeathTest, ACallerEndingInAPanickingRuntimeEntryKeepsItsFrame) {
  EXPECT_EXIT(gort::Main(0, nullptr, closeNilMain), ::testing::ExitedWithCode(2),
              "^panic: close of nil channel\n\ngoroutine 1 \\[running\\]:\n[^\n]*closeChannel\\(");
  EXPECT_EXIT(gort::Main(0, nullptr, sendOnClosedMain), ::testing::ExitedWithCode(2),
              "^panic: send on closed channel\n\ngoroutine 1 \\[running\\]:\n[^\n]*sendOne\\(");
  EXPECT_EXIT(gort::Main(0, nullptr, doneTooOftenMain), ::testing::ExitedWithCode(2),
              "^panic: sync: negative WaitGroup counter\n\ngoroutine 1 \\[running\\]:\n.*finishWork\\(");
}

// Thrown values print as panic(v) prints the same value.
template <auto Throw>
void throwInGoroutineMain() {
  auto c = gort::make_chan<int>();
  gort::go([] { Throw(); });
  c.recv();
}
struct Opaque {};

TEST_F(PanicDeathTest, ThrownValuesPrintAsPanicValues) {
  auto expect = [](void (*f)(), const std::string& line) {
    EXPECT_EXIT(gort::Main(0, nullptr, f), ::testing::ExitedWithCode(2),
                "^" + line + "\n\ngoroutine [0-9]+ \\[running\\]:\n");
  };
  expect(throwInGoroutineMain<[] { throw 42; }>, "panic: 42");
  expect(throwInGoroutineMain<[] { throw 1.5; }>, "panic: \\+1\\.500000e\\+000");
  expect(throwInGoroutineMain<[] { throw std::string("thrown string"); }>, "panic: thrown string");
  expect(throwInGoroutineMain<[] { throw "thrown literal"; }>, "panic: thrown literal");
  expect(throwInGoroutineMain<[] { throw std::runtime_error("bad thing"); }>, "panic: bad thing");
  expect(throwInGoroutineMain<[] { throw Opaque{}; }>, "panic: \\(\\(anonymous namespace\\)::Opaque\\) unknown exception");
}

// Output buffered in stdio comes out before the report, as Go's does.
void printThenPanicMain() {
  dup2(2, 1);  // stdout becomes the death test's captured pipe: fully buffered
  std::printf("hello");
  gort::panic("boom");
}

TEST_F(PanicDeathTest, BufferedStdoutComesOutBeforeTheReport) {
  EXPECT_EXIT(gort::Main(0, nullptr, printThenPanicMain), ::testing::ExitedWithCode(2),
              "hellopanic: boom\n\ngoroutine 1 \\[running\\]:\n");
}

// A panic value whose printing panics: Go's preprintpanics throws.
struct ErrorPanics : std::exception {
  std::string Error() const { gort::panic("Error() itself panics"); }
};
struct StringPanics {
  std::string String() const { gort::panic("String() itself panics"); }
};
struct ErrorFaults : std::exception {
  int* p = nullptr;
  std::string Error() const { return std::to_string(gort::deref(p)); }
};

TEST_F(PanicDeathTest, PanicWhilePrintingThePanicValueIsFatal) {
  EXPECT_EXIT(gort::Main(0, nullptr, [] { gort::panic(ErrorPanics{}); }), ::testing::ExitedWithCode(2),
              "^fatal error: panic while printing panic value: Error\\(\\) itself panics\n\ngoroutine 1 \\[running\\]:\n");
  EXPECT_EXIT(gort::Main(0, nullptr, [] { gort::panic(StringPanics{}); }), ::testing::ExitedWithCode(2),
              "^fatal error: panic while printing panic value: String\\(\\) itself panics\n\ngoroutine 1 \\[running\\]:\n");
  EXPECT_EXIT(gort::Main(0, nullptr, [] { gort::panic(ErrorFaults{}); }), ::testing::ExitedWithCode(2),
              "^fatal error: panic while printing panic value: type gort::runtime::Error\n"
              "\\[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x[0-9a-f]+\\]\n\n"
              "goroutine 1 \\[running\\]:\n");
}

void goroutinePanicMain() {
  auto c = gort::make_chan<int>();
  gort::go([] {
    gort::func([](Defer& defer) {
      defer([] { std::fprintf(stderr, "deferred ran\n"); });
      gort::panic(std::string("in goroutine"));
    });
  });
  c.recv();
}

TEST_F(PanicDeathTest, UnrecoveredPanicInAGoroutineRunsItsDeferredCallsFirst) {
  EXPECT_EXIT(gort::Main(0, nullptr, goroutinePanicMain), ::testing::ExitedWithCode(2),
              "^deferred ran\npanic: in goroutine\n\ngoroutine [0-9]+ \\[running\\]:\n");
}

}  // namespace
