// debug.cpp: package runtime's knobs and counts for the processors and
// goroutines (Go's debug.go), and runtime/debug's thread limit.
//
// GOMAXPROCS changes only with the world stopped: it records the request in
// newprocs under sched.lock, and startTheWorld's procresize applies it, so
// that no P is running while allp is resized. Callers outside a goroutine
// borrow one, because stopping the world needs a G that can be descheduled.

#include "gort/debug.hpp"
#include "gort/go.hpp"
#include "gort/runtime.hpp"
#include "runtime/proc.hpp"
#include "runtime/runtime2.hpp"

namespace gort::runtime {

using namespace gort::internal;

int GOMAXPROCS(int n) {
  ensureStarted();
  if (!getg()) {
    int ret = 0;
    gort::Run([&] { ret = GOMAXPROCS(n); });
    return ret;
  }
  RuntimeEntry entry;
  lock(&sched.lock);
  int ret = gomaxprocs.load(std::memory_order_relaxed);
  unlock(&sched.lock);
  if (n <= 0 || n == ret) return ret;
  if (n > 1 << 20) n = 1 << 20;
  stopTheWorld("GOMAXPROCS");
  newprocs = n;
  startTheWorld();
  return ret;
}

int NumCPU() {
  ensureStarted();
  return ncpu;
}

int NumGoroutine() { return int(gcount()); }

}  // namespace gort::runtime

namespace gort::debug {

int SetMaxThreads(int threads) { return internal::setMaxThreads(threads); }

}  // namespace gort::debug
