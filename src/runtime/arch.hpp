// arch.hpp: selects the architecture back end. Everything the portable
// runtime needs from the processor goes through the functions declared
// below (each back end defines them; how each behaves on its architecture
// is said where it is defined) and the inline parts and constants of
// sys_<arch>.hpp, whose opening comment states the whole contract; a port
// adds asm_<arch>.S (context switch, preemption stub,
// trampolines), panic_<arch>.S (the fault-to-panic trampoline), asm_<arch>.h
// and sys_<arch>.hpp/.cpp, and nothing else.
#pragma once

namespace gort::internal {
struct g;
}  // namespace gort::internal

// The current G, one per thread; getg/setg (sys_<arch>.hpp) reach it
// through asm so that the compiler never caches its address.
extern "C" __attribute__((tls_model("initial-exec"))) thread_local gort::internal::g* gort_tls_g;

#if defined(__x86_64__)
#include "runtime/sys_amd64.hpp"
#elif defined(__aarch64__)
#include "runtime/sys_arm64.hpp"
#else
#error "gort: no back end for this architecture (see src/runtime/arch.hpp)"
#endif

namespace gort::internal {

struct g;
class Printer;

void gostartInit(g* gp);
uintptr_t traceFrame(uintptr_t savedSp, void* request);
int64_t cputicks();
bool asyncPreemptInit();

uintptr_t sigctxtPC(const void* ctx);
uintptr_t sigctxtSP(const void* ctx);
uintptr_t sigctxtFP(const void* ctx);  // the frame pointer (rbp, x29)
// The return address a frameless leaf function would return to (amd64: the
// word at sp, if sp is in [lo, hi); arm64: the link register); 0 if none.
uintptr_t sigctxtLeafReturnSlot(const void* ctx, uintptr_t lo, uintptr_t hi);
// Whether return address ret follows a direct call, and its target. ret must
// lie in mapped text.
bool directCallTarget(uintptr_t ret, uintptr_t* target);
// Makes the interrupted code call fn as if the interrupted instruction had
// called it, `skip` bytes below the interrupted sp (amd64's red zone).
void sigctxtPushCall(void* ctx, uintptr_t fn, uintptr_t skip);
void sigctxtSetArgs(void* ctx, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3);
// Makes the interrupted code enter gort_async_preempt, which saves its whole
// state, yields and resumes it exactly; false (context unchanged) if that
// cannot be done above stackLo.
bool sigctxtInjectPreempt(void* ctx, uintptr_t stackLo);
// Go's dumpregs: a blank line, then one register a line.
void sigctxtDumpRegs(const void* ctx, Printer& out);

}  // namespace gort::internal
