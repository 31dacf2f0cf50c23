// Package initialisation (include/gort/init.hpp): the order gort::Main runs
// variable initialisers and init functions in, across translation units
// (init_test_pkgs.cpp holds half the packages), the errors the Go compiler
// would report, and GODEBUG=inittrace=1. Each case runs gort::Main in a
// fresh child process, since inits run once per process.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "gort/go.hpp"
#include "gort/init.hpp"
#include "gort/new.hpp"
#include "gort/slice.hpp"
#include "gort/runtime.hpp"
#include "runtime/export_test.hpp"

namespace inittest {
std::string& events();
void record(const char* what);
extern int a, b, c, d;
extern int64_t initGoroutine;
extern bool initOnMainThread;
}  // namespace inittest

namespace {

using ::testing::AllOf;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::Not;
using inittest::record;

// example.com/app is declared in both TUs with different imports: its
// imports are the union.
gort::Package mainPkg("main", {"example.com/app", "example.com/big", "example.com/empty"});
gort::Init mainInit(mainPkg, [] { record("main.init"); });
gort::Package appPkg("example.com/app", {"example.com/log"});
gort::Init appInit(appPkg, [] { record("app.initA"); });
gort::Package emptyPkg("example.com/empty");  // no initialisers: no inittrace line
gort::slice<char> bigBuffer;  // a package variable on gort's heap
gort::Ptr<std::pair<long, long>> bigPair[2];
gort::Package bigPkg("example.com/big");
gort::Var bigVar(bigPkg, "buffer", [] {
  bigBuffer = gort::make_slice<char>(1 << 20);
  for (int i = 0; i < (1 << 20); i += 4096) bigBuffer[i] = 1;
  for (auto& p : bigPair) p = gort::New<std::pair<long, long>>(1, 2);
  char* malloced = new char[100];  // not gort's heap: not counted
  delete[] malloced;
  record("big");
});

class InitTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

void noop() {}

// Checks the recorded order in the child and says what it saw.
void checkOrderMain() {
  std::string ev = inittest::events();
  // big has no relation to the others but main, and app's init functions
  // come from two TUs: those orders are open; the rest is fixed.
  size_t big = ev.find("big ");
  bool bigBeforeMain = big != std::string::npos && big < ev.find("main.init");
  if (big != std::string::npos) ev.erase(big, 4);
  const std::string prefix = "log.d log.b log.c log.a log.init1 log.init2 db.init ";
  bool ok = bigBeforeMain &&
            (ev == prefix + "app.initA app.initB main.init " || ev == prefix + "app.initB app.initA main.init ") &&
            inittest::a == 9 && inittest::b == 4 && inittest::c == 5 && inittest::d == 5 &&
            inittest::initGoroutine == 1 && inittest::initOnMainThread;
  std::fprintf(stderr, "%s: %s a=%d b=%d c=%d d=%d goroutine=%lld main thread=%d\n",
               ok ? "init order ok" : "init order WRONG", inittest::events().c_str(), inittest::a, inittest::b,
               inittest::c, inittest::d, static_cast<long long>(inittest::initGoroutine),
               int(inittest::initOnMainThread));
}

TEST_F(InitTest, ImportsFirstVariablesByDependencyThenInitFunctionsMainLast) {
  EXPECT_EXIT(gort::Main(0, nullptr, checkOrderMain), ::testing::ExitedWithCode(0), "init order ok");
}

TEST_F(InitTest, NothingRunsWithoutMain) {
  // gort::Run (embedded mode) never runs package inits: the process's own
  // main owns start-up there.
  gort::Run([] {});
  EXPECT_EQ(inittest::events(), "");
}

// A variable initialiser that must never run: planning rejects the program
// first.
void mustNotRun() { std::fprintf(stderr, "initialiser ran\n"); }

void registerImportCycle() {
  static gort::Package x("example.com/x", {"example.com/y"});
  static gort::Package y("example.com/y", {"example.com/z"});
  static gort::Package z("example.com/z", {"example.com/x"});
  static gort::Var v(x, "v", mustNotRun);
}

TEST_F(InitTest, ImportCycleIsFatalBeforeAnyInit) {
  EXPECT_EXIT(
      {
        registerImportCycle();
        gort::Main(0, nullptr, noop);
      },
      ::testing::ExitedWithCode(2),
      AllOf(HasSubstr("fatal error: import cycle not allowed: example.com/x imports example.com/y imports "
                      "example.com/z imports example.com/x\n"),
            Not(HasSubstr("initialiser ran"))));
}

void registerUnknownImport() {
  static gort::Package u("example.com/u", {"example.com/log", "example.com/nope"});
  static gort::Var v(u, "v", mustNotRun);
}

TEST_F(InitTest, UnknownImportIsFatal) {
  EXPECT_EXIT(
      {
        registerUnknownImport();
        gort::Main(0, nullptr, noop);
      },
      ::testing::ExitedWithCode(2),
      AllOf(HasSubstr("fatal error: package example.com/u imports example.com/nope, which no gort::Package "
                      "declares\n"),
            Not(HasSubstr("initialiser ran"))));
}

void registerVarCycle() {
  static gort::Package p("example.com/cyc");
  static gort::Var ready(p, "ready", mustNotRun);
  static gort::Var a(p, "a", {"ready", "b"}, mustNotRun);
  static gort::Var b(p, "b", {"c"}, mustNotRun);
  static gort::Var c(p, "c", {"a"}, mustNotRun);
}

TEST_F(InitTest, InitializationCycleIsFatal) {
  EXPECT_EXIT(
      {
        registerVarCycle();
        gort::Main(0, nullptr, noop);
      },
      ::testing::ExitedWithCode(2),
      AllOf(HasSubstr("fatal error: initialization cycle in package example.com/cyc: a refers to b refers to c "
                      "refers to a\n"),
            Not(HasSubstr("initialiser ran"))));
}

void registerSelfReference() {
  static gort::Package p("example.com/self");
  static gort::Var a(p, "a", {"a"}, mustNotRun);
}

TEST_F(InitTest, SelfReferenceIsAnInitializationCycle) {
  EXPECT_EXIT(
      {
        registerSelfReference();
        gort::Main(0, nullptr, noop);
      },
      ::testing::ExitedWithCode(2), HasSubstr("initialization cycle in package example.com/self: a refers to a\n"));
}

void registerUndefinedDependency() {
  static gort::Package p("example.com/undef");
  static gort::Var a(p, "a", {"missing"}, mustNotRun);
}

TEST_F(InitTest, DependencyOnAnUndefinedVariableIsFatal) {
  EXPECT_EXIT(
      {
        registerUndefinedDependency();
        gort::Main(0, nullptr, noop);
      },
      ::testing::ExitedWithCode(2),
      HasSubstr("fatal error: package example.com/undef: initialiser of a refers to undefined variable missing\n"));
}

void registerTwice() {
  static gort::Package p("example.com/twice");
  static gort::Var a1(p, "a", mustNotRun);
  static gort::Var a2(p, "a", mustNotRun);
}

TEST_F(InitTest, RedeclaredVariableIsFatal) {
  EXPECT_EXIT(
      {
        registerTwice();
        gort::Main(0, nullptr, noop);
      },
      ::testing::ExitedWithCode(2), HasSubstr("fatal error: package example.com/twice: a redeclared\n"));
}

void registerPanickingInit() {
  static gort::Package p("example.com/panics", {"example.com/log"});
  static gort::Init i(p, [] { throw std::runtime_error("init boom"); });
}

void mainMustNotRun() { std::fprintf(stderr, "main ran\n"); }

TEST_F(InitTest, PanicInAnInitFunctionEndsTheProgramBeforeMain) {
  // Go: "panic: init boom\n\ngoroutine 1 [running]:\nmain.init.0()...", exit 2.
  // gort's header may add ", locked to thread": Go's deferred unlock of the
  // init-time thread lock runs before the panic is printed, while an
  // exception nothing catches is reported without unwinding (which keeps
  // the frames of the init function that threw).
  EXPECT_EXIT(
      {
        registerPanickingInit();
        gort::Main(0, nullptr, mainMustNotRun);
      },
      ::testing::ExitedWithCode(2),
      AllOf(ContainsRegex("panic: init boom\n\ngoroutine 1 \\[running(, locked to thread)?\\]:\n"),
            Not(HasSubstr("main ran"))));
}

void registerLockingInit() {
  static gort::Package p("example.com/locks");
  static gort::Init i(p, [] { gort::runtime::LockOSThread(); });
}

void mainStaysOnTheMainThread() {
  gort::runtime::GOMAXPROCS(4);
  bool stayed = true;
  for (int i = 0; i < 1000; i++) {
    gort::go([] {});
    gort::runtime::Gosched();
    stayed = stayed && gettid() == getpid();
  }
  std::fprintf(stderr, "%s\n", stayed ? "main stayed on the main thread" : "main moved");
}

TEST_F(InitTest, LockOSThreadInAnInitKeepsMainOnTheMainThread) {
  // Go's runtime.main locks the main goroutine to the main thread during
  // inits with the runtime's own count, so an init's LockOSThread outlives them.
  EXPECT_EXIT(
      {
        registerLockingInit();
        gort::Main(0, nullptr, mainStaysOnTheMainThread);
      },
      ::testing::ExitedWithCode(0), "main stayed on the main thread\n");
}

void lateRegistrationMain() { static gort::Package late("example.com/late"); }

TEST_F(InitTest, RegistrationAfterStartIsFatal) {
  EXPECT_EXIT(gort::Main(0, nullptr, lateRegistrationMain), ::testing::ExitedWithCode(2),
              HasSubstr("fatal error: gort::Package registered after package initialisation started\n"));
}

void inittraceMain() { std::fprintf(stderr, "main ran\n"); }

TEST_F(InitTest, InittracePrintsGosLinePerPackageWithInitialisers) {
  // Go 1.19: "init <path> @<start> ms, <clock> ms clock, <bytes> bytes, <n> allocs".
  const std::string ms = "[0-9]+(\\.[0-9]+)? ms";
  EXPECT_EXIT(
      {
        setenv("GODEBUG", "inittrace=1", 1);
        gort::Main(0, nullptr, inittraceMain);
      },
      ::testing::ExitedWithCode(0),
      AllOf(ContainsRegex("init example.com/log @" + ms + ", " + ms + " clock, 0 bytes, 0 allocs\n"),
            ContainsRegex("init example.com/log @.*init example.com/db @.*init example.com/app @.*init main @"),
            ContainsRegex("init main @" + ms + ", " + ms + " clock, 0 bytes, 0 allocs\nmain ran\n"),
            // The 1 MiB slice and two 16-byte objects on gort's heap.
            ContainsRegex("init example.com/big @" + ms + ", " + ms + " clock, 1048608 bytes, 3 allocs\n"),
            Not(HasSubstr("init example.com/empty"))));
}

TEST_F(InitTest, NoInittraceByDefault) {
  EXPECT_EXIT(
      {
        unsetenv("GODEBUG");
        gort::Main(0, nullptr, inittraceMain);
      },
      ::testing::ExitedWithCode(0), AllOf(HasSubstr("main ran\n"), Not(HasSubstr("init main @"))));
}

TEST(FmtNSAsMS, MatchesGosFormat) {
  using gort::internal::fmtNSAsMS;
  EXPECT_EQ(fmtNSAsMS(0), "0");
  EXPECT_EQ(fmtNSAsMS(999), "0");
  EXPECT_EQ(fmtNSAsMS(1000), "0.001");
  EXPECT_EQ(fmtNSAsMS(7500), "0.007");
  EXPECT_EQ(fmtNSAsMS(19000), "0.019");
  EXPECT_EQ(fmtNSAsMS(110000), "0.11");
  EXPECT_EQ(fmtNSAsMS(1234567), "1.2");
  EXPECT_EQ(fmtNSAsMS(5000000), "5.0");
  EXPECT_EQ(fmtNSAsMS(9999999), "9.9");
  EXPECT_EQ(fmtNSAsMS(10000000), "10");
  EXPECT_EQ(fmtNSAsMS(123456789), "123");
}

}  // namespace
