// stray.cpp: the stray-call hand-off (beyond Go): sysmon takes the P of an
// M blocked in the kernel outside a marked system call.
//
// A goroutine that blocks its thread in the kernel without syscall::Blocking
// (a raw sleep, read, or contended pthread mutex) would keep its P and stall
// every goroutine queued on it. sysmon notices such an M and hands its P to
// another M, as it does for a marked call; the goroutine re-acquires a P the
// next time it enters the runtime.
//
// Runtime entries. m.inRuntime is > 0 while the M runs runtime code that may
// use its P: g0 always, and every RuntimeEntry a goroutine opens (the `go`
// statement, park/ready, channels, select, sema, timers, netpoll, syscalls,
// preemption, GOMAXPROCS). It is 0 only while a goroutine's own code runs
// (gort_goroutine_main stores 0 before calling the user function). A G that
// parks inside an entry resumes inside it, possibly on another M: mcall saves
// the depth on the G's stack and restores it on the M that resumes it.
// lockGuard opens an entry too, so library code that holds a runtime mutex
// (context, signal) never reaches an outermost entry with a lock held. The
// primitives called only from inside entries (currentP, gopark, goready,
// mcall, the sudog cache, lock) open none: checked builds (debug, ASan,
// TSan) throw if a goroutine reaches them outside one.
//
// Hand-over: an asymmetric Dekker between the M and sysmon, with
// membarrier(2) standing in for the M's fence so that entering the runtime
// costs one store and one load:
//   M, at the outermost entry: inRuntime = 1; (compiler fence); if retake != 0:
//     lostP: CAS retake 1 -> 0 (keep the P) or, seeing 2, the P is gone.
//   sysmon: CAS retake 0 -> 1 (provisional); membarrier (every running thread
//     of the process executes a full barrier); if inRuntime != 0, or the P's
//     schedtick, owner or the M's curg moved: CAS 1 -> 0 (undo); else CAS
//     1 -> 2 (commit) and the P is sysmon's: it detaches it (pp->mp = null,
//     Prunning -> Pidle) and hands it off as retake does for syscalls
//     (handoffp, which stops it instead if a stop-the-world waits).
// After the membarrier either sysmon sees the M's inRuntime store or the M's
// next load sees retake != 0, so an M inside an entry never loses its P, and
// one outside cannot enter without meeting the provisional state; the CAS
// on retake decides who wins. While provisional the P stays Prunning, so a
// stop-the-world still waits for it. The M whose P was taken runs its user
// code on without a P, like a syscall, and its next outermost entry (which
// holds no runtime lock, by construction) goes through exitsyscall: an idle
// P, or its G on the global queue and the M parked.
//
// Detection (sysmon, retakeStray): a Prunning P whose schedtick has not
// moved for 20 us, whose M runs a goroutine's own code with no retake
// pending, and whose thread the kernel reports sleeping (S or D in
// /proc/thread-self/stat, opened by each M at start and read by sysmon with
// pread). A thread seen running (a CPU-bound goroutine) is not read again
// for 1 ms, so sysmon stays cheap. The detection is only a heuristic for
// "worth it": the protocol is sound whatever the thread does.
//
// Off when membarrier's private expedited command is unavailable, or with
// GODEBUG=strayhandoff=0.
//
// The scheduler calls in here from minit/mexit (the M's stat descriptor),
// schedinit (on or off) and sysmon's retake (retakeStray); lostP and
// assertInRuntimeSlow are runtime entries' slow paths (proc.hpp). It calls
// back into the scheduler only through handoffp, runqempty and exitsyscall.

#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

#include "gort/syscall.hpp"
#include "runtime/os_linux.hpp"
#include "runtime/panic.hpp"
#include "runtime/proc.hpp"
#include "runtime/trace.hpp"
#include "runtime/runtime1.hpp"
#include "runtime/runtime2.hpp"
#include "runtime/trace.hpp"
#include "runtime/stubs.hpp"

namespace gort::internal {

namespace {

bool strayHandoffOn = false;  // set once in schedinit

// Whether mp's thread sleeps in the kernel (state S or D).
bool threadBlocked(m* mp) {
  int fd = mp->statFd.load(std::memory_order_acquire);
  if (fd < 0) return false;
  char buf[128];
  ssize_t n = ::syscall(SYS_pread64, fd, buf, sizeof(buf), 0);
  if (n <= 0) return false;
  // "tid (comm) S ...": comm may hold ')' but nothing after it does.
  const char* close = static_cast<const char*>(memrchr(buf, ')', size_t(n)));
  if (!close || close + 2 >= buf + n) return false;
  return close[2] == 'S' || close[2] == 'D';
}

}  // namespace

// Sysmon only. Hands off pp if its M has been blocked in the kernel in a
// goroutine's own code since sysmon's previous look (see above).
bool retakeStray(p* pp, int64_t now) {
  constexpr int64_t kBlockedFor = 20 * 1000;
  constexpr int64_t kRunningRecheck = 1000 * 1000;
  constexpr int64_t kIdleGrace = 10 * 1000 * 1000;
  if (!strayHandoffOn) return false;
  uint32_t tick = pp->schedtick;
  if (tick != pp->sysmonSchedtick || now - pp->sysmonSchedwhen < kBlockedFor || now < pp->sysmonStatNext) {
    return false;
  }
  m* mp = pp->mp;
  if (!mp) return false;
  g* gp = mp->curg;
  if (!gp || gp == mp->g0 || mp->inRuntime.load(std::memory_order_relaxed) != 0 ||
      mp->retake.load(std::memory_order_relaxed) != 0) {
    return false;
  }
  if (!threadBlocked(mp)) {
    pp->sysmonStatNext = now + kRunningRecheck;
    return false;
  }
  // As for syscalls: nothing queued and someone else looking for work
  // leaves the P with its M a while longer.
  if (runqempty(pp) &&
      sched.nmspinning.load(std::memory_order_relaxed) + sched.npidle.load(std::memory_order_relaxed) > 0 &&
      pp->sysmonSchedwhen + kIdleGrace > now) {
    return false;
  }
  uint32_t state = 0;
  if (!mp->retake.compare_exchange_strong(state, 1, std::memory_order_seq_cst)) return false;
  membarrier();
  bool moved = mp->inRuntime.load(std::memory_order_relaxed) != 0 || pp->schedtick != tick || pp->mp != mp ||
               mp->curg != gp || pp->status.load(std::memory_order_relaxed) != Prunning;
  state = 1;
  int64_t blockedAt = traceBlockTime();
  if (moved) {
    mp->retake.compare_exchange_strong(state, 0, std::memory_order_seq_cst);
    return false;
  }
  if (!mp->retake.compare_exchange_strong(state, 2, std::memory_order_seq_cst)) return false;
  traceGoSysBlock(pp, blockedAt);
  pp->mp = nullptr;
  pp->status.store(Pidle, std::memory_order_release);
  strayHandoffs.fetch_add(1, std::memory_order_relaxed);
  handoffp(pp);
  return true;
}

std::atomic<uint64_t> strayHandoffs{0};

void assertInRuntimeSlow(g* gp) {
  if (gp != gp->mp->g0) throw_("runtime: P or runtime lock used outside a runtime entry");
}

void lostP(m* mp) {
  uint32_t state = 1;
  if (mp->retake.compare_exchange_strong(state, 0, std::memory_order_acq_rel) || state != 2) return;
  g* gp = mp->curg;
  if (!gp || gp == mp->g0 || mp->locks != 0) throw_("runtime: P handed off from runtime code");
  // sysmon detached the P (and owns it): forget it and come back as from a
  // system call.
  mp->pp = nullptr;
  mp->oldp = nullptr;
  mp->retake.store(0, std::memory_order_relaxed);
  traceLostP(gp);
  casgstatus(gp, Grunning, Gsyscall);
  exitsyscall();
}

void initStrayHandoff(bool membarrierOn) { strayHandoffOn = membarrierOn && debug.strayhandoff; }

// Opened once, at the M's start: sysmon never opens descriptors, which the
// program may have exhausted. An M without one is never handed off. Raw
// system calls: TSan's descriptor tracking would see sysmon's reads race
// with the open.
void openThreadStat(m* mp) {
  int fd = int(::syscall(SYS_openat, AT_FDCWD, "/proc/thread-self/stat", O_RDONLY | O_CLOEXEC));
  mp->statFd.store(fd, std::memory_order_release);
}

void closeThreadStat(m* mp) {
  if (int fd = mp->statFd.exchange(-1, std::memory_order_acq_rel); fd >= 0) ::syscall(SYS_close, fd);
}

}  // namespace gort::internal
