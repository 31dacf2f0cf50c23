// Environment variables (runtime1.cpp) parsed as Go 1.19 parses them,
// malformed values included. Each expectation below was checked against Go
// 1.19 with the equivalent Go program (runtime.GOMAXPROCS(0), GODEBUG's
// visible effect, a panic under each GOTRACEBACK).
//
// The parsers are tested in-process (white box, through runtime/stubs.hpp,
// before this process starts the runtime); the start-up path that applies
// them is tested end to end in child processes running gort::Main.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sched.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "gort/go.hpp"
#include "gort/runtime.hpp"
#include "runtime/export_test.hpp"

namespace {

namespace rt = gort::internal;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

// Sets the three variables for one test and restores them, and the parsed
// state, afterwards.
class EnvParse : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_ = rt::debug;
    for (const char* name : kNames) unsetenv(name);
  }
  void TearDown() override {
    for (const char* name : kNames) unsetenv(name);
    rt::parsedebugvars();
    rt::debug = saved_;
  }
  static constexpr const char* kNames[] = {"GODEBUG", "GOTRACEBACK", "GOMAXPROCS"};
  rt::DebugVars saved_;
};

int32_t gomaxprocsFor(const char* value) {
  setenv("GOMAXPROCS", value, 1);
  return rt::gogetenvGOMAXPROCS();  // 0: use NumCPU
}

TEST_F(EnvParse, GOMAXPROCSTakesOnlyAPositiveInt32) {
  EXPECT_EQ(gomaxprocsFor("3"), 3);
  EXPECT_EQ(gomaxprocsFor("03"), 3);
  EXPECT_EQ(gomaxprocsFor("99999"), 99999);
  EXPECT_EQ(gomaxprocsFor("2147483647"), 2147483647);
  for (const char* bad : {"", "abc", "0", "-1", "-0", " 4", "4 ", "+3", "3x", "0x10", "2147483648",
                          "99999999999999999999", "-"}) {
    EXPECT_EQ(gomaxprocsFor(bad), 0) << "GOMAXPROCS='" << bad << "'";
  }
  unsetenv("GOMAXPROCS");
  EXPECT_EQ(rt::gogetenvGOMAXPROCS(), 0);
}

rt::DebugVars parseGODEBUG(const char* value) {
  rt::debug = rt::DebugVars{};
  setenv("GODEBUG", value, 1);
  rt::parsedebugvars();
  return rt::debug;
}

TEST_F(EnvParse, GODEBUGIgnoresUnknownNamesAndMalformedValues) {
  rt::DebugVars d = parseGODEBUG("schedtrace=x,unknownknob=5,inittrace=1,=3,noequals,,scheddetail=+1");
  EXPECT_EQ(d.schedtrace, 0);
  EXPECT_EQ(d.inittrace, 1);
  EXPECT_EQ(d.scheddetail, 0);

  d = parseGODEBUG("inittrace=1,inittrace=x");  // a bad later value keeps the earlier one
  EXPECT_EQ(d.inittrace, 1);
  d = parseGODEBUG("inittrace=1,inittrace=0");  // the last valid one wins
  EXPECT_EQ(d.inittrace, 0);
  d = parseGODEBUG(" inittrace=1");  // names are not trimmed
  EXPECT_EQ(d.inittrace, 0);
  d = parseGODEBUG("inittrace =1");
  EXPECT_EQ(d.inittrace, 0);
  d = parseGODEBUG("schedtrace=01,tracebackancestors=-3,asyncpreemptoff=2147483648");
  EXPECT_EQ(d.schedtrace, 1);
  EXPECT_EQ(d.tracebackancestors, -3);
  EXPECT_EQ(d.asyncpreemptoff, 0);
  d = parseGODEBUG("scheddetail=1,schedtrace=1000,asyncpreemptoff=1,panicnil=1");
  EXPECT_EQ(d.scheddetail, 1);
  EXPECT_EQ(d.schedtrace, 1000);
  EXPECT_EQ(d.asyncpreemptoff, 1);
  EXPECT_EQ(d.panicnil, 1);
}

rt::TracebackLevel tracebackFor(const char* value) {
  if (value) {
    setenv("GOTRACEBACK", value, 1);
  } else {
    unsetenv("GOTRACEBACK");
  }
  rt::parsedebugvars();
  return rt::gotraceback();
}

void expectTraceback(const char* value, int32_t level, bool all, bool crash) {
  rt::TracebackLevel t = tracebackFor(value);
  EXPECT_EQ(t.level, level) << "GOTRACEBACK='" << (value ? value : "(unset)") << "'";
  EXPECT_EQ(t.all, all) << "GOTRACEBACK='" << (value ? value : "(unset)") << "'";
  EXPECT_EQ(t.crash, crash) << "GOTRACEBACK='" << (value ? value : "(unset)") << "'";
}

TEST_F(EnvParse, GOTRACEBACKWordsNumbersAndGarbage) {
  expectTraceback(nullptr, 1, false, false);
  expectTraceback("", 1, false, false);
  expectTraceback("single", 1, false, false);
  expectTraceback("none", 0, false, false);
  expectTraceback("all", 1, true, false);
  expectTraceback("system", 2, true, false);
  expectTraceback("crash", 2, true, true);
  // A number is a level with every goroutine shown (Go: GOTRACEBACK=1
  // prints all goroutines, unlike "single").
  expectTraceback("0", 0, true, false);
  expectTraceback("1", 1, true, false);
  expectTraceback("2", 2, true, false);
  expectTraceback("7", 7, true, false);
  // Anything else suppresses tracebacks, like "none".
  for (const char* bad : {"garbage", "-1", " 2", "2 ", "+2", "ALL", "4294967296"}) {
    expectTraceback(bad, 0, true, false);
  }
}

TEST_F(EnvParse, SetTracebackCannotGoBelowTheEnvironment) {
  tracebackFor("system");
  rt::setTracebackLevel("none");
  rt::TracebackLevel t = rt::gotraceback();
  EXPECT_EQ(t.level, 2);
  EXPECT_TRUE(t.all);
  rt::setTracebackLevel("crash");
  EXPECT_TRUE(rt::gotraceback().crash);

  tracebackFor(nullptr);
  rt::setTracebackLevel("none");
  EXPECT_EQ(rt::gotraceback().level, 1);  // the default "single" is a floor too (Go: traceback_env)
}

// ---- end to end: gort::Main applies the environment --------------------------------

class EnvMain : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

void printProcs() {
  int procs = gort::runtime::GOMAXPROCS(0);
  std::fprintf(stderr, "GOMAXPROCS=%d %s\n", procs, procs == gort::runtime::NumCPU() ? "(NumCPU)" : "(set)");
}

TEST_F(EnvMain, GOMAXPROCSFromTheEnvironment) {
  EXPECT_EXIT(
      {
        setenv("GOMAXPROCS", "3", 1);
        gort::Main(0, nullptr, printProcs);
      },
      ::testing::ExitedWithCode(0), "GOMAXPROCS=3 ");
}

TEST_F(EnvMain, MalformedGOMAXPROCSMeansNumCPU) {
  for (const char* bad : {"abc", "0", "-1", " 4"}) {
    EXPECT_EXIT(
        {
          setenv("GOMAXPROCS", bad, 1);
          gort::Main(0, nullptr, printProcs);
        },
        ::testing::ExitedWithCode(0), "GOMAXPROCS=[0-9]+ \\(NumCPU\\)\n")
        << "GOMAXPROCS='" << bad << "'";
  }
}

void printDebug() {
  std::fprintf(stderr, "schedtrace=%d inittrace=%d scheddetail=%d\n", rt::debug.schedtrace, rt::debug.inittrace,
               rt::debug.scheddetail);
}

TEST_F(EnvMain, MalformedGODEBUGFieldsAreIgnored) {
  EXPECT_EXIT(
      {
        setenv("GODEBUG", "schedtrace=x,nosuchknob=1,inittrace=1,scheddetail", 1);
        gort::Main(0, nullptr, printDebug);
      },
      ::testing::ExitedWithCode(0), "schedtrace=0 inittrace=1 scheddetail=0\n");
}

// main panics (an exception escapes it) while another goroutine is blocked.
void panicWithAnotherGoroutine() {
  gort::go([] {
    for (;;) gort::runtime::Gosched();
  });
  gort::runtime::Gosched();
  throw std::runtime_error("boom");
}

void panicUnder(const char* gotraceback) {
  setenv("GOTRACEBACK", gotraceback, 1);
  gort::Main(0, nullptr, panicWithAnotherGoroutine);
}

TEST_F(EnvMain, GOTRACEBACKNoneAndGarbagePrintOnlyThePanic) {
  for (const char* v : {"none", "garbage", "-1"}) {
    EXPECT_EXIT(panicUnder(v), ::testing::ExitedWithCode(2),
                AllOf(HasSubstr("panic: boom\n"), Not(HasSubstr("goroutine "))))
        << "GOTRACEBACK=" << v;
  }
}

TEST_F(EnvMain, GOTRACEBACKSingleShowsThePanickingGoroutine) {
  EXPECT_EXIT(panicUnder("single"), ::testing::ExitedWithCode(2),
              AllOf(HasSubstr("panic: boom\n\ngoroutine 1 [running]:\n"), Not(HasSubstr("goroutine 2 "))));
}

TEST_F(EnvMain, NumericGOTRACEBACKShowsAllGoroutines) {
  for (const char* v : {"1", "all"}) {
    EXPECT_EXIT(panicUnder(v), ::testing::ExitedWithCode(2),
                AllOf(HasSubstr("panic: boom\n\ngoroutine 1 [running]:\n"), HasSubstr("\ngoroutine 2 [")))
        << "GOTRACEBACK=" << v;
  }
}

TEST_F(EnvMain, GOTRACEBACKCrashAborts) {
  EXPECT_EXIT(panicUnder("crash"), ::testing::KilledBySignal(SIGABRT), "panic: boom\n");
}

// ---- NumCPU: affinity mask and cgroup CPU quota (os_linux.cpp) --------------------

// A fake cgroup mount in a fresh temporary directory.
class CgroupTree : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "gort-cgroup-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  void write(const std::string& rel, const std::string& content) {
    std::filesystem::path p = root_ / rel;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << content;
  }
  int32_t limit(const std::string& selfCgroup) { return rt::cgroupCPULimit(root_.c_str(), selfCgroup); }
  std::filesystem::path root_;
};

TEST_F(CgroupTree, V2QuotaIsRoundedUp) {
  write("a/b/cpu.max", "250000 100000\n");
  EXPECT_EQ(limit("0::/a/b\n"), 3);
  write("a/b/cpu.max", "50000 100000\n");
  EXPECT_EQ(limit("0::/a/b\n"), 1);
  write("a/b/cpu.max", "200000 100000\n");
  EXPECT_EQ(limit("0::/a/b\n"), 2);
}

TEST_F(CgroupTree, V2NoQuota) {
  EXPECT_EQ(limit("0::/a/b\n"), 0);  // no files at all
  write("a/b/cpu.max", "max 100000\n");
  write("cpu.max", "max 100000\n");
  EXPECT_EQ(limit("0::/a/b\n"), 0);
  write("a/b/cpu.max", "garbage\n");
  EXPECT_EQ(limit("0::/a/b\n"), 0);
  write("a/b/cpu.max", "100000 0\n");
  EXPECT_EQ(limit("0::/a/b\n"), 0);
  EXPECT_EQ(limit(""), 0);  // no /proc/self/cgroup line for v2
}

TEST_F(CgroupTree, V2ParentQuotaCapsTheChild) {
  write("a/b/cpu.max", "400000 100000\n");
  write("a/cpu.max", "150000 100000\n");
  EXPECT_EQ(limit("0::/a/b\n"), 2);
  write("a/cpu.max", "max 100000\n");
  EXPECT_EQ(limit("0::/a/b\n"), 4);
}

TEST_F(CgroupTree, V2WithoutCgroupNamespaceFindsTheLimitAtTheMountRoot) {
  // Inside a container without a cgroup namespace /proc/self/cgroup names
  // the host's path, which does not exist under the container's mount.
  write("cpu.max", "300000 100000\n");
  EXPECT_EQ(limit("0::/system.slice/docker-0123.scope\n"), 3);
}

TEST_F(CgroupTree, V1CfsQuota) {
  const std::string self = "12:memory:/docker/x\n4:cpu,cpuacct:/docker/x\n1:name=systemd:/docker/x\n";
  write("cpu,cpuacct/docker/x/cpu.cfs_quota_us", "200000\n");
  write("cpu,cpuacct/docker/x/cpu.cfs_period_us", "100000\n");
  EXPECT_EQ(limit(self), 2);
  write("cpu,cpuacct/docker/x/cpu.cfs_quota_us", "-1\n");
  EXPECT_EQ(limit(self), 0);
}

TEST_F(CgroupTree, V1MountNamedCpuAndMountRoot) {
  write("cpu/cpu.cfs_quota_us", "50000\n");  // limit at the mount root only
  write("cpu/cpu.cfs_period_us", "100000\n");
  EXPECT_EQ(limit("3:cpu:/docker/y\n"), 1);
}

TEST_F(CgroupTree, V2TakesPrecedenceOverV1) {
  write("a/cpu.max", "100000 100000\n");
  write("cpu,cpuacct/a/cpu.cfs_quota_us", "800000\n");
  write("cpu,cpuacct/a/cpu.cfs_period_us", "100000\n");
  EXPECT_EQ(limit("4:cpu,cpuacct:/a\n0::/a\n"), 1);
}

int affinityCount() {
  cpu_set_t set;
  CPU_ZERO(&set);
  EXPECT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
  return CPU_COUNT(&set);
}

TEST(NumCPU, IsTheAffinityMaskCappedByTheCgroupQuota) {
  int want = affinityCount();
  if (int32_t quota = rt::cgroupCPULimit("/sys/fs/cgroup"); quota > 0 && quota < want) want = quota;
  EXPECT_EQ(gort::runtime::NumCPU(), want);
}

void printNumCPU() {
  std::fprintf(stderr, "NumCPU=%d GOMAXPROCS=%d\n", gort::runtime::NumCPU(), gort::runtime::GOMAXPROCS(0));
}

// Pins the calling thread (the future m0, which reads the mask in osinit)
// to the first CPU it may use.
void pinToOneCPU() {
  cpu_set_t set, one;
  CPU_ZERO(&set);
  CPU_ZERO(&one);
  sched_getaffinity(0, sizeof(set), &set);
  for (int c = 0; c < CPU_SETSIZE; c++) {
    if (CPU_ISSET(c, &set)) {
      CPU_SET(c, &one);
      break;
    }
  }
  sched_setaffinity(0, sizeof(one), &one);
}

TEST_F(EnvMain, NumCPUHonoursTheAffinityMask) {
  EXPECT_EXIT(
      {
        unsetenv("GOMAXPROCS");
        pinToOneCPU();
        gort::Main(0, nullptr, printNumCPU);
      },
      ::testing::ExitedWithCode(0), "NumCPU=1 GOMAXPROCS=1\n");
}

TEST(Version, SaysWhatItIs) {
  EXPECT_THAT(gort::runtime::Version(), ::testing::StartsWith("gort"));
  EXPECT_THAT(gort::runtime::Version(), HasSubstr("go1.19"));
  EXPECT_STREQ(gort::runtime::GOOS, "linux");
#if defined(__aarch64__)
  EXPECT_STREQ(gort::runtime::GOARCH, "arm64");
#else
  EXPECT_STREQ(gort::runtime::GOARCH, "amd64");
#endif
}

}  // namespace
