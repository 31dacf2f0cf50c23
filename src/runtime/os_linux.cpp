// os_linux.cpp: Linux specifics: futexes, clocks, CPU count, process exit
// (mirrors runtime/os_linux.go, time_linux_amd64.s, sys_linux_amd64.s).
//
// CPU count: Go 1.19 uses the affinity mask only, so a container limited to
// 2 CPUs by quota on a 64-CPU host gets GOMAXPROCS=64 and burns its quota in
// scheduler overhead. gort also reads the cgroup CPU quota (v2 cpu.max, v1
// cpu.cfs_quota_us/cpu.cfs_period_us) and takes ceil(quota/period) when that
// is smaller, like uber-go/automaxprocs and Go 1.25: the smallest quota on
// the way from the process's cgroup up to the mount root (a parent's quota
// caps its children, and without a cgroup namespace the container's limit
// sits at the root of its mount).
//
// Futex sleeps under TSan: TSan defers an asynchronous signal's handler
// until the thread it hit enters a function TSan intercepts, unless that
// thread already sits in one TSan knows to block (usleep, epoll_wait, ...).
// A raw futex wait is neither, so a kill(2) the kernel hands to a parked M
// would wait for that M to wake, perhaps forever. A thread therefore blocks
// every signal but the synchronous faults while it sleeps on a futex: the
// kernel gives process-directed signals to a thread that runs or to
// sysmon, which sleeps in usleep and runs the handler at once. The mask
// change goes through pthread_sigmask, which TSan intercepts, so a handler
// it was already holding for this thread runs before the sleep.
#include "runtime/os_linux.hpp"
#include "runtime/print.hpp"

#include <linux/futex.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "runtime/lock_futex.hpp"
#include "runtime/panic.hpp"
#include "runtime/runtime2.hpp"

namespace gort::internal {

void futexsleep(std::atomic<uint32_t>* addr, uint32_t val, int64_t ns) {
  struct timespec ts;
  struct timespec* tsp = nullptr;
  if (ns >= 0) {
    ts.tv_sec = ns / 1000000000;
    ts.tv_nsec = ns % 1000000000;
    tsp = &ts;
  }
#if defined(GORT_TSAN)
  static const sigset_t asyncSignals = [] {
    sigset_t set;
    sigfillset(&set);
    for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP}) sigdelset(&set, sig);
    return set;
  }();
  sigset_t old;
  pthread_sigmask(SIG_BLOCK, &asyncSignals, &old);
#endif
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(addr), FUTEX_WAIT_PRIVATE, val, tsp, nullptr, 0);
#if defined(GORT_TSAN)
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
#endif
}

void futexwakeup(std::atomic<uint32_t>* addr, uint32_t cnt) {
  long r = syscall(SYS_futex, reinterpret_cast<uint32_t*>(addr), FUTEX_WAKE_PRIVATE, cnt, nullptr, nullptr, 0);
  if (r < 0) throw_("futexwakeup failed");
}

void newDetachedThread(void* (*fn)(void*), const char* what) {
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  int err = pthread_create(&t, &attr, fn, nullptr);
  pthread_attr_destroy(&attr);
  if (err != 0) {
    printstr("runtime: cannot start ");
    printstr(what);
    printstr("\n");
    throw_("newDetachedThread");
  }
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

bool membarrierRegister() {
  long cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
  if (cmds < 0 || !(cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED)) return false;
  return syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
}

void membarrier() {
  if (syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0) throw_("membarrier failed");
}

int64_t cputicksToNanos(int64_t ticks) {
  // The rate is measured against the monotonic clock from the first call
  // on; that call waits 200 us so that even an early conversion has a base
  // long enough for the clocks' granularity not to matter.
  struct Base {
    int64_t ticks, nanos;
  };
  static const Base base = [] {
    Base b{cputicks(), nanotime()};
    while (nanotime() - b.nanos < 200 * 1000) {
    }
    return b;
  }();
  int64_t dt = cputicks() - base.ticks, dn = nanotime() - base.nanos;
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
  int64_t n = quota / period + (quota % period != 0);
  return n > INT32_MAX ? INT32_MAX : int32_t(n);
}

// The process's cgroup path for a controller (v1) or the unified hierarchy
// (v2, the "0::<path>" line), from the text of /proc/self/cgroup.
std::string cgroupPath(const std::string& selfCgroup, const std::string& wantController) {
  std::istringstream in(selfCgroup);
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

// The smallest limit found in dir+rel and each of its ancestors up to dir
// (a parent's quota caps its children; without a cgroup namespace the
// process's own cgroup may be the mount root, which the walk reaches).
// limitAt returns 0 where a level sets no limit.
template <class LimitAt>
int32_t smallestLimitUpFrom(const std::string& dir, std::string rel, LimitAt limitAt) {
  int32_t best = 0;
  for (;;) {
    int32_t n = limitAt(dir + rel);
    if (n > 0 && (best == 0 || n < best)) best = n;
    if (rel.empty() || rel == "/") return best;
    rel = rel.substr(0, rel.rfind('/'));
  }
}

// cgroup v2: "<quota|max> <period>" in cpu.max.
int32_t cpuMaxLimit(const std::string& dir) {
  std::string data;
  if (!readFile(dir + "/cpu.max", &data)) return 0;
  std::istringstream in(data);
  std::string quota;
  int64_t period = 0;
  in >> quota >> period;
  return quota == "max" ? 0 : ceilDiv(std::atoll(quota.c_str()), period);
}

// cgroup v1: cpu.cfs_quota_us (-1: none) over cpu.cfs_period_us.
int32_t cfsLimit(const std::string& dir) {
  std::string quota, period;
  if (!readFile(dir + "/cpu.cfs_quota_us", &quota) || !readFile(dir + "/cpu.cfs_period_us", &period)) return 0;
  return ceilDiv(std::atoll(quota.c_str()), std::atoll(period.c_str()));
}

}  // namespace

int32_t cgroupCPULimit(const char* root, const std::string& selfCgroup) {
  std::string base = root;
  if (int32_t n = smallestLimitUpFrom(base, cgroupPath(selfCgroup, ""), cpuMaxLimit)) return n;
  std::string rel = cgroupPath(selfCgroup, "cpu");
  for (const char* mount : {"/cpu", "/cpu,cpuacct", "/cpuacct,cpu"}) {
    if (int32_t n = smallestLimitUpFrom(base + mount, rel, cfsLimit)) return n;
  }
  return 0;
}

int32_t cgroupCPULimit(const char* root) {
  std::string selfCgroup;
  if (!readFile("/proc/self/cgroup", &selfCgroup)) return 0;
  return cgroupCPULimit(root, selfCgroup);
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
