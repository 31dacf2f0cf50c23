// signal.cpp: package os/signal over the runtime's signal queue (mirrors
// os/signal/signal.go and signal_unix.go).
//
// handlers maps each registered channel to the set of signals it wants;
// refs counts, per signal, how many channels want it, so the runtime is
// asked to catch a signal exactly while someone listens. Delivery (on the
// runtime's signal thread) holds handlersLock while it sends, which is what
// makes "after Stop returns, c receives no more signals" true.
#include "gort/signal.hpp"

#include <csignal>
#include <bitset>
#include <mutex>
#include <vector>

#include "runtime/sigqueue.hpp"

namespace gort {

namespace syscall {

std::string Signal::String() const {
  static const char* const kNames[] = {
      nullptr, "hangup", "interrupt", "quit", "illegal instruction", "trace/breakpoint trap", "aborted",
      "bus error", "floating point exception", "killed", "user defined signal 1", "segmentation fault",
      "user defined signal 2", "broken pipe", "alarm clock", "terminated", "stack fault", "child exited",
      "continued", "stopped (signal)", "stopped", "stopped (tty input)", "stopped (tty output)",
      "urgent I/O condition", "CPU time limit exceeded", "file size limit exceeded", "virtual timer expired",
      "profiling timer expired", "window changed", "I/O possible", "power failure", "bad system call"};
  if (num > 0 && num < int(std::size(kNames))) return kNames[num];
  return "signal " + std::to_string(num);
}

}  // namespace syscall

namespace signal {

namespace {

constexpr int kNumSig = 65;
using SigSet = std::bitset<kNumSig>;

struct Handler {
  chan<os::Signal> c;
  SigSet mask;
};

std::mutex handlersLock;
std::vector<Handler>* handlers = new std::vector<Handler>();  // handlersLock; never destroyed
int refs[kNumSig];                                             // handlersLock

// Every signal a program can catch (Notify with no arguments).
SigSet allSignals() {
  SigSet s;
  for (int sig = 1; sig < kNumSig; sig++) {
    if (sig != SIGKILL && sig != SIGSTOP) s.set(sig);
  }
  return s;
}

SigSet toSet(std::initializer_list<os::Signal> sigs) {
  if (sigs.size() == 0) return allSignals();
  SigSet s;
  for (os::Signal sig : sigs) {
    if (sig.num > 0 && sig.num < kNumSig && sig.num != SIGKILL && sig.num != SIGSTOP) s.set(size_t(sig.num));
  }
  return s;
}

void deliver(int sig) {
  std::lock_guard<std::mutex> guard(handlersLock);
  for (const Handler& h : *handlers) {
    if (h.mask.test(size_t(sig))) h.c.try_send(os::Signal{sig});  // never block
  }
}

// Called with handlersLock held: one fewer channel wants sig.
void unref(int sig) {
  if (--refs[sig] == 0) internal::signalDisable(sig);
}

// Called with handlersLock held: drop sigs from every registration.
void dropFromAll(const SigSet& sigs) {
  for (auto it = handlers->begin(); it != handlers->end();) {
    for (int sig = 1; sig < kNumSig; sig++) {
      if (sigs.test(size_t(sig)) && it->mask.test(size_t(sig))) {
        it->mask.reset(size_t(sig));
        refs[sig]--;
      }
    }
    it = it->mask.none() ? handlers->erase(it) : it + 1;
  }
}

}  // namespace

void Notify(chan<os::Signal> c, std::initializer_list<os::Signal> sigs) {
  if (!c) throw std::invalid_argument("os/signal: Notify using nil channel");
  SigSet want = toSet(sigs);
  std::lock_guard<std::mutex> guard(handlersLock);
  Handler* h = nullptr;
  for (Handler& existing : *handlers) {
    if (existing.c == c) h = &existing;
  }
  if (!h) h = &handlers->emplace_back(Handler{c, {}});
  for (int sig = 1; sig < kNumSig; sig++) {
    if (!want.test(size_t(sig)) || h->mask.test(size_t(sig))) continue;
    h->mask.set(size_t(sig));
    if (refs[sig]++ == 0) internal::signalEnable(sig, deliver);
  }
}

void Stop(const chan<os::Signal>& c) {
  std::lock_guard<std::mutex> guard(handlersLock);
  for (auto it = handlers->begin(); it != handlers->end(); ++it) {
    if (it->c != c) continue;
    for (int sig = 1; sig < kNumSig; sig++) {
      if (it->mask.test(size_t(sig))) unref(sig);
    }
    handlers->erase(it);
    return;
  }
}

void Ignore(std::initializer_list<os::Signal> sigs) {
  SigSet s = toSet(sigs);
  std::lock_guard<std::mutex> guard(handlersLock);
  dropFromAll(s);
  for (int sig = 1; sig < kNumSig; sig++) {
    if (s.test(size_t(sig))) internal::signalIgnore(sig);
  }
}

bool Ignored(os::Signal sig) { return internal::signalIgnored(sig.num); }

void Reset(std::initializer_list<os::Signal> sigs) {
  SigSet s = toSet(sigs);
  std::lock_guard<std::mutex> guard(handlersLock);
  dropFromAll(s);
  for (int sig = 1; sig < kNumSig; sig++) {
    if (s.test(size_t(sig))) internal::signalDisable(sig);
  }
}

}  // namespace signal
}  // namespace gort
