// signal_unix.hpp: signal handling (signal_unix.cpp).
#pragma once

#include "runtime/runtime2.hpp"

namespace gort::internal {

void initSignals();            // process-wide handlers (schedinit)
void minitSignals(m* mp);      // per-M alternate signal stack
void minitSignalsExit(m* mp);  // M exiting: release its signal stack
// Go's name for a signal in crash reports ("SIGSEGV: segmentation violation").
const char* signame(int sig);

}  // namespace gort::internal
