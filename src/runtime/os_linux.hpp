// os_linux.hpp: the OS layer (mirrors runtime/os_linux.go).
#pragma once

#include <cstdint>
#include <string>

namespace gort::internal {

// Reads the CPU count (affinity mask, capped by the cgroup CPU quota).
void osinit();
int32_t getproccount();
// The cgroup CPU limit in whole CPUs (quota / period rounded up; 0: none)
// under the cgroup mount cgroupRoot, for the process whose
// /proc/self/cgroup reads selfCgroup (the first form reads it).
int32_t cgroupCPULimit(const char* cgroupRoot);
int32_t cgroupCPULimit(const char* cgroupRoot, const std::string& selfCgroup);
int32_t gettid();
// membarrier(2), private expedited: every running thread of the process
// executes a full memory barrier before it returns. Registers the process
// for it and says whether that worked (once, at start); membarrier() may be
// called only if it did.
bool membarrierRegister();
void membarrier();

// Monotonic and wall clocks in nanoseconds (vDSO clock_gettime).
int64_t nanotime();
// A detached thread outside the scheduler running fn(nullptr) (the
// collector's mark worker and destructor thread); what names it in the
// fatal error if it cannot start.
void newDetachedThread(void* (*fn)(void*), const char* what);
int64_t walltime();
// cputicks (arch.hpp) in nanoseconds: for timestamps taken on hot paths
// (when a goroutine parked) and read rarely.
int64_t cputicksToNanos(int64_t ticks);
[[noreturn]] void exitProcess(int code);  // flush stdio, exit now

}  // namespace gort::internal
