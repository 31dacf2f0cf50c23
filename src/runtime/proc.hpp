// proc.hpp: the scheduler's entry points for the rest of the runtime
// (proc.cpp; Go's proc.go): parking and readying goroutines, runtime
// entries, the sudog cache, stopping the world, start-up, and the lists of
// every G and M.
#pragma once

#include <atomic>
#include <cstdint>
#include <type_traits>

#include "runtime/runtime2.hpp"

namespace gort::internal {

// Per-M xorshift generator; cheap, not cryptographic.
uint32_t fastrand();
uint32_t fastrandn(uint32_t n);  // uniform in [0, n)

// Park the current G. On the g0, unlockf(gp, lock) runs after the G is
// marked waiting; if it returns false the G is resumed at once. The G must
// hold no runtime lock other than the one unlockf releases.
void gopark(bool (*unlockf)(g*, void*), void* lock, waitReason reason);
// gopark that, if the G schedule() would run next is the one in runnext
// (typically the partner this G just readied) or, with queueHead, the head
// of the local queue, switches straight to it instead of through g0; the
// partner runs unlockf(gp, lock) before it continues (and readies gp again
// if unlockf refuses the park).
void goparkHandoff(bool (*unlockf)(g*, void*), void* lock, waitReason reason, bool queueHead = false);
// Park releasing a runtime mutex (the common case).
void goparkunlock(mutex* l, waitReason reason);
// Make gp runnable; it runs next on the current P.
void goready(g* gp);

// RuntimeEntry brackets runtime code that a goroutine runs and that may use
// its P or take a runtime lock (stray.cpp, "Runtime entries"): sysmon hands
// off the P of an M blocked in the kernel only while no entry is open, and
// the outermost entry takes a P back if that happened. Nesting is cheap.
// A G that parks inside an entry resumes inside it, possibly on another M.
[[gnu::cold]] void lostP(m* mp);  // stray.cpp: the outermost entry found retake set
// Returns the G (null off the scheduler), for the matching leaveRuntime.
inline g* enterRuntime() {
  g* gp = getg();
  if (__builtin_expect(!gp, 0)) return nullptr;  // a thread outside the scheduler
  m* mp = gp->mp;
  uint32_t depth = mp->inRuntime.load(std::memory_order_relaxed);
  mp->inRuntime.store(depth + 1, std::memory_order_relaxed);
  if (depth != 0) return gp;
  // Store inRuntime, then load retake: sysmon's membarrier orders the pair
  // against its own store and load (an asymmetric Dekker), so this path
  // needs no fence, only the compiler's promise to keep the order.
  std::atomic_signal_fence(std::memory_order_seq_cst);
  if (__builtin_expect(mp->retake.load(std::memory_order_acquire) != 0, 0)) lostP(mp);
  return gp;
}
// gp: what enterRuntime returned. Its M may have changed meanwhile (a G that
// parks inside an entry resumes on any M), so the M is read again.
inline void leaveRuntime(g* gp) {
  if (__builtin_expect(!gp, 0)) return;
  m* mp = gp->mp;
  // Release: the P's updates made inside the entry stay inside it.
  mp->inRuntime.store(mp->inRuntime.load(std::memory_order_relaxed) - 1, std::memory_order_release);
}
class RuntimeEntry {
 public:
  RuntimeEntry() : gp_(enterRuntime()) {}
  ~RuntimeEntry() { leaveRuntime(gp_); }
  RuntimeEntry(const RuntimeEntry&) = delete;
  RuntimeEntry& operator=(const RuntimeEntry&) = delete;

 private:
  g* gp_;
};
// Primitives that need an entry but are called only from inside one
// (gopark, goready, mcall, the sudog cache, runtime locks) check it in
// checked builds (debug and sanitizers) instead of paying for a nested one.
void assertInRuntimeSlow(g* gp);  // stray.cpp: throws unless gp is g0
inline void assertInRuntime() {
  if constexpr (kChecked) {
    g* gp = getg();
    if (gp && gp->mp->inRuntime.load(std::memory_order_relaxed) == 0) assertInRuntimeSlow(gp);
  }
}
// Handed-off Ps of Ms blocked outside syscall::Blocking (tests watch it).
extern std::atomic<uint64_t> strayHandoffs;

// The stray-call hand-off (stray.cpp) and the scheduler pieces it uses.
void initStrayHandoff(bool membarrierOn);  // schedinit: on unless membarrier or GODEBUG says no
void openThreadStat(m* mp);                // minit: the descriptor sysmon watches the thread through
void closeThreadStat(m* mp);               // mexit
bool retakeStray(p* pp, int64_t now);      // sysmon: hands off pp if its M is blocked; says so
bool runqempty(p* pp);                     // nothing in pp's run queue, runnext or inbox
void handoffp(p* pp);                      // gives away a P whose M blocks or exits

// Run fn(arg) on the current M's g0 stack (no-op switch if already there).
void systemstack(void (*fn)(void*), void* arg);

// sudog cache.
sudog* acquireSudog();
void releaseSudog(sudog* s);

// Stop and restart the world (every P stopped, for GOMAXPROCS changes, the
// goroutine dump and later the GC).
void stopTheWorld(const char* reason);
void startTheWorld();
// The GOMAXPROCS that the next startTheWorld applies; 0 for none (sched.lock).
extern int32_t newprocs;
// A dying process's best-effort stop (Go's freezetheworld): Ps stop at their
// next schedule and none restarts, so a crash report can walk the stacks of
// goroutines that are not running. Takes no lock, waits about 5 ms, never
// returns the world to running.
void freezetheworld();

// The number of user goroutines (runtime.NumGoroutine).
int64_t gcount();

// G status changes go through here (checks the transition in debug builds).
void casgstatus(g* gp, uint32_t oldval, uint32_t newval);
// Switch to g0 and run fn(gp, mp) there; fn returns a G to run at once or
// null to schedule. Returns when the calling G is resumed.
void mcall(g* (*fn)(g*, m*));

// Start-up (proc.cpp). The runtime starts lazily: gort::Main starts it, and
// so does the first public entry point that needs it (gort::go, gort::Run,
// timers, the poller, runtime::GOMAXPROCS), from any thread, through
// ensureStarted, so that no entry point finds allp or the poller missing.
void schedinit();  // idempotent; embedded mode starts here
bool runtimeStarted();
inline void ensureStarted() {
  if (__builtin_expect(!runtimeStarted(), 0)) schedinit();
}
// A thread outside the scheduler (getg() null) cannot park. Where it must
// wait (a blocking channel operation or select, a network wait), it
// borrows a goroutine: waitOnGoroutine(fn, arg) runs fn(arg) on a new
// goroutine while the thread sleeps, as gort::Run does (starting the
// runtime if need be); an exception fn throws reaches the thread.
void waitOnGoroutine(void (*fn)(void*), void* arg);
template <class F>
void waitOnGoroutine(F&& fn) {
  waitOnGoroutine([](void* f) { (*static_cast<std::remove_reference_t<F>*>(f))(); }, &fn);
}
[[noreturn]] void mainStart(void (*user_main)());  // gort::Main
void startSysmon();

// Iteration over every G and M ever created (append-only lists).
g* allgsHead();
m* allmHead();
int64_t mcount();
int64_t runtimeNanotimeStart();
int setMaxThreads(int n);

}  // namespace gort::internal
