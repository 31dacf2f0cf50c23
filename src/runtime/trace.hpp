// trace.hpp: the execution tracer's hooks (trace.cpp; Go's runtime/trace.go).
//
// The scheduler calls one hook per state change it makes. Each hook is an
// inline test of one flag, false while nobody traces, so an untraced
// program pays a predictable branch per hook; the work is out of line.
// Where a hook stands matters: an event that makes a G or P visible to
// others (create, unblock) is emitted before the change that publishes it,
// one that ends a G's run (block, sched, end) before whatever lets another
// M resume it, so that timestamps and per-G sequence numbers agree.
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>

#include "runtime/runtime2.hpp"

namespace gort::internal {

extern std::atomic<bool> traceOn;  // between StartTrace and StopTrace
inline bool traceEnabled() { return __builtin_expect(traceOn.load(std::memory_order_relaxed), 0); }

// Out of line: the events themselves.
void traceGoCreateEvent(g* newg);
void traceGoStartEvent(g* gp);
void traceGoParkEvent(waitReason reason);
void traceGoUnparkEvent(g* gp);
void traceGoSchedEvent(bool preempted);
void traceGoEndEvent();
void traceGoSysCallEvent(g* gp);
void traceGoSysBlockEvent(p* pp, int64_t ts);
void traceProcStartEvent(p* pp);
void traceProcStopEvent(p* pp);
void traceGomaxprocsEvent(int32_t procs);
void traceGCSTWStartEvent(int kind);
void traceGCSTWDoneEvent();
void traceGCStartEvent();
void traceGCDoneEvent();
void traceHeapAllocEvent(uint64_t live);
void traceHeapGoalEvent(uint64_t goal);
int64_t traceClock();

// newproc: newg is about to become runnable.
inline void traceGoCreate(g* newg) { if (traceEnabled()) traceGoCreateEvent(newg); }
// execute: the current M's P starts running gp (after a blocked system
// call the trace first sees the call return).
inline void traceGoStart(g* gp) { if (traceEnabled()) traceGoStartEvent(gp); }
// gopark: the current G blocks for reason (the event type follows from it).
inline void traceGoPark(waitReason reason) { if (traceEnabled()) traceGoParkEvent(reason); }
// gp (waiting) is about to become runnable.
inline void traceGoUnpark(g* gp) { if (traceEnabled()) traceGoUnparkEvent(gp); }
// Gosched / preemption: the current G yields its P.
inline void traceGoSched() { if (traceEnabled()) traceGoSchedEvent(false); }
inline void traceGoPreempt() { if (traceEnabled()) traceGoSchedEvent(true); }
// goexit0: the current G of this M's P has ended.
inline void traceGoEnd() { if (traceEnabled()) traceGoEndEvent(); }
// entersyscall: gp enters a system call (still holding its P).
inline void traceGoSysCall(g* gp) { if (traceEnabled()) traceGoSysCallEvent(gp); }
// exitsyscall took its own P back: the trace never saw the call block.
// Kept whether or not tracing is on, so that a trace started meanwhile
// (which marks every G in a system call blocked) stays consistent.
inline void traceSyscallKeptP(g* gp) { gp->traceSysBlocked = false; }
// The G's P was taken while it ran outside the runtime (lostP).
inline void traceLostP(g* gp) { gp->traceSysBlocked = true; }
// exitsyscall returned on a P other than the one it entered with.
inline void traceGoSysExit(g* gp) { if (traceEnabled() && gp->traceSysBlocked) traceGoStartEvent(gp); }
// The time to stamp on a system-call block, read before the CAS that takes
// the P: the G's return from the call, which sees the CAS, is then later.
inline int64_t traceBlockTime() { return traceEnabled() ? traceClock() : 0; }
// pp, whose G is in (or, stray, blocked like) a system call, was taken from
// it at ts by the caller, which now owns pp: the G blocks, the P stops.
inline void traceGoSysBlock(p* pp, int64_t ts) { if (traceEnabled()) traceGoSysBlockEvent(pp, ts); }
// acquirep / releasep.
inline void traceProcStart(p* pp) { if (traceEnabled()) traceProcStartEvent(pp); }
inline void traceProcStop(p* pp) { if (traceEnabled()) traceProcStopEvent(pp); }
// startTheWorld: GOMAXPROCS is now procs.
inline void traceGomaxprocs(int32_t procs) { if (traceEnabled()) traceGomaxprocsEvent(procs); }

// The collector (mgc.cpp). Its stops of the world, with the world stopped
// (kind 1 sweep termination, 0 mark termination) and before it restarts;
// the cycle's start and end, inside those stops (an end whose start the
// trace did not see is left out, so a trace begun mid-cycle parses); the
// heap's live bytes and goal as they change.
inline void traceGCSTWStart(int kind) { if (traceEnabled()) traceGCSTWStartEvent(kind); }
inline void traceGCSTWDone() { if (traceEnabled()) traceGCSTWDoneEvent(); }
inline void traceGCStart() { if (traceEnabled()) traceGCStartEvent(); }
inline void traceGCDone() { if (traceEnabled()) traceGCDoneEvent(); }
inline void traceHeapAlloc(uint64_t live) { if (traceEnabled()) traceHeapAllocEvent(live); }
inline void traceHeapGoal(uint64_t goal) { if (traceEnabled()) traceHeapGoalEvent(goal); }

// Package runtime/trace's side (Go's runtime.StartTrace and friends).
using TraceWriteFn = void (*)(void* w, const void* data, size_t n);
// Returns false if tracing is already on. The trace goes to write(w, ...)
// when StopTrace is called.
bool startTrace(TraceWriteFn write, void* w);
void stopTrace();
uint64_t traceNewTaskID();
void traceUserTaskCreate(uint64_t id, uint64_t parent, std::string_view taskType);
void traceUserTaskEnd(uint64_t id);
void traceUserRegion(uint64_t task, bool end, std::string_view regionType);
void traceUserLog(uint64_t task, std::string_view category, std::string_view message);

}  // namespace gort::internal
