// signal_unix.hpp: signal handling (signal_unix.cpp).
#pragma once

#include <cstdint>

#include "runtime/print.hpp"
#include "runtime/runtime2.hpp"

namespace gort::internal {

void initSignals();            // process-wide handlers (schedinit)
void minitSignals(m* mp);      // per-M alternate signal stack
void minitSignalsExit(m* mp);  // M exiting: release its signal stack
// Go's name for a signal in crash reports ("SIGSEGV: segmentation violation").
const char* signame(int sig);
// Go's "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x...]"
// and a newline.
void printSignalLine(Printer& out, int sig, uint64_t code, uintptr_t addr, uintptr_t pc);

}  // namespace gort::internal
