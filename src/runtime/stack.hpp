// stack.hpp: goroutine stacks (stack.cpp).
#pragma once

#include <cstddef>
#include <cstdint>

#include "runtime/runtime2.hpp"

namespace gort::internal {

// One goroutine stack: usable memory [lo, hi) with a guard page below lo.
// The metadata lives outside the stack memory so that returning a cold
// stack's pages to the OS keeps it intact.
struct StackSlot {
  uintptr_t lo = 0;
  uintptr_t hi = 0;
  StackSlot* next = nullptr;  // free lists
  int64_t freedAt = 0;        // nanotime when freed, for scavenging
  bool trimmed = false;       // pages below the top returned to the OS
};

// Stack size for new goroutines (debug::SetMaxStack), page aligned.
size_t maxStackSize();
// Whether p lies in a goroutine stack chunk (any goroutine's, or a free
// slot's): the collector scans such words conservatively, never as roots.
bool onAnyStack(uintptr_t p);
size_t setMaxStackSize(size_t bytes);

StackSlot* stackalloc(p* pp);
void stackfree(p* pp, StackSlot* s);
// Move a P's cached stacks to the global pool (P destroyed).
void stackcacheRelease(p* pp);
// Return the memory of stacks free for more than ageNs to the OS (sysmon).
void stackScavenge(int64_t now, int64_t ageNs);
// ASan builds: runs LeakSanitizer's check before the process exits with
// _exit (which skips the atexit hook it would run from), with the stacks of
// the goroutines still alive as roots: pointers they hold are not leaks.
void leakCheckAtExit();
// If addr lies in a goroutine stack's guard page, the stack it guards.
bool stackGuardHit(uintptr_t addr, uintptr_t* lo, uintptr_t* hi);

}  // namespace gort::internal
