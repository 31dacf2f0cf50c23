// os_linux.cpp: Linux specifics: futexes, clocks, CPU count, process exit
// (mirrors runtime/os_linux.go, time_linux_amd64.s, sys_linux_amd64.s).
//
// CPU count: Go 1.19 uses the affinity mask only, so a container limited to
// 2 CPUs by quota on a 64-CPU host gets GOMAXPROCS=64 and burns its quota in
// scheduler overhead. gort also reads the cgroup CPU quota (v2 cpu.max, v1
// cpu.cfs_quota_us/cpu.cfs_period_us) and takes ceil(quota/period) when that
// is smaller, like uber-go/automaxprocs and Go 1.25.
#include "runtime/os_linux.hpp"

#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <x86intrin.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "runtime/lock_futex.hpp"
#include "runtime/runtime2.hpp"
#include "runtime/stubs.hpp"

namespace gort::internal {

void futexsleep(std::atomic<uint32_t>* addr, uint32_t val, int64_t ns) {
  struct timespec ts;
  struct timespec* tsp = nullptr;
  if (ns >= 0) {
    ts.tv_sec = ns / 1000000000;
    ts.tv_nsec = ns % 1000000000;
    tsp = &ts;
  }
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(addr), FUTEX_WAIT_PRIVATE, val, tsp, nullptr, 0);
}

void futexwakeup(std::atomic<uint32_t>* addr, uint32_t cnt) {
  long r = syscall(SYS_futex, reinterpret_cast<uint32_t*>(addr), FUTEX_WAKE_PRIVATE, cnt, nullptr, nullptr, 0);
  if (r < 0) throw_("futexwakeup failed");
}

int64_t nanotime() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

int64_t walltime() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

int32_t gettid() { return int32_t(syscall(SYS_gettid)); }

int64_t cputicks() { return int64_t(__rdtsc()); }

int64_t cputicksToNanos(int64_t ticks) {
  // The rate is measured against the monotonic clock over the process's
  // life so far; callers only need it to the second.
  static const int64_t startTicks = cputicks(), startNanos = nanotime();
  int64_t dt = cputicks() - startTicks, dn = nanotime() - startNanos;
  if (dt <= 0 || dn <= 0) return 0;
  return int64_t(double(ticks) * double(dn) / double(dt));
}

int32_t getproccount() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return 1;
  int n = CPU_COUNT(&set);
  return n > 0 ? n : 1;
}

namespace {

bool readFile(const std::string& path, std::string* out) {
  std::ifstream f(path);
  if (!f) return false;
  std::stringstream ss;
  ss << f.rdbuf();
  *out = ss.str();
  return true;
}

int32_t ceilDiv(int64_t quota, int64_t period) {
  if (quota <= 0 || period <= 0) return 0;
  return int32_t((quota + period - 1) / period);
}

// The process's cgroup path for a controller (v1) or the unified one (v2).
std::string cgroupPath(const std::string& wantController) {
  std::string data;
  if (!readFile("/proc/self/cgroup", &data)) return "";
  std::istringstream in(data);
  std::string line;
  while (std::getline(in, line)) {
    // hierarchy-ID:controller-list:path
    auto a = line.find(':');
    auto b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string controllers = line.substr(a + 1, b - a - 1);
    std::string path = line.substr(b + 1);
    if (wantController.empty() ? controllers.empty()
                               : ("," + controllers + ",").find("," + wantController + ",") != std::string::npos) {
      return path;
    }
  }
  return "";
}

}  // namespace

int32_t cgroupCPULimit(const char* root) {
  std::string base = root;
  std::string data;
  // cgroup v2: "<quota|max> <period>" in cpu.max, walking up the hierarchy.
  for (std::string rel = cgroupPath(""); ; ) {
    if (readFile(base + rel + "/cpu.max", &data)) {
      std::istringstream in(data);
      std::string q;
      int64_t period = 0;
      in >> q >> period;
      if (q != "max") {
        if (int32_t n = ceilDiv(std::atoll(q.c_str()), period)) return n;
      }
    }
    if (rel.empty() || rel == "/") break;
    rel = rel.substr(0, rel.rfind('/'));
  }
  // cgroup v1.
  std::string rel = cgroupPath("cpu");
  for (const char* dir : {"/cpu", "/cpu,cpuacct", "/cpuacct,cpu"}) {
    std::string q, per;
    if (readFile(base + dir + rel + "/cpu.cfs_quota_us", &q) &&
        readFile(base + dir + rel + "/cpu.cfs_period_us", &per)) {
      if (int32_t n = ceilDiv(std::atoll(q.c_str()), std::atoll(per.c_str()))) return n;
    }
  }
  return 0;
}

void osinit() {
  int32_t n = getproccount();
  int32_t limit = cgroupCPULimit("/sys/fs/cgroup");
  if (limit > 0 && limit < n) n = limit;
  ncpu = n;
}

[[noreturn]] void exitProcess(int code) {
  // Like Go's exit: no destructors or atexit handlers run (other goroutines
  // are still using the program's objects); buffered output is flushed.
  std::cout.flush();
  std::cerr.flush();
  fflush(nullptr);
  _exit(code);
}

}  // namespace gort::internal
