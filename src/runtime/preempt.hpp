// preempt.hpp: goroutine preemption (preempt.cpp).
#pragma once

#include <atomic>
#include <cstdint>

#include "runtime/runtime2.hpp"

namespace gort::internal {

void initPreemption();           // schedinit: SIGURG handler, safe-point table
bool asyncPreemptAvailable();    // signal-based preemption usable and not disabled
void preemptone(p* pp);          // ask the G running on pp to yield
void preemptLongRunning(int64_t now);  // sysmon: preempt Gs running > 10 ms
void checkPreempt();             // runtime entries: yield if asked to
void gopreempt();
// Whether pc lies in gort's own code (runtime functions and assembly), where
// a goroutine is never preempted asynchronously. False before
// initPreemption and in executables without a symbol table.
bool inRuntimeText(uintptr_t pc);                // proc.cpp: yield the current G (runnable, global queue)
extern std::atomic<uint64_t> asyncPreemptions;  // count of signal-driven yields (tests, traces)

}  // namespace gort::internal
