// debug.hpp: package runtime/debug.
#pragma once

#include <cstdint>
#include <string>

namespace gort::debug {

// SetMaxStack sets the stack reservation of goroutines created from now on
// (rounded up to a page, at least 16 KiB) and returns the previous setting.
// A goroutine that overflows its stack ends the program with Go's
// "goroutine stack exceeds N-byte limit" / "fatal error: stack overflow".
// gort stacks cannot grow (C++ frames hold pointers into them), so this is
// the size every new stack reserves; only touched pages use memory.
int64_t SetMaxStack(int64_t bytes);

// SetMaxThreads sets the maximum number of OS threads the program may use
// and returns the previous value (default 10000). Exceeding it is a fatal
// error ("thread exhaustion"), as in Go.
int SetMaxThreads(int threads);

// SetPanicOnFault makes a memory fault at a non-nil address in the calling
// goroutine a run-time panic (recoverable where the faulting code can be
// unwound) instead of a crash, and returns the previous setting. It applies
// to the calling goroutine only, as in Go.
bool SetPanicOnFault(bool enabled);

// FreeOSMemory forces a collection, then returns as much free heap memory
// to the operating system as it can, at once.
void FreeOSMemory();

// SetGCPercent sets GOGC (a negative value turns the collector off) and
// returns the previous setting.
int SetGCPercent(int percent);

// SetMemoryLimit sets GOMEMLIMIT, the soft limit in bytes on the memory the
// runtime uses; a negative limit only reports the current one. Returns the
// previous limit (INT64_MAX: none).
int64_t SetMemoryLimit(int64_t limit);

// SetTraceback sets how much a crash prints: "none", "single", "all",
// "system", "crash" or a number, as GOTRACEBACK does; it cannot lower the
// level GOTRACEBACK set in the environment.
void SetTraceback(const std::string& level);

// ReadGCStats: the collector's history (gort/debug_gcstats.hpp has GCStats;
// it needs package time, which this header does not pull in).
struct GCStats;
void ReadGCStats(GCStats* stats);

}  // namespace gort::debug
