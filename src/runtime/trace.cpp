// trace.cpp: the execution tracer (mirrors runtime/trace.go).
//
// What. Between StartTrace and StopTrace the scheduler reports every state
// change of its Gs and Ps (trace.hpp's hooks) as events in Go 1.19's trace
// format, so that `go tool trace` (src/internal/trace/parser.go) reads the
// result: a 16-byte header "go 1.19 trace\0\0\0", then batches of events,
// each batch opened by EvBatch [P id, timestamp] and followed by events of
// that P with timestamps as deltas from the previous one; then EvFrequency,
// the string table (EvString) and the stack table (EvStack). Each event is a
// byte (type | argument count << 6) and unsigned LEB128 arguments; with
// more than three arguments a length byte follows the type.
//
// How. Each P owns a 64 KiB buffer that only the M holding the P writes, so
// the hot path takes no lock: an event costs a tick-counter read and a few
// stores (and, for events that carry a stack, a frame-pointer walk and a
// hash-table lookup under stacksLock). Threads without a P (the poller or sysmon readying a G, a thread
// outside the scheduler starting a goroutine) share one global buffer under
// a lock, the P id -1 of Go's traceGlobProc. A full buffer stays on a list
// of every buffer in allocation order (a lock-free stack, reversed at the
// end) and a fresh one takes its place; StopTrace writes them all. Rejected:
// a reader goroutine streaming buffers out as they fill, as Go does: it
// needs a hand-off protocol between the writers and the reader that the
// tests here would barely exercise; the cost of keeping the trace in memory
// until Stop is memory, documented in README's "Tracing".
//
// Ordering. The parser merges the per-P batches using each G's sequence
// number (g.traceseq: incremented on every start and unblock, carried by
// those events) and checks that the merged order has non-decreasing
// timestamps. So a hook that publishes a G (create, unblock) runs before the
// store that lets another P start it, a hook that ends a G's run before the
// unlock that lets another M wake it, and a P taken from a system call is
// stamped with a time read before the CAS that takes it (traceBlockTime):
// the G, which learns of the CAS when its call returns, stamps its return
// later. Timestamps are the CPU tick counter (cputicks: the TSC, CNTVCT),
// which Linux requires to run in step on every CPU; EvFrequency gives its
// rate, measured against CLOCK_MONOTONIC from Start to Stop.
//
// State kept for the trace alone: p.traceRunning (the trace's view of the
// P, so that a P kept across a system call does not restart), and
// g.traceSysBlocked (the G's P was taken while it was in a system call or
// blocked outside the runtime; its next start first reports the return).
//
// Start and stop run with the world stopped: StartTrace describes every
// existing G (EvGoCreate, then EvGoWaiting or EvGoInSyscall) holding the
// global buffer's lock, so a P-less thread readying a G meanwhile waits and
// reports the unblock after the G's description. StopTrace disables the
// hooks with the world stopped, so every P's buffer is quiescent when it is
// collected.
//
// The collector: each cycle is EvGCStart .. EvGCDone, each inside its stop
// of the world (EvGCSTWStart kind 1 sweep termination, kind 0 mark
// termination, then EvGCSTWDone); EvHeapAlloc follows the live-heap count
// (span refills, large objects, the cycle's ends), EvHeapGoal the goal.
// Not traced: sweeping and mark assists.
//
// Locks: globalLock (the global buffer) and stringsLock (the user strings)
// are leaves: nothing is taken under them.
#include "runtime/trace.hpp"

#include <algorithm>
#include <cstring>
#include <memory_resource>
#include <new>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "runtime/arch.hpp"
#include "runtime/lock_futex.hpp"
#include "runtime/os_linux.hpp"
#include "runtime/panic.hpp"
#include "runtime/proc.hpp"
#include "runtime/stubs.hpp"
#include "runtime/traceback.hpp"

namespace gort::internal {

std::atomic<bool> traceOn{false};

constexpr size_t kTraceBufSize = 64 << 10;

// One P's (or the global) batch of events.
struct TraceBuf {
  TraceBuf* older = nullptr;  // allocation order, newest first (allBufs)
  int32_t pid = 0;
  int64_t lastTs = 0;
  size_t pos = 0;
  uint8_t data[kTraceBufSize];

  void byte(uint8_t b) { data[pos++] = b; }
  void varint(uint64_t v) {
    while (v >= 0x80) {
      data[pos++] = uint8_t(v) | 0x80;
      v >>= 7;
    }
    data[pos++] = uint8_t(v);
  }
};

namespace {

// Event types (parser.go's numbering).
enum : uint8_t {
  evBatch = 1,
  evFrequency = 2,
  evStack = 3,
  evGomaxprocs = 4,
  evProcStart = 5,
  evProcStop = 6,
  evGCStart = 7,
  evGCDone = 8,
  evGCSTWStart = 9,
  evGCSTWDone = 10,
  evGoCreate = 13,
  evGoStart = 14,
  evGoEnd = 15,
  evGoStop = 16,
  evGoSched = 17,
  evGoPreempt = 18,
  evGoSleep = 19,
  evGoBlock = 20,
  evGoUnblock = 21,
  evGoBlockSend = 22,
  evGoBlockRecv = 23,
  evGoBlockSelect = 24,
  evGoBlockSync = 25,
  evGoBlockCond = 26,
  evGoBlockNet = 27,
  evGoSysCall = 28,
  evGoSysExit = 29,
  evGoSysBlock = 30,
  evGoWaiting = 31,
  evGoInSyscall = 32,
  evHeapAlloc = 33,
  evHeapGoal = 34,
  evString = 37,
  evUserTaskCreate = 45,
  evUserTaskEnd = 46,
  evUserRegion = 47,
  evUserLog = 48,
};

constexpr int kArgCountShift = 6;
constexpr size_t kMaxEventBytes = 2 + 10 * 8;  // type, length, up to 8 varints
constexpr size_t kMaxLogBytes = kTraceBufSize / 4;  // a longer trace::Log message is cut
constexpr int kMaxStackPCs = 64;
constexpr uint64_t kNoStack = ~uint64_t(0);    // the event type has no stack argument


// A stack: return addresses, innermost first, and its id in the trace.
struct StackEntry {
  uint64_t hash;
  uint64_t id;
  int n;
  uintptr_t pcs[kMaxStackPCs];
};
constexpr size_t kStackSlots = 1 << 15;
constexpr int kStackProbes = 64;

struct Tracer {
  TraceWriteFn write = nullptr;
  void* w = nullptr;
  std::atomic<TraceBuf*> allBufs{nullptr};
  mutex globalLock{LockRank::leaf};
  TraceBuf* global = nullptr;  // globalLock
  // kStackSlots. A table is never freed: a hook running off a P (a
  // goroutine leaving a system call, sysmon) may still be looking a stack up
  // in it after Stop; Start makes a new one and the old stays retired.
  std::atomic<std::atomic<StackEntry*>*> stacks{nullptr};
  std::vector<std::atomic<StackEntry*>*>* retiredStacks = nullptr;
  std::atomic<uint64_t> nextStackID{1};
  mutex stringsLock{LockRank::leaf};
  mutex stacksLock{LockRank::leaf};  // entering and finding stacks (stackID)
  std::unordered_map<std::string, uint64_t>* strings = nullptr;  // stringsLock
  uint64_t nextStringID = 1;                                     // stringsLock
  std::atomic<uint64_t> nextTaskID{1};
  // The collector's cycles this trace has seen start (the GCStart seq) and
  // whether the last one is still open; written with the world stopped.
  uint64_t gcSeq = 0;
  bool gcOpen = false;
  int64_t startTicks = 0, startNanos = 0, endTicks = 0, endNanos = 0;  // the frequency's base
  std::atomic<int> state{0};  // 0 off, 1 starting or stopping, 2 on
};
Tracer tracer;

TraceBuf* newBuf(int32_t pid, int64_t ts) {
  auto* b = new TraceBuf;
  b->pid = pid;
  b->lastTs = ts;
  b->byte(evBatch | 1 << kArgCountShift);
  b->varint(uint64_t(int64_t(pid)));
  b->varint(uint64_t(ts));
  TraceBuf* head = tracer.allBufs.load(std::memory_order_relaxed);
  do b->older = head;
  while (!tracer.allBufs.compare_exchange_weak(head, b, std::memory_order_release, std::memory_order_relaxed));
  return b;
}

// Appends an event to *slot, the buffer of P pid, owned by the caller.
// stack: the stack id, or kNoStack for event types without one; tail: the
// string a user log carries after its arguments.
void put(TraceBuf** slot, int32_t pid, uint8_t ev, int64_t ts, std::initializer_list<uint64_t> args,
         uint64_t stack = kNoStack, std::string_view tail = {}) {
  if (tail.size() > kMaxLogBytes) tail = tail.substr(0, kMaxLogBytes);
  TraceBuf* b = *slot;
  if (!b || b->pos + kMaxEventBytes + 10 + tail.size() > kTraceBufSize) *slot = b = newBuf(pid, ts);
  if (ts < b->lastTs) ts = b->lastTs;  // a time read before the caller owned the P
  size_t narg = args.size() + (stack != kNoStack ? 1 : 0);
  size_t start = b->pos;
  b->byte(uint8_t(ev | std::min<size_t>(narg, 3) << kArgCountShift));
  size_t lenAt = 0;
  if (narg >= 3) {
    lenAt = b->pos;
    b->byte(0);
  }
  b->varint(uint64_t(ts - b->lastTs));
  b->lastTs = ts;
  for (uint64_t a : args) b->varint(a);
  if (stack != kNoStack) b->varint(stack);
  if (lenAt) b->data[lenAt] = uint8_t(b->pos - start - 2);
  if (ev == evUserLog) {
    b->varint(tail.size());
    std::memcpy(b->data + b->pos, tail.data(), tail.size());
    b->pos += tail.size();
  }
}

uint64_t hashPCs(const uintptr_t* pcs, int n) {
  uint64_t h = 14695981039346656037ull;
  for (int i = 0; i < n; i++) h = (h ^ pcs[i]) * 1099511628211ull;
  return h;
}

// The id of a stack, entering it in the table if new; 0 (no stack) if the
// table is too full.
uint64_t stackID(const uintptr_t* pcs, int n) {
  if (n <= 0) return 0;
  uint64_t h = hashPCs(pcs, n);
  // Under a lock: the stack already costs microseconds to take, and a
  // lock-free table's publication is more than a trace needs.
  lockGuard guard(&tracer.stacksLock);
  std::atomic<StackEntry*>* stacks = tracer.stacks.load(std::memory_order_acquire);
  if (!stacks) return 0;
  StackEntry* fresh = nullptr;
  for (int probe = 0; probe < kStackProbes; probe++) {
    std::atomic<StackEntry*>& slot = stacks[(h + uint64_t(probe)) & (kStackSlots - 1)];
    StackEntry* e = slot.load(std::memory_order_acquire);
    if (!e) {
      if (!fresh) {
        fresh = new StackEntry;
        fresh->hash = h;
        fresh->n = n;
        std::memcpy(fresh->pcs, pcs, sizeof(uintptr_t) * size_t(n));
        fresh->id = tracer.nextStackID.fetch_add(1, std::memory_order_relaxed);
      }
      if (slot.compare_exchange_strong(e, fresh, std::memory_order_acq_rel)) return fresh->id;
    }
    if (e->hash == h && e->n == n && std::memcmp(e->pcs, pcs, sizeof(uintptr_t) * size_t(n)) == 0) {
      delete fresh;
      return e->id;
    }
  }
  delete fresh;
  return 0;
}

// The current goroutine's stack above the hook (0 on g0 or off the scheduler).
[[gnu::noinline]] uint64_t callerStack() {
  g* gp = getg();
  if (!gp || gp == gp->mp->g0) return 0;
  uintptr_t pcs[kMaxStackPCs];
  return stackID(pcs, fpcallers(1, pcs, kMaxStackPCs));
}

// Runs emit(slot, pid, ts) on the buffer of the current context: its P's,
// or the global one under its lock. Rechecks that tracing is still on.
template <class F>
void withBuffer(F&& emit) {
  g* gp = getg();
  if (p* pp = gp ? gp->mp->pp : nullptr) {
    emit(&pp->tracebuf, pp->id, traceClock());
    return;
  }
  lockGuard guard(&tracer.globalLock);
  if (!traceOn.load(std::memory_order_relaxed)) return;
  emit(&tracer.global, -1, traceClock());
}

p* ownP() { return getg()->mp->pp; }

uint8_t blockEvent(waitReason r) {
  switch (r) {
    case waitReason::chanReceive: return evGoBlockRecv;
    case waitReason::chanSend: return evGoBlockSend;
    case waitReason::select: return evGoBlockSelect;
    // A G that can never be woken stops, as Go's nil-channel ops and
    // select{} report it.
    case waitReason::chanReceiveNilChan:
    case waitReason::chanSendNilChan:
    case waitReason::selectNoCases: return evGoStop;
    case waitReason::semacquire: return evGoBlockSync;
    case waitReason::syncCondWait: return evGoBlockCond;
    case waitReason::sleep: return evGoSleep;
    case waitReason::ioWait: return evGoBlockNet;
    default: return evGoBlock;
  }
}

uint64_t goid(g* gp) { return uint64_t(gp->goid); }

}  // namespace

// Timestamps are the CPU's tick counter, as Go's: the monotonic clock costs
// a vDSO call per event. The trace's frequency event gives the rate,
// measured against the monotonic clock from Start to Stop.
int64_t traceClock() { return cputicks(); }

void traceGoCreateEvent(g* newg) {
  newg->traceseq = 0;
  newg->traceSysBlocked = false;
  uintptr_t start = reinterpret_cast<uintptr_t>(newg->entry) + 1;  // looked up at pc-1
  uint64_t startStack = stackID(&start, 1);
  uint64_t stack = callerStack();
  withBuffer([&](TraceBuf** slot, int32_t pid, int64_t ts) {
    put(slot, pid, evGoCreate, ts, {goid(newg), startStack}, stack);
  });
}

void traceGoStartEvent(g* gp) {
  p* pp = gp->mp->pp;
  int64_t ts = traceClock();
  if (gp->traceSysBlocked) {
    gp->traceSysBlocked = false;
    put(&pp->tracebuf, pp->id, evGoSysExit, ts, {goid(gp), ++gp->traceseq, 0});
  }
  put(&pp->tracebuf, pp->id, evGoStart, ts, {goid(gp), ++gp->traceseq});
}

void traceGoParkEvent(waitReason reason) {
  uint64_t stack = callerStack();
  p* pp = ownP();
  put(&pp->tracebuf, pp->id, blockEvent(reason), traceClock(), {}, stack);
}

void traceGoUnparkEvent(g* gp) {
  uint64_t stack = callerStack();
  withBuffer([&](TraceBuf** slot, int32_t pid, int64_t ts) {
    put(slot, pid, evGoUnblock, ts, {goid(gp), ++gp->traceseq}, stack);
  });
}

void traceGoSchedEvent(bool preempted) {
  uint64_t stack = callerStack();
  p* pp = ownP();
  put(&pp->tracebuf, pp->id, preempted ? evGoPreempt : evGoSched, traceClock(), {}, stack);
}

void traceGoEndEvent() {
  p* pp = ownP();
  put(&pp->tracebuf, pp->id, evGoEnd, traceClock(), {});
}

void traceGoSysCallEvent(g* gp) {
  gp->traceSysBlocked = true;  // until exitsyscall finds its P still there
  uint64_t stack = callerStack();
  p* pp = ownP();
  put(&pp->tracebuf, pp->id, evGoSysCall, traceClock(), {}, stack);
}

void traceGoSysBlockEvent(p* pp, int64_t ts) {
  if (ts == 0) ts = traceClock();
  put(&pp->tracebuf, pp->id, evGoSysBlock, ts, {});
  if (pp->traceRunning) {
    pp->traceRunning = false;
    put(&pp->tracebuf, pp->id, evProcStop, ts, {});
  }
}

void traceProcStartEvent(p* pp) {
  if (pp->traceRunning) return;  // kept across a system call
  pp->traceRunning = true;
  put(&pp->tracebuf, pp->id, evProcStart, traceClock(), {uint64_t(getg()->mp->tid)});
}

void traceProcStopEvent(p* pp) {
  if (!pp->traceRunning) return;
  pp->traceRunning = false;
  put(&pp->tracebuf, pp->id, evProcStop, traceClock(), {});
}

void traceGomaxprocsEvent(int32_t procs) {
  uint64_t stack = callerStack();
  p* pp = ownP();
  put(&pp->tracebuf, pp->id, evGomaxprocs, traceClock(), {uint64_t(procs)}, stack);
}

// ---- the collector ----------------------------------------------------------------

namespace {

template <class F>
void gcEvent(F&& emit) {
  if (tracer.state.load(std::memory_order_acquire) != 2) return;
  withBuffer(emit);
}

}  // namespace

void traceGCSTWStartEvent(int kind) {
  gcEvent([&](TraceBuf** slot, int32_t pid, int64_t ts) { put(slot, pid, evGCSTWStart, ts, {uint64_t(kind)}); });
}

void traceGCSTWDoneEvent() {
  gcEvent([&](TraceBuf** slot, int32_t pid, int64_t ts) { put(slot, pid, evGCSTWDone, ts, {}); });
}

void traceGCStartEvent() {
  uint64_t stack = callerStack();
  gcEvent([&](TraceBuf** slot, int32_t pid, int64_t ts) {
    tracer.gcOpen = true;
    put(slot, pid, evGCStart, ts, {tracer.gcSeq++}, stack);
  });
}

void traceGCDoneEvent() {
  gcEvent([&](TraceBuf** slot, int32_t pid, int64_t ts) {
    if (!std::exchange(tracer.gcOpen, false)) return;
    put(slot, pid, evGCDone, ts, {});
  });
}

void traceHeapAllocEvent(uint64_t live) {
  gcEvent([&](TraceBuf** slot, int32_t pid, int64_t ts) { put(slot, pid, evHeapAlloc, ts, {live}); });
}

void traceHeapGoalEvent(uint64_t goal) {
  gcEvent([&](TraceBuf** slot, int32_t pid, int64_t ts) { put(slot, pid, evHeapGoal, ts, {goal}); });
}

// ---- user annotations (runtime/trace's tasks, regions, logs) -------------------

namespace {

// The id of a user string (0 for ""), entering it in the table.
uint64_t userString(std::string_view s) {
  if (s.empty()) return 0;
  lockGuard guard(&tracer.stringsLock);
  auto [it, inserted] = tracer.strings->try_emplace(std::string(s), tracer.nextStringID);
  if (inserted) tracer.nextStringID++;
  return it->second;
}

// User events come from goroutine code: they run inside an entry so that
// the P cannot be taken while its buffer is written.
template <class F>
void userEvent(F&& emit) {
  if (!traceEnabled()) return;
  RuntimeEntry entry;
  if (!traceOn.load(std::memory_order_relaxed) || tracer.state.load(std::memory_order_acquire) != 2) return;
  withBuffer(emit);
}

}  // namespace

uint64_t traceNewTaskID() { return tracer.nextTaskID.fetch_add(1, std::memory_order_relaxed); }

void traceUserTaskCreate(uint64_t id, uint64_t parent, std::string_view taskType) {
  userEvent([&](TraceBuf** slot, int32_t pid, int64_t ts) {
    put(slot, pid, evUserTaskCreate, ts, {id, parent, userString(taskType)}, callerStack());
  });
}

void traceUserTaskEnd(uint64_t id) {
  userEvent([&](TraceBuf** slot, int32_t pid, int64_t ts) {
    put(slot, pid, evUserTaskEnd, ts, {id}, callerStack());
  });
}

void traceUserRegion(uint64_t task, bool end, std::string_view regionType) {
  userEvent([&](TraceBuf** slot, int32_t pid, int64_t ts) {
    put(slot, pid, evUserRegion, ts, {task, end ? 1u : 0u, userString(regionType)}, callerStack());
  });
}

void traceUserLog(uint64_t task, std::string_view category, std::string_view message) {
  userEvent([&](TraceBuf** slot, int32_t pid, int64_t ts) {
    put(slot, pid, evUserLog, ts, {task, userString(category)}, callerStack(), message);
  });
}

// ---- start and stop ---------------------------------------------------------------

namespace {

// Describes the Gs that exist as tracing starts. World stopped, the
// global buffer's lock held, me the caller (it runs on, the others do not).
void describeGoroutines(g* me, p* pp) {
  for (g* gp = allgsHead(); gp; gp = gp->alllink) {
    uint32_t st = gp->atomicstatus.load(std::memory_order_acquire);
    gp->traceSysBlocked = false;
    if (gp->goid == 0 || st == Gdead || st == Gidle) continue;
    gp->traceseq = 0;
    uintptr_t start = reinterpret_cast<uintptr_t>(gp->entry) + 1;
    put(&pp->tracebuf, pp->id, evGoCreate, traceClock(), {goid(gp), stackID(&start, 1)}, 0);
    if (st == Gwaiting) {
      gp->traceseq++;
      put(&pp->tracebuf, pp->id, evGoWaiting, traceClock(), {goid(gp)});
    } else if (st == Gsyscall || (st == Grunning && gp != me)) {
      // In a system call, or running user code on an M whose P was taken
      // (the world is stopped, so no other G runs on a P).
      gp->traceseq++;
      gp->traceSysBlocked = true;
      put(&pp->tracebuf, pp->id, evGoInSyscall, traceClock(), {goid(gp)});
    }
  }
}

void freeTables() {
  if (!tracer.retiredStacks) tracer.retiredStacks = new std::vector<std::atomic<StackEntry*>*>();
  tracer.retiredStacks->push_back(tracer.stacks.exchange(nullptr, std::memory_order_acq_rel));
  delete tracer.strings;
  tracer.strings = nullptr;
}

// The frequency, string and stack tables that close the trace.
std::string tables() {
  TraceBuf scratch;
  std::string out;
  auto flush = [&] {
    out.append(reinterpret_cast<const char*>(scratch.data), scratch.pos);
    scratch.pos = 0;
  };
  scratch.byte(evFrequency | 0 << kArgCountShift);
  int64_t ticks = tracer.endTicks - tracer.startTicks, nanos = tracer.endNanos - tracer.startNanos;
  scratch.varint(ticks > 0 && nanos > 0 ? uint64_t(double(ticks) * 1e9 / double(nanos)) : 1000000000);
  flush();
  uint64_t nextID = tracer.nextStringID;
  std::unordered_map<std::string, uint64_t>& ids = *tracer.strings;
  auto stringID = [&](std::string_view s) {
    auto [it, inserted] = ids.try_emplace(std::string(s), nextID);
    if (inserted) nextID++;
    return it->second;
  };
  TraceBuf& body = *new TraceBuf;
  for (size_t i = 0; i < kStackSlots; i++) {
    StackEntry* e = tracer.stacks.load(std::memory_order_relaxed)[i].load(std::memory_order_acquire);
    if (!e) continue;
    // symbolize allocates the demangled names from the frames' resource;
    // they are copied into the string table before the next stack.
    std::pmr::monotonic_buffer_resource names;
    std::pmr::vector<SymFrame> frames(&names);
    for (int k = 0; k < e->n; k++) symbolize(e->pcs[k], &frames);
    // The hooks' own frames and the runtime's above the user's call.
    auto first = std::find_if(frames.begin(), frames.end(), [](const SymFrame& f) {
      return f.function.substr(0, 16) != "gort::internal::";
    });
    if (first == frames.end()) first = frames.begin();
    size_t n = size_t(frames.end() - first);
    body.pos = 0;
    body.varint(e->id);
    body.varint(n);
    for (auto f = first; f != frames.end(); ++f) {
      body.varint(f->pc);
      body.varint(stringID(f->function));
      body.varint(stringID(f->file));
      body.varint(uint64_t(std::max(f->line, 0)));
    }
    scratch.byte(evStack | 3 << kArgCountShift);
    scratch.varint(body.pos);
    flush();
    out.append(reinterpret_cast<const char*>(body.data), body.pos);
  }
  delete &body;
  for (auto& [s, id] : ids) {
    scratch.byte(evString);
    scratch.varint(id);
    scratch.varint(s.size());
    flush();
    out.append(s);
  }
  return out;
}

}  // namespace

bool startTrace(TraceWriteFn write, void* w) {
  int off = 0;
  if (!tracer.state.compare_exchange_strong(off, 1, std::memory_order_acq_rel)) return false;
  tracer.write = write;
  tracer.w = w;
  tracer.stacks.store(new std::atomic<StackEntry*>[kStackSlots](), std::memory_order_release);
  tracer.strings = new std::unordered_map<std::string, uint64_t>();
  tracer.nextStringID = 1;
  tracer.nextStackID.store(1, std::memory_order_relaxed);
  RuntimeEntry entry;
  stopTheWorld("start tracing");
  tracer.startTicks = cputicks();
  tracer.startNanos = nanotime();
  g* me = getg();
  p* pp = me->mp->pp;
  for (int32_t i = 0; i < gomaxprocs.load(std::memory_order_relaxed); i++) allp[i]->traceRunning = false;
  {
    lockGuard guard(&tracer.globalLock);
    traceOn.store(true, std::memory_order_release);
    describeGoroutines(me, pp);
  }
  traceProcStartEvent(pp);
  traceGoStartEvent(me);
  tracer.gcSeq = 0;
  tracer.gcOpen = false;
  tracer.state.store(2, std::memory_order_release);
  startTheWorld();  // reports GOMAXPROCS
  return true;
}

void stopTrace() {
  int on = 2;
  if (!tracer.state.compare_exchange_strong(on, 1, std::memory_order_acq_rel)) return;
  {
    RuntimeEntry entry;
    stopTheWorld("stop tracing");
    tracer.endTicks = cputicks();
    tracer.endNanos = nanotime();
    // Close the caller's running slice, as Go does: the trace ends with every
    // goroutine stopped, and `go tool trace` needs each start to have an end.
    traceGoSchedEvent(false);
    {
      lockGuard guard(&tracer.globalLock);
      traceOn.store(false, std::memory_order_release);
      tracer.global = nullptr;
    }
    for (int32_t i = 0; i < gomaxprocs.load(std::memory_order_relaxed); i++) allp[i]->tracebuf = nullptr;
    startTheWorld();
  }
  // Oldest first: a P's batches must appear in the order it wrote them.
  std::vector<TraceBuf*> bufs;
  for (TraceBuf* b = tracer.allBufs.exchange(nullptr); b; b = b->older) bufs.push_back(b);
  std::reverse(bufs.begin(), bufs.end());
  static const char header[16] = {'g', 'o', ' ', '1', '.', '1', '9', ' ', 't', 'r', 'a', 'c', 'e', 0, 0, 0};
  tracer.write(tracer.w, header, sizeof(header));
  for (TraceBuf* b : bufs) {
    tracer.write(tracer.w, b->data, b->pos);
    delete b;
  }
  std::string rest = tables();
  tracer.write(tracer.w, rest.data(), rest.size());
  freeTables();
  tracer.state.store(0, std::memory_order_release);
}

}  // namespace gort::internal
