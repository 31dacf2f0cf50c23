// signal_unix.cpp: the runtime's own signal handlers (mirrors
// runtime/signal_unix.go): faults, SIGQUIT and SIGPIPE. Preemption's SIGURG
// is in preempt.cpp, the queue to os/signal in sigqueue.cpp.
//
// Every M runs its signal handlers on its own alternate stack, because the
// fault we most need to report, a goroutine stack overflow, happens with no
// stack left to run a handler on.
//
// What a signal does, as in Go:
//   - a fault (SIGSEGV, SIGBUS, SIGFPE) in a goroutine's guard page:
//     "runtime: goroutine stack exceeds N-byte limit", "fatal error: stack
//     overflow", with every goroutine's trace at GOTRACEBACK=system or
//     more, whatever it is set to (Go throws it at level 2); near address zero (or anywhere, with SetPanicOnFault) in a
//     goroutine: a run-time panic (panic.cpp's sigpanic); elsewhere in
//     user code: "unexpected fault address" / "fatal error: fault"; in the
//     runtime or off-goroutine: "fatal error: unexpected signal during
//     runtime execution". Each report carries Go's "[signal ...]" line and
//     the traces GOTRACEBACK asks for; exit status 2 (crash: SIGABRT).
//   - SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGSTKFLT, SIGSYS (Go's "throw"
//     signals): the signal's name and pc, every goroutine's trace and the
//     registers, exit 2.
//   - SIGPROF: a CPU profile sample (cpuprof.cpp); sent by kill(2), it goes
//     to os/signal if notified.
//   - SIGPIPE: a write to a broken pipe on fd 1 or 2 kills the program with
//     SIGPIPE; on any other descriptor the write just fails with EPIPE.
//   - each of these, sent by kill(2) while os/signal is notified of it,
//     goes to the channel instead, and the throw signals and SIGPIPE respect
//     Ignore.
//   - every other signal Go catches (SIGINT, SIGTERM, SIGUSR1, SIGCHLD, the
//     real-time signals, ...): sigqueue.cpp, which initSignals asks to
//     install them.
#include "runtime/signal_unix.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <utility>

#include "gort/debug.hpp"
#include "runtime/cpuprof.hpp"
#include "runtime/panic.hpp"
#include "runtime/preempt.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime1.hpp"
#include "runtime/sigqueue.hpp"
#include "runtime/stack.hpp"

namespace gort::internal {

namespace {

constexpr size_t kSigStack = 64 << 10;

bool sentByKill(const siginfo_t* info) { return info->si_code <= 0; }

// Is the goroutine running user code (not the runtime, not another thread)?
bool inUserGoroutine() {
  g* gp = getg();
  return gp && gp->mp && gp == gp->mp->curg && gp->mp->locks == 0;
}

[[noreturn]] void stackOverflow(uintptr_t sp, uintptr_t lo, uintptr_t hi) {
  printstr("runtime: goroutine stack exceeds ");
  printint(int64_t(maxStackSize()));
  printstr("-byte limit\n");
  printstr("runtime: sp=");
  printhex(sp);
  printstr(" stack=[");
  printhex(lo);
  printstr(", ");
  printhex(hi);
  printstr("]\n");
  fatalSystem("stack overflow");  // Go throws it at level 2: every goroutine, runtime frames too
}

void onFault(int sig, siginfo_t* info, void* ctx) {
  if (sentByKill(info) && sigsend(sig)) return;
  auto addr = reinterpret_cast<uintptr_t>(info->si_addr);
  uintptr_t pc = sigctxtPC(ctx);
  uintptr_t sp = sigctxtSP(ctx);
  uintptr_t lo, hi;
  if ((sig == SIGSEGV || sig == SIGBUS) && stackGuardHit(addr, &lo, &hi)) stackOverflow(sp, lo, hi);
  if (sigpanicRedirect(sig, info, ctx)) return;
  bool userFault = (sig == SIGSEGV || sig == SIGBUS) && !sentByKill(info) && inUserGoroutine();
  startDying();
  {
    char buf[256];
    Printer out(buf, 2);
    if (userFault) {
      out << "unexpected fault address " << Hex{addr} << "\nfatal error: fault\n";
    } else {
      out << "fatal error: unexpected signal during runtime execution\n";
    }
    printSignalLine(out, sig, uint32_t(info->si_code), addr, pc);
  }
  crash(!userFault, false, nullptr);
}

// Signals Go "throws" on (SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGSTKFLT, SIGSYS): the signal's
// name, the pc and M, every goroutine, the registers; exit 2.
void onThrowSignal(int sig, siginfo_t* info, void* ctx) {
  if (sentByKill(info) && (sigsend(sig) || signalIgnored(sig))) return;
  g* gp = getg();
  startDying();
  {
    char buf[256];
    Printer out(buf, 2);
    out << signame(sig) << "\nPC=" << Hex{sigctxtPC(ctx)} << " m=" << (gp && gp->mp ? gp->mp->id : 0)
        << " sigcode=" << info->si_code << "\n";
  }
  crash(false, true, ctx);
}

bool brokenPipe(int fd) {
  pollfd p{fd, POLLOUT, 0};
  return poll(&p, 1, 0) == 1 && (p.revents & POLLERR);
}

void onSigpipe(int sig, siginfo_t*, void*) {
  if (sigsend(sig) || signalIgnored(sig)) return;
  if (brokenPipe(1) || brokenPipe(2)) {
    signal(SIGPIPE, SIG_DFL);
    raise(SIGPIPE);
  }
  // Any other descriptor: the write returns EPIPE.
}

void install(int sig, void (*handler)(int, siginfo_t*, void*), int extraFlags) {
  struct sigaction sa {};
  sa.sa_sigaction = handler;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | extraFlags;
  sigfillset(&sa.sa_mask);
  sigaction(sig, &sa, nullptr);
}

}  // namespace

const char* signame(int sig) {
  switch (sig) {
    case SIGHUP: return "SIGHUP: terminal line hangup";
    case SIGINT: return "SIGINT: interrupt";
    case SIGQUIT: return "SIGQUIT: quit";
    case SIGILL: return "SIGILL: illegal instruction";
    case SIGTRAP: return "SIGTRAP: trace trap";
    case SIGABRT: return "SIGABRT: abort";
    case SIGBUS: return "SIGBUS: bus error";
    case SIGFPE: return "SIGFPE: floating-point exception";
    case SIGKILL: return "SIGKILL: kill";
    case SIGUSR1: return "SIGUSR1: user-defined signal 1";
    case SIGSEGV: return "SIGSEGV: segmentation violation";
    case SIGUSR2: return "SIGUSR2: user-defined signal 2";
    case SIGPIPE: return "SIGPIPE: write to broken pipe";
    case SIGALRM: return "SIGALRM: alarm clock";
    case SIGTERM: return "SIGTERM: termination";
    case SIGSTKFLT: return "SIGSTKFLT: stack fault";
    case SIGCHLD: return "SIGCHLD: child status has changed";
    case SIGCONT: return "SIGCONT: continue";
    case SIGSTOP: return "SIGSTOP: stop, unblockable";
    case SIGTSTP: return "SIGTSTP: keyboard stop";
    case SIGTTIN: return "SIGTTIN: background read from tty";
    case SIGTTOU: return "SIGTTOU: background write to tty";
    case SIGURG: return "SIGURG: urgent condition on socket";
    case SIGXCPU: return "SIGXCPU: cpu limit exceeded";
    case SIGXFSZ: return "SIGXFSZ: file size limit exceeded";
    case SIGVTALRM: return "SIGVTALRM: virtual alarm clock";
    case SIGPROF: return "SIGPROF: profiling alarm clock";
    case SIGWINCH: return "SIGWINCH: window size change";
    case SIGIO: return "SIGIO: i/o now possible";
    case SIGPWR: return "SIGPWR: power failure restart";
    case SIGSYS: return "SIGSYS: bad system call";
  }
  return "signal";
}

void printSignalLine(Printer& out, int sig, uint64_t code, uintptr_t addr, uintptr_t pc) {
  out << "[signal " << signame(sig) << " code=" << Hex{code} << " addr=" << Hex{addr} << " pc=" << Hex{pc} << "]\n";
}

void initSignals() {
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE}) install(sig, onFault, SA_NODEFER);
  for (int sig : {SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGSTKFLT, SIGSYS}) {
    install(sig, onThrowSignal, SA_NODEFER | SA_RESTART);
  }
  install(SIGPIPE, onSigpipe, SA_RESTART);
  install(SIGPROF, sigprof, SA_RESTART);  // the CPU profiler's (cpuprof.cpp)
  initSignalDispositions();
}

void minitSignals(m* mp) {
  if (!mp->sigaltstack) {
    mp->sigaltstack = mmap(nullptr, kSigStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mp->sigaltstack == MAP_FAILED) throw_("runtime: cannot allocate signal stack");
  }
  stack_t ss{};
  ss.ss_sp = mp->sigaltstack;
  ss.ss_size = kSigStack;
  sigaltstack(&ss, nullptr);
  sigset_t none;
  sigemptyset(&none);
  pthread_sigmask(SIG_SETMASK, &none, nullptr);
}

void minitSignalsExit(m* mp) {
  stack_t ss{};
  ss.ss_flags = SS_DISABLE;
  sigaltstack(&ss, nullptr);
  munmap(mp->sigaltstack, kSigStack);
  mp->sigaltstack = nullptr;
}

}  // namespace gort::internal

namespace gort::debug {

bool SetPanicOnFault(bool enabled) {
  internal::g* gp = internal::getg();
  if (!gp || !gp->mp || gp != gp->mp->curg) return false;
  return std::exchange(gp->paniconfault, enabled);
}

}  // namespace gort::debug
