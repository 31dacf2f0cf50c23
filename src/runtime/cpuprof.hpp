// cpuprof.hpp: the CPU profiler's runtime half (cpuprof.cpp).
#pragma once

#include <signal.h>

#include <atomic>
#include <cstdint>

#include "runtime/profbuf.hpp"
#include "runtime/runtime2.hpp"

namespace gort::internal {

// Samples a second while profiling, 0 when not (Go's sched.profilehz).
extern std::atomic<int32_t> cpuprofHz;

// Runs on mp's own thread: gives it a CPU timer at the current rate (or
// removes it). Called where an M starts running a goroutine.
void setThreadCPUProfiler(m* mp);
inline void checkThreadCPUProfiler(m* mp) {
  if (__builtin_expect(mp->profilehz != cpuprofHz.load(std::memory_order_relaxed), 0)) setThreadCPUProfiler(mp);
}
// The M's thread is exiting: its timer goes with it.
void threadCPUProfilerExit(m* mp);

// The SIGPROF handler (installed by signal_unix.cpp).
void sigprof(int sig, siginfo_t* info, void* ctx);

// The reader's side: the next sample (false: none queued now) and the count
// of samples lost to a full buffer since the last call.
bool cpuprofRead(ProfRecord* out);
uint64_t cpuprofLost();

}  // namespace gort::internal
