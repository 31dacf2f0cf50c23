// arch.hpp: what the tests expect of the architecture back end, one place
// per architecture: lines of Go's register dump for a thrown signal, an
// instruction the CPU refuses (SIGILL), and whether an integer division by
// zero traps (amd64's idiv raises SIGFPE; arm64's sdiv returns 0, so there
// only the checked gort::div can panic).
#pragma once

namespace gorttest {

#if defined(__x86_64__)
inline constexpr const char* kDumpPcLine = "\nrip    0x[0-9a-f]+\n";
inline constexpr const char* kDumpLastLine = "\ngs     0x[0-9a-f]+\n";
inline constexpr bool kIntegerDivideTraps = true;
[[noreturn]] inline void illegalInstruction() {
  asm volatile("ud2");
  __builtin_unreachable();
}
#elif defined(__aarch64__)
inline constexpr const char* kDumpPcLine = "\npc      0x[0-9a-f]+\n";
inline constexpr const char* kDumpLastLine = "\nfault   0x[0-9a-f]+\n";
inline constexpr bool kIntegerDivideTraps = false;
[[noreturn]] inline void illegalInstruction() {
  asm volatile("udf #0");
  __builtin_unreachable();
}
#else
#error "tests/support/arch.hpp: no expectations for this architecture"
#endif

}  // namespace gorttest
