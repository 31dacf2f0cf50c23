// signal_unix.cpp: synchronous fault handling (mirrors the crash half of
// runtime/signal_unix.go).
//
// Every M runs its signal handlers on its own alternate stack, because the
// fault we most need to report, a goroutine stack overflow, happens with no
// stack left to run a handler on. SIGSEGV/SIGBUS in a goroutine's guard page
// is reported as Go reports a stack overflow; any other fault is a fatal
// "unexpected signal" with the faulting goroutine's traceback.
#include "runtime/signal_unix.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <cstdlib>

#include "runtime/panic.hpp"
#include "runtime/stack.hpp"
#include "runtime/stubs.hpp"

namespace gort::internal {

namespace {

constexpr size_t kSigStack = 64 << 10;

const char* signalName(int sig) {
  switch (sig) {
    case SIGSEGV: return "SIGSEGV: segmentation violation";
    case SIGBUS: return "SIGBUS: bus error";
    case SIGFPE: return "SIGFPE: floating-point exception";
    case SIGILL: return "SIGILL: illegal instruction";
  }
  return "signal";
}

void onFault(int sig, siginfo_t* info, void* ctx) {
  auto addr = reinterpret_cast<uintptr_t>(info->si_addr);
  auto* uc = static_cast<ucontext_t*>(ctx);
  uintptr_t pc = uintptr_t(uc->uc_mcontext.gregs[REG_RIP]);
  uintptr_t sp = uintptr_t(uc->uc_mcontext.gregs[REG_RSP]);
  uintptr_t lo, hi;
  if ((sig == SIGSEGV || sig == SIGBUS) && stackGuardHit(addr, &lo, &hi)) {
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
    fatal("stack overflow");
  }
  // A nil dereference in a goroutine becomes a run-time panic (panic.cpp).
  if (sigpanicRedirect(sig, info, ctx)) return;
  printstr("[signal ");
  printstr(signalName(sig));
  printstr(" code=");
  printhex(uint64_t(info->si_code));
  printstr(" addr=");
  printhex(addr);
  printstr(" pc=");
  printhex(pc);
  printstr("]\n");
  fatal("unexpected signal during runtime execution");
}

}  // namespace

void initSignals() {
  struct sigaction sa {};
  sa.sa_sigaction = onFault;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigfillset(&sa.sa_mask);
  for (int sig : {SIGSEGV, SIGBUS}) sigaction(sig, &sa, nullptr);
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
