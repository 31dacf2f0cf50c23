// panic.hpp: the runtime side of panics (panic.cpp), for the signal handler
// and the traceback code.
#pragma once

#include <signal.h>

#include <cstdint>

namespace gort::internal {

// A synchronous fault at a low address in a user goroutine is Go's nil
// dereference: rewrites the signal context so that, when the handler
// returns, the goroutine "calls" sigpanic from the faulting instruction and
// panics with runtime.Error "invalid memory address or nil pointer
// dereference" there. Returns false (nothing changed) for any other fault.
// Runs in the signal handler: async-signal-safe.
bool sigpanicRedirect(int sig, siginfo_t* info, void* ucontext);

// Return addresses of the calling thread's stack, innermost first, skipping
// `skip` frames above the caller (0 = the caller of callersPCs). A frame
// interrupted by a signal is recorded as pc+1, so that pc-1 (the lookup
// rule for return addresses) stays inside the faulting instruction.
int callersPCs(int skip, uintptr_t* pcs, int max);

// The crash stack a fatal report runs on, [lo, hi); false until a report
// has started.
bool crashStackBounds(uintptr_t* lo, uintptr_t* hi);

// Fatal runtime error: prints "fatal error: msg", the goroutine trace, and
// exits with status 2. Never returns (panic.cpp's throw in Go).
[[noreturn]] void throw_(const char* msg);
// Like throw_, but for errors caused by the user program ("fatal error: all
// goroutines are asleep - deadlock!"): Go prints the user goroutines only.
[[noreturn]] void fatal(const char* msg);
// A fatal error Go throws at traceback level 2 whatever GOTRACEBACK says
// (stack overflow): every goroutine, runtime frames included.
[[noreturn]] void fatalSystem(const char* msg);
// The fatal end in Go's two steps (startpanic_m, dopanic_m), for a report
// whose first lines the caller prints itself (a signal handler's).
// startDying makes the calling thread the one that reports: another thread
// that fails meanwhile waits for the exit, this one failing again prints
// "panic during panic" and exits 2. It flushes stdio unless the thread is
// on its signal stack. The caller then prints its lines (printstr & co.)
// and calls crash, which prints the goroutine traces GOTRACEBACK asks for
// (every goroutine if allGoroutines), then the registers of sigctx if
// given, and exits 2 (GOTRACEBACK=crash: SIGABRT). From startDying on,
// nothing allocates or takes a lock that code outside the runtime may hold
// (panic.cpp); throw_, fatal and fatalSystem take both steps themselves.
void startDying();
[[noreturn]] void crash(bool runtimeError, bool allGoroutines, const void* sigctx);
void installTerminateHandler();  // std::terminate reports as an unrecovered panic

}  // namespace gort::internal
