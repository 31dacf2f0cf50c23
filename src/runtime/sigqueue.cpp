// sigqueue.cpp: the queue between signal handlers and package os/signal
// (mirrors runtime/sigqueue.go), and the dispositions of the signals the
// runtime does not use itself (runtime/signal_unix.go's initsig, sigenable,
// sigdisable, sigignore, for those).
//
// A handler can do almost nothing safely: it sets the signal's bit in an
// atomic pending mask and bumps a futex word. One plain OS thread (not an M:
// it must be able to run while every M is busy) sleeps on that word, takes
// the whole mask, and hands each signal to os/signal, whose sends to the
// registered channels never block. That thread starts at the first Notify
// and never ends, like Go's signal_recv goroutine; while it exists checkdead
// reports no deadlock (a signal can still wake a goroutine), even after
// Stop, as in Go.
//
// State per signal: wanted (some channel is notified) and ignored
// (signal.Ignore, or SIGHUP/SIGINT inherited as ignored); Stop and Reset
// clear wanted only, as in Go. The runtime keeps using SIGURG (preemption),
// the fault and "throw" signals, SIGPIPE and SIGPROF (the CPU profiler) whatever the user asks: their
// handlers (signal_unix.cpp, preempt.cpp) forward to sigsend and respect
// ignored, and nothing here touches their disposition.
//
// Dispositions of the rest follow Go's sigtable (sigtab_linux_generic.go):
//   - kill: SIGHUP, SIGINT, SIGTERM. Caught from the start; unnotified, the
//     program dies by the signal. A SIGHUP or SIGINT inherited as ignored is
//     left ignored until Notify.
//   - ignore: SIGUSR1, SIGUSR2, SIGALRM, SIGVTALRM, SIGXCPU,
//     SIGXFSZ, SIGIO, SIGPWR, SIGWINCH, SIGCHLD and the real-time signals
//     from 35 (32 and 33 are glibc's, 34 musl's, and Go leaves them alone).
//     Caught from the start; unnotified, nothing happens.
//   - stop: SIGCONT, SIGTSTP, SIGTTIN, SIGTTOU. Untouched until Notify;
//     after Stop the handler stays and ignores them (Go does the same).
// Each keeps the disposition it had before the runtime first caught it
// (fwd, Go's fwdSig); Stop puts it back only where the runtime would not
// have caught the signal at start (an inherited-ignored SIGHUP/SIGINT), so
// such a SIGINT stays ignored after Notify + Stop. Ignore sets SIG_IGN,
// which only a later Notify undoes.
//
// Locks: sigLock guards the handler table only (a leaf in lockrank.cpp);
// delivery runs without it.
#include "runtime/sigqueue.hpp"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdint>

#include "runtime/lock_futex.hpp"
#include "runtime/panic.hpp"

namespace gort::internal {

namespace {

constexpr int kMaxSig = 65;

enum class Disposition : uint8_t {
  none,     // not the runtime's to catch: SIGKILL, SIGSTOP, libc-reserved
  runtime,  // the runtime's own handler, installed by signal_unix/preempt
  kill,     // unnotified: die by the signal
  ignore,   // unnotified: nothing
  stop,     // job control: the default action until the first Notify
};

std::atomic<uint64_t> wanted[2];
std::atomic<uint64_t> ignored[2];
std::atomic<uint64_t> pending[2];
std::atomic<uint32_t> wake{0};  // bumped by handlers
std::atomic<SignalDeliverFn> deliverFn{nullptr};
std::atomic<bool> threadStarted{false};  // written under sigLock
mutex sigLock{LockRank::sig};
struct sigaction fwd[kMaxSig];  // sigLock; the disposition before the runtime caught it
bool handling[kMaxSig];         // sigLock; the runtime's handler is installed

uint64_t bit(int sig) { return uint64_t(1) << (sig % 64); }
std::atomic<uint64_t>& word(std::atomic<uint64_t>* set, int sig) { return set[sig / 64]; }
bool has(std::atomic<uint64_t>* set, int sig) { return word(set, sig).load(std::memory_order_acquire) & bit(sig); }
void add(std::atomic<uint64_t>* set, int sig) { word(set, sig).fetch_or(bit(sig), std::memory_order_acq_rel); }
void remove(std::atomic<uint64_t>* set, int sig) { word(set, sig).fetch_and(~bit(sig), std::memory_order_acq_rel); }

Disposition dispositionOf(int sig) {
  switch (sig) {
    case SIGURG: case SIGSEGV: case SIGBUS: case SIGFPE: case SIGILL: case SIGTRAP: case SIGABRT:
    case SIGQUIT: case SIGPIPE: case SIGSTKFLT: case SIGSYS: case SIGPROF:
      return Disposition::runtime;
    case SIGHUP: case SIGINT: case SIGTERM:
      return Disposition::kill;
    case SIGUSR1: case SIGUSR2: case SIGALRM: case SIGVTALRM: case SIGXCPU: case SIGXFSZ:
    case SIGIO: case SIGPWR: case SIGWINCH: case SIGCHLD:
      return Disposition::ignore;
    case SIGCONT: case SIGTSTP: case SIGTTIN: case SIGTTOU:
      return Disposition::stop;
  }
  if (sig >= 35 && sig >= SIGRTMIN && sig <= SIGRTMAX) return Disposition::ignore;
  return Disposition::none;
}

// Dispositions this file installs and restores.
bool ours(int sig) {
  Disposition d = dispositionOf(sig);
  return d == Disposition::kill || d == Disposition::ignore || d == Disposition::stop;
}

// Go's sigInstallGoHandler: would the runtime catch sig at start, given
// what it found there (fwd)?
bool catchesAtStart(int sig) {
  assertLockHeld(&sigLock, "catchesAtStart");
  return !((sig == SIGHUP || sig == SIGINT) && fwd[sig].sa_handler == SIG_IGN);
}

void* deliveryLoop(void*) {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  for (;;) {
    uint32_t seen = wake.load(std::memory_order_acquire);
    bool any = false;
    for (int w = 0; w < 2; w++) {
      uint64_t bits = pending[w].exchange(0, std::memory_order_acq_rel);
      for (int b = 0; b < 64; b++) {
        if (!(bits & (uint64_t(1) << b))) continue;
        any = true;
        int sig = w * 64 + b;
        if (has(wanted, sig)) {
          if (auto fn = deliverFn.load(std::memory_order_acquire)) fn(sig);
        }
      }
    }
    if (!any) futexsleep(&wake, seen, -1);
  }
  return nullptr;
}

void onSignal(int sig, siginfo_t* info, void*) {
  if (sigsend(sig)) return;
  if (info->si_code <= 0 && has(ignored, sig)) return;  // sent by kill(2) and ignored
  if (dispositionOf(sig) != Disposition::kill) return;
  // Die by the signal: it is blocked while this handler runs and arrives,
  // now with the default action, as the handler returns.
  signal(sig, SIG_DFL);
  raise(sig);
}

void catchSignal(int sig) {
  assertLockHeld(&sigLock, "catchSignal");
  struct sigaction sa {};
  sa.sa_sigaction = onSignal;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
  sigfillset(&sa.sa_mask);
  sigaction(sig, &sa, nullptr);
  handling[sig] = true;
}

void startDeliveryThread() {
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  if (pthread_create(&t, &attr, deliveryLoop, nullptr) != 0) throw_("runtime: cannot start signal delivery thread");
  pthread_attr_destroy(&attr);
  threadStarted.store(true, std::memory_order_release);
}

}  // namespace

void initSignalDispositions() {
  lockGuard guard(&sigLock);
  for (int sig = 1; sig < kMaxSig; sig++) {
    Disposition d = dispositionOf(sig);
    if (d != Disposition::kill && d != Disposition::ignore) continue;
    sigaction(sig, nullptr, &fwd[sig]);
    if (catchesAtStart(sig)) {
      catchSignal(sig);
    } else if (fwd[sig].sa_handler == SIG_IGN) {
      add(ignored, sig);
    }
  }
}

bool sigsend(int sig) {
  if (sig <= 0 || sig >= kMaxSig || !has(wanted, sig)) return false;
  add(pending, sig);
  wake.fetch_add(1, std::memory_order_release);
  futexwakeup(&wake, 1);
  return true;
}

bool signalsWatched() { return threadStarted.load(std::memory_order_acquire); }

void signalEnable(int sig, SignalDeliverFn deliver) {
  if (sig <= 0 || sig >= kMaxSig) return;
  lockGuard guard(&sigLock);
  deliverFn.store(deliver, std::memory_order_release);
  if (!threadStarted.load(std::memory_order_relaxed)) startDeliveryThread();
  remove(ignored, sig);
  add(wanted, sig);
  if (ours(sig) && !handling[sig]) {
    sigaction(sig, nullptr, &fwd[sig]);
    catchSignal(sig);
  }
}

void signalDisable(int sig) {
  if (sig <= 0 || sig >= kMaxSig) return;
  lockGuard guard(&sigLock);
  remove(wanted, sig);
  if (ours(sig) && !catchesAtStart(sig)) {
    sigaction(sig, &fwd[sig], nullptr);
    handling[sig] = false;
  }
}

void signalIgnore(int sig) {
  if (sig <= 0 || sig >= kMaxSig) return;
  lockGuard guard(&sigLock);
  remove(wanted, sig);
  add(ignored, sig);
  if (ours(sig)) {
    signal(sig, SIG_IGN);
    handling[sig] = false;
  }
}

bool signalIgnored(int sig) { return sig > 0 && sig < kMaxSig && has(ignored, sig); }

}  // namespace gort::internal
