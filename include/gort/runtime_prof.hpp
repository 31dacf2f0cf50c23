// runtime_prof.hpp: package runtime's profiling controls and records
// (runtime/mprof.go, cpuprof.go). pprof.hpp builds its profiles on them.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace gort::runtime {

// Samples a second of the CPU profile; 0 stops sampling. Setting a second
// rate while one is in force prints Go's "cannot set cpu profile rate"
// warning and changes nothing. pprof::StartCPUProfile uses 100 unless a
// rate was set first.
void SetCPUProfileRate(int hz);

// The heap profile samples one allocation per MemProfileRate bytes on
// average (Poisson, as Go); 0 turns sampling off, 1 records every
// allocation. Set it as early as possible (a change applies from the next
// sample of each P's cache). Default 512 KiB.
extern int MemProfileRate;

// Block profile: one blocking event per `rate` nanoseconds blocked, on
// average (1: every event, 0: off). Events: channel operations, select,
// sync.Mutex/RWMutex/WaitGroup/Cond waits.
void SetBlockProfileRate(int rate);
// Mutex profile: one in `rate` contention events (0: off); returns the
// previous rate, and rate < 0 only reads it. Events are recorded when the
// holder unlocks a sync.Mutex/RWMutex a goroutine waited on, charged to the
// unlocker's stack, as Go does.
int SetMutexProfileFraction(int rate);

// A stack of return addresses, innermost first (StackRecord.Stack0).
struct StackRecord {
  std::vector<uintptr_t> Stack;
};

struct MemProfileRecord {
  int64_t AllocBytes = 0, FreeBytes = 0;
  int64_t AllocObjects = 0, FreeObjects = 0;
  std::vector<uintptr_t> Stack;
  int64_t InUseBytes() const { return AllocBytes - FreeBytes; }
  int64_t InUseObjects() const { return AllocObjects - FreeObjects; }
};
// The sampled allocation sites (unscaled). inuseZero: also the sites
// whose memory has all been freed (frees come from the sweeper).
std::vector<MemProfileRecord> MemProfile(bool inuseZero);

struct BlockProfileRecord {
  int64_t Count = 0;
  int64_t Cycles = 0;  // nanoseconds (gort's "cycles" are ns)
  std::vector<uintptr_t> Stack;
};
std::vector<BlockProfileRecord> BlockProfile();
std::vector<BlockProfileRecord> MutexProfile();
// Where each OS thread the runtime made was asked for.
std::vector<StackRecord> ThreadCreateProfile();

}  // namespace gort::runtime
