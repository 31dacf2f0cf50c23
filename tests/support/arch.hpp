// arch.hpp: what the tests expect of the architecture back end, one place
// per architecture: lines of Go's register dump for a thrown signal, an
// instruction the CPU refuses (SIGILL), and whether an integer division by
// zero traps (amd64's idiv raises SIGFPE; arm64's sdiv returns 0, so there
// only the checked gort::div can panic), and a loop that holds known
// values in the whole register file (regfile_<arch>.S) for the preemption
// tests.
#pragma once

#include <atomic>
#include <cstdint>

// Loads the registers the architecture's kSpinIntSlots and kSpinVectors
// name from in, spins until *stop is non-zero, and stores them to out.
// Layout of in and out: integer register n at word n (32 words), then
// vector register n's 128 bits at byte 256 + 16n.
extern "C" void gorttest_spin_registers(const std::atomic<int>* stop, uint64_t* out, const uint64_t* in);

namespace gorttest {

inline constexpr int kRegfileWords = 32 + 2 * 32;

#if defined(__x86_64__)
inline constexpr const char* kDumpPcLine = "\nrip    0x[0-9a-f]+\n";
inline constexpr const char* kDumpLastLine = "\ngs     0x[0-9a-f]+\n";
inline constexpr bool kIntegerDivideTraps = true;
// rax, rdx, rbx, rbp, r8-r15 (rdi, rsi: the arguments; rcx: the loop's
// scratch; rsp) and xmm0-xmm15.
inline constexpr int kSpinIntSlots[] = {0, 2, 3, 5, 8, 9, 10, 11, 12, 13, 14, 15};
inline constexpr int kSpinVectors = 16;
[[noreturn]] inline void illegalInstruction() {
  asm volatile("ud2");
  __builtin_unreachable();
}
#elif defined(__aarch64__)
inline constexpr const char* kDumpPcLine = "\npc      0x[0-9a-f]+\n";
inline constexpr const char* kDumpLastLine = "\nfault   0x[0-9a-f]+\n";
inline constexpr bool kIntegerDivideTraps = false;
// x2-x8, x10-x28 (x0, x1: the arguments; x9: the loop's scratch; x29,
// x30: the frame) and v0-v31 whole.
inline constexpr int kSpinIntSlots[] = {2,  3,  4,  5,  6,  7,  8,  10, 11, 12, 13, 14, 15,
                                        16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28};
inline constexpr int kSpinVectors = 32;
[[noreturn]] inline void illegalInstruction() {
  asm volatile("udf #0");
  __builtin_unreachable();
}
#else
#error "tests/support/arch.hpp: no expectations for this architecture"
#endif

}  // namespace gorttest
