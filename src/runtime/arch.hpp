// arch.hpp: selects the architecture back end. Everything the portable
// runtime needs from the processor goes through the functions declared in
// sys_<arch>.hpp; a port adds asm_<arch>.S (context switch, preemption stub,
// trampolines), panic_<arch>.S (the fault-to-panic trampoline), asm_<arch>.h
// and sys_<arch>.hpp/.cpp, and nothing else.
#pragma once

#if defined(__x86_64__)
#include "runtime/sys_amd64.hpp"
#elif defined(__aarch64__)
#include "runtime/sys_arm64.hpp"
#else
#error "gort: no back end for this architecture (see src/runtime/arch.hpp)"
#endif
