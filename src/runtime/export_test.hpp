// export_test.hpp: the one door through which tests see the runtime's
// insides (Go's runtime/export_test.go). White-box tests include this and
// nothing else of src/runtime; what they need that the runtime's own
// headers do not declare is exported here, in gort::internal::exported,
// with Go's export_test names.
//
// The run-queue and timer-heap entries work on structures the test owns (a
// P outside allp, a timer heap of no P), so they never race with the
// scheduler; the global run queue is shared, so a test touches it only with
// the world stopped.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/inittask.hpp"
#include "runtime/lock_futex.hpp"
#include "runtime/lockrank.hpp"
#include "runtime/malloc.hpp"
#include "runtime/mcache.hpp"
#include "runtime/mheap.hpp"
#include "runtime/mpagealloc.hpp"
#include "runtime/netpoll.hpp"
#include "runtime/os_linux.hpp"
#include "runtime/panic.hpp"
#include "runtime/preempt.hpp"
#include "runtime/print.hpp"
#include "runtime/proc.hpp"
#include "runtime/runtime1.hpp"
#include "runtime/runtime2.hpp"
#include "runtime/sema.hpp"
#include "runtime/stubs.hpp"
#include "runtime/time.hpp"
#include "runtime/traceback.hpp"

namespace gort::internal::exported {

// ---- run queues (proc.cpp) ----
// A P for tests: idle, not in allp, its queues empty.
p* NewTestP();
void FreeTestP(p* pp);
// runqput/runqget/runqsteal on test Ps (the caller is their owner).
void RunqPut(p* pp, g* gp, bool next);
g* RunqGet(p* pp, bool* inheritTime);
g* RunqSteal(p* pp, p* victim, bool stealRunNext);
uint32_t RunqLen(p* pp);  // the local queue, without runnext
// Whether runqput may ignore `next` and shuffle an overflow (sanitizer
// builds randomise the scheduler).
bool RandomizedScheduler();
// World stopped: the global run queue's Gs, taken out in order, and put back.
std::vector<g*> GlobalRunqTakeAll();
void GlobalRunqPutAll(const std::vector<g*>& gs);

// ---- timer heaps (time.cpp) ----
// Adds t (its `when` set) to ts, or deletes it; they take ts.mu and t.mu.
void TimerHeapAdd(timerHeap* ts, timer* t);
void TimerHeapDelete(timerHeap* ts, timer* t);
// The heap property, every timer's idx and ts, and the published minimum.
bool TimerHeapValid(timerHeap* ts);

// ---- the heap (malloc.cpp, mgcsweep.cpp) ----
// A collection cycle by hand, until the collector exists: with the world
// stopped, finish the last sweep, mark the objects holding each of keep
// (any interior address), and start a new sweep cycle: every other object
// allocated before the call is free once its span is swept.
void SweepCycle(const std::vector<const void*>& keep);
// Sweep every span not yet swept (lazily or by the sweeper).
void FinishSweep();

}  // namespace gort::internal::exported
