// sys_amd64.hpp: the linux/amd64 back end of the portable runtime (the role
// of Go's sys_x86.go, signal_amd64.go and the TLS half of asm_amd64.s).
//
// The contract every back end provides:
//   getg()/setg()       the current G, read so the compiler cannot cache it
//   gostartInit(gp)     a fresh stack whose first switch enters gort_gostart
//   traceFrame(sp, req) a frame below a suspended G's saved sp that enters
//                       gort_trace_trampoline, unwinding into the G's frames
//   cputicks()          a cheap monotonic counter (the TSC here)
//   cpuRelax()          the spin-wait hint (Go's procyield)
//   forEachDirectBranch the targets of the direct calls and jumps in a piece
//                       of code (recover's check for folded functions)
//   asyncPreemptInit()  readies the preemption stub; false if it cannot save
//                       the whole register state (async preemption stays off)
//   kPreemptStackRoom   stack the preemption path needs below the
//                       interrupted sp
//   kStackGuardBytes    the stack guard the compiler's stack-clash probes
//                       assume
//   sigctxt*            reading and redirecting an interrupted context:
//                       its pc and sp, "calling" a function from it (as if
//                       the interrupted instruction had called it), setting
//                       that call's arguments, entering the preemption stub
//                       with the whole state saved (sigctxtInjectPreempt),
//                       and Go's register dump (printed without allocating:
//                       it ends a crash report)
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace gort::internal {

// The thread pointer is re-read on every call: a G can move between threads
// at any runtime call, and a cached TLS address would be another thread's.
inline g* getg() {
  g* r;
  asm volatile("movq gort_tls_g@gottpoff(%%rip), %0\n\tmovq %%fs:(%0), %0" : "=r"(r));
  return r;
}
// Written through asm as well: C++ never reads the variable (getg's asm
// does), so with link-time optimisation a plain store is a dead store and
// the compiler deletes it.
inline void setg(g* gp) {
  uintptr_t off;
  asm volatile("movq gort_tls_g@gottpoff(%%rip), %0\n\tmovq %1, %%fs:(%0)" : "=&r"(off) : "r"(gp) : "memory");
}

// A spin-wait hint (Go's procyield).
inline void cpuRelax() { __builtin_ia32_pause(); }

// Calls fn(target) for each direct call or jump (call rel32, jmp rel32) that
// may start in code[0, size), until fn returns false. Every byte offset is
// tried: x86 instructions have no alignment.
template <class F>
void forEachDirectBranch(const unsigned char* code, size_t size, F&& fn) {
  for (size_t i = 0; i + 5 <= size; i++) {
    if (code[i] != 0xE8 && code[i] != 0xE9) continue;
    int32_t rel;
    std::memcpy(&rel, code + i + 1, 4);
    if (!fn(code + i + 5 + rel)) return;
  }
}

// Stack the asynchronous preemption path needs below the interrupted sp: the
// 128-byte red zone, 16 saved registers, the xsave area and the mcall path.
constexpr uintptr_t kPreemptStackRoom = 16 << 10;

// A goroutine stack's guard: GCC's -fstack-clash-protection probes every
// 4 KiB page on amd64.
constexpr size_t kStackGuardBytes = 4 << 10;

// The System V ABI lets a leaf function use 128 bytes below its stack
// pointer: a conservative scan of an interrupted thread starts that far down.
constexpr uintptr_t kRedZone = 128;

}  // namespace gort::internal
