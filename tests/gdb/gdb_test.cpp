// Tests of src/runtime/runtime-gdb.py: gdb runs gdb_target to its
// breakpoint, lists the goroutines and backtraces them, writes a core file
// with generate-core-file, and a second gdb reads the goroutines back from
// that core (no live inferior: the extension must only read memory).
// Skipped when no gdb is installed.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::string findGdb() {
  for (const char* p : {"/usr/bin/gdb", "/usr/bin/gdb-multiarch", "/usr/local/bin/gdb"})
    if (access(p, X_OK) == 0) return p;
  return "";
}

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Runs gdb in batch mode with the script sourced and `cmds` (-ex each);
// returns stdout and stderr together.
std::string runGdb(const std::string& gdb, const std::vector<std::string>& pre, const std::vector<std::string>& cmds,
                   bool autoload = false) {
  std::string line = gdb + " -batch -nx";
  if (!autoload) line += " -iex " + quote("set auto-load python-scripts off") + " -ex " + quote("source " GORT_GDB_SCRIPT);
  for (const auto& a : pre) line += " " + a;
  for (const auto& c : cmds) line += " -ex " + quote(c);
  line += " 2>&1";
  FILE* f = popen(line.c_str(), "r");
  if (!f) return "popen failed";
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  pclose(f);
  return out;
}

struct Listed {
  int goid;
  std::string state;  // "waiting (chan receive)", "running [M 0, LWP 123]"...
  std::string where;
};

// The lines of `info goroutines`.
std::vector<Listed> parseInfo(const std::string& out) {
  static const std::regex re(R"(^[ *]\s+(\d+) (\S+(?: \([^)]*\))?(?: \[[^\]]*\])?)\s+(.*)$)");
  std::vector<Listed> gs;
  std::istringstream in(out);
  std::string l;
  std::smatch m;
  while (std::getline(in, l))
    if (std::regex_match(l, m, re)) gs.push_back({std::stoi(m[1]), m[2], m[3]});
  return gs;
}

int countState(const std::vector<Listed>& gs, const std::string& prefix, const std::string& where) {
  int n = 0;
  for (const auto& g : gs) n += g.state.rfind(prefix, 0) == 0 && g.where.find(where) != std::string::npos;
  return n;
}

int firstWith(const std::vector<Listed>& gs, const std::string& state) {
  for (const auto& g : gs)
    if (g.state == state) return g.goid;
  return -1;
}

// The section `goroutine all bt` prints for goroutine `id`.
std::string section(const std::string& out, int id) {
  std::string head = "\ngoroutine " + std::to_string(id) + " (";
  size_t b = out.find(head);
  if (b == std::string::npos) return "";
  size_t e = out.find("\ngoroutine ", b + head.size());
  return out.substr(b, e == std::string::npos ? std::string::npos : e - b);
}

void checkListing(const std::vector<Listed>& gs, const std::string& out) {
  EXPECT_EQ(countState(gs, "waiting (chan receive)", "blockedReceiver"), 10) << out;
  EXPECT_EQ(countState(gs, "waiting (sleep)", "longSleeper"), 3) << out;
  EXPECT_EQ(countState(gs, "running", "gdb_breakpoint_here"), 1) << out;
}

TEST(Gdb, LiveProcessAndCore) {
  std::string gdb = findGdb();
  if (gdb.empty()) GTEST_SKIP() << "no gdb installed";
  char dir[] = "/tmp/gort-gdb-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string core = std::string(dir) + "/core";

  // Where the kernel has MADV_GUARD_INSTALL (Linux 6.13), a stack guard
  // page lies inside the stacks' mapping, and generate-core-file, which
  // reads memory 1 MiB at a time, writes zeros for every 1 MiB block that
  // holds one: most parked contexts would be lost. So the target is set to
  // mprotect guards (stack.cpp's fallback for older kernels) before its
  // first goroutine starts.
  std::string live = runGdb(gdb, {quote(GORT_GDB_TARGET)},
                            {"set pagination off", "set confirm off", "break main", "run",
                             "set var *(int*)&'gort::internal::(anonymous namespace)::guardMode' = 2",
                             "break gdb_breakpoint_here", "continue",
                             "echo @@info\\n", "info goroutines", "echo @@all\\n", "goroutine all bt",
                             "echo @@after\\n", "bt 1", "generate-core-file " + core, "kill"});
  size_t at = live.find("@@info"), all = live.find("@@all"), after = live.find("@@after");
  ASSERT_TRUE(at != std::string::npos && all != std::string::npos && after != std::string::npos) << live;
  auto gs = parseInfo(live.substr(at, all - at));
  checkListing(gs, live);

  int recv = firstWith(gs, "waiting (chan receive)"), sleeper = firstWith(gs, "waiting (sleep)");
  ASSERT_GT(recv, 0) << live;
  ASSERT_GT(sleeper, 0) << live;
  std::string bts = live.substr(all, after - all);
  // A parked goroutine's backtrace goes through the park, the user function
  // and the goroutine's entry.
  std::string rbt = section(bts, recv);
  EXPECT_NE(rbt.find("gort::internal::mcall"), std::string::npos) << rbt;
  EXPECT_NE(rbt.find("blockedReceiver"), std::string::npos) << rbt;
  EXPECT_NE(rbt.find("gort_goroutine_main"), std::string::npos) << rbt;
  EXPECT_NE(section(bts, sleeper).find("longSleeper"), std::string::npos) << bts;
  int running = -1;
  for (const auto& g : gs)
    if (g.state.rfind("running", 0) == 0) running = g.goid;
  std::string mbt = section(bts, running);
  EXPECT_NE(mbt.find("gdb_breakpoint_here"), std::string::npos) << mbt;
  EXPECT_NE(mbt.find("gdbMain"), std::string::npos) << mbt;
  // The registers are put back: the selected thread still stands at the
  // breakpoint.
  EXPECT_NE(live.substr(after).find("#0  gdb_breakpoint_here"), std::string::npos) << live.substr(after);

  // The core: the same listing, and one goroutine's backtrace by id.
  ASSERT_EQ(access(core.c_str(), R_OK), 0) << live;
  std::string fromCore =
      runGdb(gdb, {quote(GORT_GDB_TARGET), quote(core)},
             {"set pagination off", "echo @@info\\n", "info goroutines", "echo @@bt\\n",
              "goroutine " + std::to_string(recv) + " bt", "echo @@sleep\\n",
              "goroutine " + std::to_string(sleeper) + " bt"});
  at = fromCore.find("@@info");
  size_t bt = fromCore.find("@@bt"), sl = fromCore.find("@@sleep");
  ASSERT_TRUE(at != std::string::npos && bt != std::string::npos && sl != std::string::npos) << fromCore;
  auto cgs = parseInfo(fromCore.substr(at, bt - at));
  checkListing(cgs, fromCore);
  EXPECT_EQ(cgs.size(), gs.size()) << fromCore;
  std::string cbt = fromCore.substr(bt, sl - bt);
  EXPECT_NE(cbt.find("blockedReceiver"), std::string::npos) << cbt;
  EXPECT_NE(cbt.find("gort::internal::mcall"), std::string::npos) << cbt;
  EXPECT_NE(fromCore.substr(sl).find("longSleeper"), std::string::npos) << fromCore.substr(sl);

  unlink(core.c_str());
  rmdir(dir);
}

// A core the kernel writes: GOTRACEBACK=crash makes SIGQUIT abort after the
// goroutine dump. Skipped where the kernel hands cores to a program
// (core_pattern "|...") or writes none into the working directory.
TEST(Gdb, KernelCoreFromGotracebackCrash) {
  std::string gdb = findGdb();
  if (gdb.empty()) GTEST_SKIP() << "no gdb installed";
  std::string pattern;
  std::getline(std::ifstream("/proc/sys/kernel/core_pattern"), pattern);
  if (pattern.empty() || pattern[0] == '|' || pattern.find('/') != std::string::npos)
    GTEST_SKIP() << "core_pattern " << pattern << " does not write into the working directory";
  char dir[] = "/tmp/gort-gdbcore-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    close(out[0]);
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 2);  // the goroutine dump
    if (chdir(dir) != 0) _exit(100);
    rlimit rl{RLIM_INFINITY, RLIM_INFINITY};
    setrlimit(RLIMIT_CORE, &rl);
    setenv("GOTRACEBACK", "crash", 1);
    execl(GORT_GDB_TARGET, GORT_GDB_TARGET, "wait", static_cast<char*>(nullptr));
    _exit(101);
  }
  close(out[1]);
  char buf[16] = {};
  ssize_t n = read(out[0], buf, sizeof buf - 1);  // "ready": everyone is parked
  close(out[0]);
  usleep(300 * 1000);  // main goes from its printf into Sleep
  kill(pid, n > 0 ? SIGQUIT : SIGKILL);
  ASSERT_GT(n, 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT) << status;
  std::string core = std::string(dir) + "/" + pattern;
  if (access(core.c_str(), R_OK) != 0) core = std::string(dir) + "/core." + std::to_string(pid);
  if (!WCOREDUMP(status) || access(core.c_str(), R_OK) != 0) {
    rmdir(dir);
    GTEST_SKIP() << "no core written (core_pattern " << pattern << ")";
  }
  std::string fromCore = runGdb(gdb, {quote(GORT_GDB_TARGET), quote(core)},
                                {"echo @@info\\n", "info goroutines", "echo @@bt\\n", "goroutine all bt"});
  unlink(core.c_str());
  rmdir(dir);
  size_t at = fromCore.find("@@info"), bt = fromCore.find("@@bt");
  ASSERT_TRUE(at != std::string::npos && bt != std::string::npos) << fromCore;
  auto gs = parseInfo(fromCore.substr(at, bt - at));
  EXPECT_EQ(countState(gs, "waiting (chan receive)", "blockedReceiver"), 10) << fromCore;
  EXPECT_EQ(countState(gs, "waiting (sleep)", "longSleeper"), 3) << fromCore;
  EXPECT_EQ(countState(gs, "waiting (sleep)", "gdbMain"), 1) << fromCore;
  std::string bts = fromCore.substr(bt);
  int recv = firstWith(gs, "waiting (chan receive)");
  EXPECT_NE(section(bts, recv).find("blockedReceiver"), std::string::npos) << bts;
  EXPECT_NE(section(bts, 1).find("gdbMain"), std::string::npos) << bts;
}

// The library names the script in .debug_gdb_scripts, so gdb offers to
// auto-load it (its safe-path decides whether it does).
TEST(Gdb, ScriptNamedForAutoLoad) {
  std::string gdb = findGdb();
  if (gdb.empty()) GTEST_SKIP() << "no gdb installed";
  std::string out = runGdb(gdb, {quote(GORT_GDB_TARGET)}, {"info auto-load python-scripts"}, true);
  EXPECT_NE(out.find(GORT_GDB_SCRIPT_NAME), std::string::npos) << out;
}

}  // namespace
