// sigqueue.cpp: the queue between signal handlers and package os/signal
// (mirrors runtime/sigqueue.go).
//
// A handler can do almost nothing safely: it sets the signal's bit in an
// atomic pending mask and bumps a futex word. One plain OS thread (not an M:
// it must be able to run while every M is busy) sleeps on that word, takes
// the whole mask, and hands each signal to os/signal, whose sends to the
// registered channels never block.
//
// State per signal: wanted (some channel is notified) and ignored
// (signal.Ignore). The runtime keeps using SIGURG (preemption) and the fault
// signals whatever the user asks; a notified SIGURG is forwarded from the
// preemption handler through sigsend.
//
// Lock order: sigLock is a leaf; delivery runs without it.
#include "runtime/sigqueue.hpp"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdint>

#include "runtime/lock_futex.hpp"
#include "runtime/stubs.hpp"

namespace gort::internal {

namespace {

constexpr int kMaxSig = 65;

std::atomic<uint64_t> wanted[2];
std::atomic<uint64_t> ignored[2];
std::atomic<uint64_t> pending[2];
std::atomic<uint32_t> wake{0};  // bumped by handlers
std::atomic<SignalDeliverFn> deliverFn{nullptr};
mutex sigLock;
bool threadStarted = false;  // sigLock
bool handlerInstalled[kMaxSig];  // sigLock

uint64_t bit(int sig) { return uint64_t(1) << (sig % 64); }
std::atomic<uint64_t>& word(std::atomic<uint64_t>* set, int sig) { return set[sig / 64]; }
bool has(std::atomic<uint64_t>* set, int sig) { return word(set, sig).load(std::memory_order_acquire) & bit(sig); }

// Signals the runtime handles itself; for them the notification path is a
// hook in the runtime's handler, not a handler of its own.
bool runtimeOwned(int sig) {
  return sig == SIGURG || sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL || sig == SIGPIPE ||
         sig == SIGQUIT || sig == SIGTRAP || sig == SIGABRT;
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

void onNotifiedSignal(int sig, siginfo_t*, void*) {
  if (!has(wanted, sig)) {
    // Notification was withdrawn while this one was in flight: take the
    // default action the program would have had.
    signal(sig, SIG_DFL);
    raise(sig);
    return;
  }
  sigsend(sig);
}

// Called with sigLock held.
void ensureHandler(int sig) {
  if (handlerInstalled[sig] || runtimeOwned(sig)) return;
  struct sigaction sa {};
  sa.sa_sigaction = onNotifiedSignal;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
  sigfillset(&sa.sa_mask);
  sigaction(sig, &sa, nullptr);
  handlerInstalled[sig] = true;
}

// Called with sigLock held.
void setDefault(int sig) {
  if (runtimeOwned(sig)) return;  // the runtime's handler stays; it checks wanted
  signal(sig, SIG_DFL);
  handlerInstalled[sig] = false;
}

}  // namespace

bool sigsend(int sig) {
  if (sig <= 0 || sig >= kMaxSig || !has(wanted, sig)) return false;
  word(pending, sig).fetch_or(bit(sig), std::memory_order_acq_rel);
  wake.fetch_add(1, std::memory_order_release);
  futexwakeup(&wake, 1);
  return true;
}

void signalEnable(int sig, SignalDeliverFn deliver) {
  if (sig <= 0 || sig >= kMaxSig) return;
  lockGuard guard(&sigLock);
  deliverFn.store(deliver, std::memory_order_release);
  if (!threadStarted) {
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, deliveryLoop, nullptr) != 0) throw_("runtime: cannot start signal delivery thread");
    pthread_attr_destroy(&attr);
    threadStarted = true;
  }
  word(ignored, sig).fetch_and(~bit(sig), std::memory_order_acq_rel);
  word(wanted, sig).fetch_or(bit(sig), std::memory_order_acq_rel);
  ensureHandler(sig);
}

void signalDisable(int sig) {
  if (sig <= 0 || sig >= kMaxSig) return;
  lockGuard guard(&sigLock);
  word(wanted, sig).fetch_and(~bit(sig), std::memory_order_acq_rel);
  word(ignored, sig).fetch_and(~bit(sig), std::memory_order_acq_rel);
  setDefault(sig);
}

void signalIgnore(int sig) {
  if (sig <= 0 || sig >= kMaxSig || sig == SIGKILL || sig == SIGSTOP) return;
  lockGuard guard(&sigLock);
  word(wanted, sig).fetch_and(~bit(sig), std::memory_order_acq_rel);
  word(ignored, sig).fetch_or(bit(sig), std::memory_order_acq_rel);
  if (!runtimeOwned(sig)) {
    signal(sig, SIG_IGN);
    handlerInstalled[sig] = false;
  }
}

bool signalIgnored(int sig) { return sig > 0 && sig < kMaxSig && has(ignored, sig); }

}  // namespace gort::internal
