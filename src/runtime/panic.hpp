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

}  // namespace gort::internal
