// runtime.hpp: package runtime's scheduler surface, and the program entry.
#pragma once

#include <cstdint>
#include <exception>
#include <string>
#include <utility>

#include "gort/internal/proc.hpp"

namespace gort {

// Main is runtime.main: it reads GOMAXPROCS, GOTRACEBACK, GODEBUG, GOGC and
// GOMEMLIMIT (the runtime reads them when it starts, whoever starts it), runs the registered package inits (init.hpp) in dependency order on
// goroutine 1, then user_main, and ends the process with status 0 when
// user_main returns, whatever other goroutines are doing. The calling thread
// becomes m0. It never returns.
[[noreturn]] int Main(int argc, char** argv, void (*user_main)());

// Run executes f on a new goroutine and blocks the calling OS thread (which
// must not itself be running a goroutine) until f returns; an exception that
// escapes f is rethrown here. It starts the runtime on first use, for
// programs and tests that keep their own main. No deadlock detection applies
// in this mode: the calling thread may always supply more work.
template <class F>
void Run(F&& f);

namespace runtime {

// GOMAXPROCS sets the number of Ps (n > 0) and returns the previous value;
// n <= 0 only queries. A change stops the world.
int GOMAXPROCS(int n);
int NumCPU();        // CPUs usable by this process: affinity mask and cgroup quota
int NumGoroutine();  // live goroutines
void Gosched();      // yield the processor; the goroutine stays runnable
// Goexit runs the goroutine's pending destructors (the C++ form of its
// deferred calls) and ends it; it cannot be recovered. Called on the main
// goroutine, the program continues until the other goroutines finish, then
// dies with "no goroutines (main called runtime.Goexit) - deadlock!".
[[noreturn]] void Goexit();
// LockOSThread wires the calling goroutine to its OS thread until a
// matching number of UnlockOSThread calls; a goroutine that exits while
// locked takes its thread with it.
void LockOSThread();
void UnlockOSThread();
int64_t GoID();  // gort extension: the current goroutine's id (0 off-goroutine)

std::string Version();

// Go's runtime.MemStats. Read without stopping the world, from counters the
// allocator keeps per P: each field is exact for the moment it was read,
// but fields read a moment apart may disagree by an allocation in flight.
// Lookups and BuckHashSys are always zero, as in Go.
struct MemStats {
  uint64_t Alloc = 0, TotalAlloc = 0, Sys = 0, Lookups = 0, Mallocs = 0, Frees = 0;
  uint64_t HeapAlloc = 0, HeapSys = 0, HeapIdle = 0, HeapInuse = 0, HeapReleased = 0, HeapObjects = 0;
  uint64_t StackInuse = 0, StackSys = 0;
  uint64_t MSpanInuse = 0, MSpanSys = 0, MCacheInuse = 0, MCacheSys = 0;
  uint64_t BuckHashSys = 0, GCSys = 0, OtherSys = 0;
  uint64_t NextGC = 0, LastGC = 0, PauseTotalNs = 0;
  uint64_t PauseNs[256] = {}, PauseEnd[256] = {};
  uint32_t NumGC = 0, NumForcedGC = 0;
  double GCCPUFraction = 0;
  bool EnableGC = true, DebugGC = false;
  struct SizeClass {
    uint32_t Size = 0;
    uint64_t Mallocs = 0, Frees = 0;
  };
  SizeClass BySize[61];
};
void ReadMemStats(MemStats* m);

// GC runs a full collection and returns once it is done and the heap swept,
// as Go's runtime.GC: what was unreachable when it was called is freed (or
// queued for its destructor).
void GC();

// KeepAlive marks p as in use until this point: the object it points to
// is not freed (nor its destructor run) before the call returns.
template <class T>
[[gnu::noinline]] void KeepAlive(const T& p) {
  asm volatile("" : : "g"(&p) : "memory");
}

inline constexpr const char* GOOS = "linux";
#if defined(__aarch64__)
inline constexpr const char* GOARCH = "arm64";
#else
inline constexpr const char* GOARCH = "amd64";
#endif

}  // namespace runtime

namespace internal {
void runBlocking(void (*fn)(void*), void* arg);
}

template <class F>
void Run(F&& f) {
  struct Call {
    F& f;
    std::exception_ptr err;
  } call{f, nullptr};
  internal::runBlocking(
      [](void* p) {
        auto* c = static_cast<Call*>(p);
        try {
          c->f();
        } catch (const internal::GoexitUnwind&) {
          throw;
        } catch (...) {
          c->err = std::current_exception();
        }
      },
      &call);
  if (call.err) std::rethrow_exception(call.err);
}

}  // namespace gort
