// sys_arm64.hpp: the linux/arm64 back end of the portable runtime (the role
// of Go's signal_arm64.go, signal_linux_arm64.go and the TLS half of
// asm_arm64.s). The contract is the one sys_amd64.hpp states.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace gort::internal {

// TPIDR_EL0 plus the variable's initial-exec offset from the GOT, re-read on
// every call: a G can move between threads at any runtime call, and a cached
// TLS address would be another thread's.
inline g* getg() {
  g* r;
  uintptr_t off;
  asm volatile(
      "mrs %0, tpidr_el0\n\t"
      "adrp %1, :gottprel:gort_tls_g\n\t"
      "ldr %1, [%1, #:gottprel_lo12:gort_tls_g]\n\t"
      "ldr %0, [%0, %1]"
      : "=&r"(r), "=&r"(off));
  return r;
}
// Written through asm as well: C++ never reads the variable (getg's asm
// does), so with link-time optimisation a plain store is a dead store.
inline void setg(g* gp) {
  uintptr_t tp, off;
  asm volatile(
      "mrs %0, tpidr_el0\n\t"
      "adrp %1, :gottprel:gort_tls_g\n\t"
      "ldr %1, [%1, #:gottprel_lo12:gort_tls_g]\n\t"
      "str %2, [%0, %1]"
      : "=&r"(tp), "=&r"(off)
      : "r"(gp)
      : "memory");
}

// A spin-wait hint (Go's procyield).
inline void cpuRelax() { asm volatile("yield" ::: "memory"); }

// Calls fn(target) for each direct call or jump (bl, b: imm26 words) in
// code[0, size), until fn returns false.
template <class F>
void forEachDirectBranch(const unsigned char* code, size_t size, F&& fn) {
  for (size_t i = 0; i + 4 <= size; i += 4) {
    uint32_t insn;
    std::memcpy(&insn, code + i, 4);
    if ((insn & 0x7c000000) != 0x14000000) continue;
    int64_t words = int32_t(insn << 6) >> 6;  // signed imm26
    if (!fn(code + i + words * 4)) return;
  }
}

// Stack the asynchronous preemption path needs below the interrupted sp:
// the copied signal frame (4.6 KiB, more with SVE state past 512 bits) and
// the mcall path.
constexpr uintptr_t kPreemptStackRoom = 32 << 10;

// A goroutine stack's guard: on arm64 GCC's -fstack-clash-protection
// assumes a 64 KiB guard (--param stack-clash-protection-guard-size=16) and
// lets a frame allocate nearly that much before its first probe.
constexpr size_t kStackGuardBytes = 64 << 10;

// AAPCS64 has no red zone below the stack pointer.
constexpr uintptr_t kRedZone = 0;

}  // namespace gort::internal
