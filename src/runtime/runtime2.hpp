// runtime2.hpp: the scheduler's data structures (mirrors runtime/runtime2.go).
//
// G is a goroutine, M an OS thread, P the right to run goroutines (there are
// GOMAXPROCS of them). An M must hold a P to run a G; an M without a P is idle
// (parked on its note) or in a blocking call. Each M has a g0 running on the
// thread's own stack; the scheduler, mcall functions and systemstack code run
// there, never on a goroutine stack.
//
// Ownership rules, stated once here and relied on everywhere:
//   - g.atomicstatus changes only through casgstatus (proc.cpp), which checks
//     the transition in debug builds. Whoever moves a G out of Grunnable
//     owns it until it is runnable again.
//   - p fields without "atomic" are touched only by the M that holds the P.
//   - schedt fields marked "sched.lock" are protected by sched.lock.
//   - A G's stack is attached when it first runs (not at `go`), and given back
//     when it exits, so queued-but-unstarted goroutines cost only their g.
//
// Locks: every runtime mutex has a rank; the order they nest in is
// lockrank.cpp's table, checked in checked builds.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "runtime/arch.hpp"
#include "runtime/lock_futex.hpp"
#include "runtime/time.hpp"

namespace gort::internal {

struct g;
struct m;
struct p;
struct sudog;
struct hchan;

// gobuf is the saved context of a suspended G. The callee-saved registers
// and the FP control state (amd64: MXCSR and the x87 control word; arm64:
// FPCR) are saved on the G's own stack by gort_swapcontext (asm_<arch>.S);
// only the stack pointer lives here. Its offset is pinned in asm_<arch>.h
// and checked in sys_<arch>.cpp.
struct gobuf {
  uintptr_t sp = 0;
};

// The usable stack is [lo, hi); the guard page lies just below lo.
struct stack {
  uintptr_t lo = 0;
  uintptr_t hi = 0;
};

enum Gstatus : uint32_t {
  Gidle = 0,      // just allocated, not yet initialised
  Grunnable = 1,  // on a run queue, not running
  Grunning = 2,   // running user code, owns an M and a P
  Gsyscall = 3,   // in a blocking call, owns an M but not necessarily a P
  Gwaiting = 4,   // parked; someone holds a reference to ready it
  Gdead = 6,      // exited, on a free list
};

// Why a G is parked; printed in goroutine dumps with Go 1.19's strings.
enum class waitReason : uint8_t {
  zero,
  chanReceiveNilChan,
  chanSendNilChan,
  select,
  selectNoCases,
  chanReceive,
  chanSend,
  semacquire,
  sleep,
  syncCondWait,
  ioWait,
  preempted,
  lockedThread,  // gort: parked in Main while exiting with LockOSThread held
  count_,
};
const char* waitReasonString(waitReason r);

// Deferred exception bookkeeping of libstdc++ (__cxa_eh_globals). It is per
// thread, but a G can park inside a catch block and resume on another thread,
// so it travels with the G across every switch (NOTES.md §4.2).
struct EhGlobals {
  void* caughtExceptions = nullptr;
  unsigned int uncaughtExceptions = 0;
};

// Entry of a goroutine: a type-erased closure. Small closures live inline in
// the g (no allocation on `go`), larger ones on the heap.
constexpr size_t kClosureInline = 64;
using GoEntry = void (*)(void* closure);

struct alignas(64) g {
  // The first cache line holds what every switch, park and ready touches.
  gobuf sched;  // must stay first (proc.cpp checks it)
  std::atomic<uint32_t> atomicstatus{Gidle};
  waitReason waitreason = waitReason::zero;
  bool preempt = false;
  // The P the poller should queue this G on (its descriptor's home, see
  // netpoll.cpp), or -1: set by netpollready, read by injectglist.
  int16_t pollHome = -1;
  m* mp = nullptr;        // M running this G, or null
  m* lockedm = nullptr;   // LockOSThread: the M this G is wired to
  g* schedlink = nullptr; // run queue / free list link
  int64_t waitsince = 0;  // cputicks when parked, to sysmon's 10 ms (for dumps)
  EhGlobals eh;
  void* param = nullptr;  // passed by the readier (sudog that completed)
  std::atomic<uint32_t> selectDone{0};  // select wake-up race (select.cpp)
  bool paniconfault = false;  // debug::SetPanicOnFault
  stack stk;
  struct StackSlot* slot = nullptr;  // stack.cpp; null until first run
  int64_t goid = 0;
  sudog* waiting = nullptr;  // sudogs this G waits on (select: several)
  int64_t parentGoid = 0;
  uintptr_t gopc = 0;     // pc of the `go` call site
  GoEntry entry = nullptr;
  void* closure = nullptr;  // &inlineClosure[0] or a heap block
  size_t closureAlign = 0;  // alignment of a heap closure
  size_t closureSize = 0;   // bytes the collector scans while the G lives
  struct PanicCtx* _panic = nullptr;        // innermost panic running deferred calls (panic.cpp)
  struct AncestorInfo* ancestors = nullptr;  // GODEBUG=tracebackancestors (traceback.cpp)
  void* sanFiber = nullptr;  // TSan fiber / ASan fake stack
  g* alllink = nullptr;   // allgs chain (append only)
  // Execution tracer (trace.cpp): the G's event sequence number, which
  // orders its events across the Ps' buffers, and whether the trace shows
  // it blocked in a system call (its P was taken) until it runs again.
  uint64_t traceseq = 0;
  bool traceSysBlocked = false;
  struct ProfLabels* labels = nullptr;  // pprof labels, one reference held (proflabel.hpp)
  alignas(16) unsigned char inlineClosure[kClosureInline];
};

// A sudog is a G waiting on a synchronisation object: a channel (several
// sudogs for a select) or a semaphore address. Cached per P.
struct sudog {
  g* gp = nullptr;
  sudog* next = nullptr;
  sudog* prev = nullptr;
  void* elem = nullptr;       // data element (may point into a stack)
  int64_t acquiretime = 0;
  int64_t ticket = 0;         // sema: handoff ticket
  sudog* waitlink = nullptr;  // g.waiting list or semaRoot chain
  sudog* waittail = nullptr;  // semaRoot
  hchan* c = nullptr;         // channel
  sudog* parent = nullptr;    // semaRoot treap
  bool isSelect = false;
  bool success = false;       // chan: true if woken by a value, false by close
  uint32_t selectCase = 0;    // select: which case this sudog belongs to
};

struct note {
  std::atomic<uint32_t> key{0};
};

struct alignas(64) m {
  g* g0 = nullptr;
  g* curg = nullptr;
  p* pp = nullptr;       // attached P, or null
  p* nextp = nullptr;    // P to acquire when woken
  p* oldp = nullptr;     // P held before entering a syscall
  int64_t id = 0;
  bool spinning = false; // looking for work without a G
  bool blocked = false;  // parked on park note
  int32_t locks = 0;     // runtime locks held (no preemption, no park)
  uint32_t lockedExt = 0;  // LockOSThread nesting from user code
  uint32_t lockedInt = 0;  // internal LockOSThread nesting
  g* lockedg = nullptr;
  note park;
  m* schedlink = nullptr;  // idle M list (sched.lock)
  m* alllink = nullptr;
  uint64_t fastrand = 0;
  int32_t tid = 0;
  uintptr_t g0StackLo = 0, g0StackHi = 0;
  // mcall: the function the g0 runs for the G that just switched out. It
  // returns a G to run at once (parking failed) or null to schedule.
  g* (*mcallfn)(g* gp, m* mp) = nullptr;
  // gopark arguments, read by park_m on g0.
  bool (*waitunlockf)(g* gp, void* arg) = nullptr;
  void* waitlock = nullptr;
  // goparkHandoff: the G that parked by switching straight to curg; curg
  // finishes its park (waitunlockf) when it resumes.
  g* handoffFrom = nullptr;
  // > 0 while this M runs mallocgc or a region that must not allocate
  // (check.hpp's NoAllocRegion); counted in checked builds only.
  uint32_t mallocing = 0;
  void* sigaltstack = nullptr;
  std::atomic<uint32_t> signalPending{0};
  void* tsanFiber = nullptr;
  void* asanFakeStack = nullptr;
  struct EhGlobals* ehGlobals = nullptr;  // this thread's __cxa_eh_globals
  // Stray blocking calls (stray.cpp, "Runtime entries"). inRuntime > 0 while
  // this M runs runtime code that may use its P (g0 and every RuntimeEntry),
  // 0 while a goroutine's own code runs; only this M's thread writes it.
  // retake: 0, or 1 while sysmon tries to take the P of this M, or 2 once it
  // has. statFd: /proc/thread-self/stat of this M's thread, or -1.
  std::atomic<uint32_t> inRuntime{1};
  std::atomic<uint32_t> retake{0};
  std::atomic<int> statFd{-1};
  // CPU profiler (cpuprof.cpp): the rate this thread's CPU timer runs at
  // (0: no timer) and the timer; only this M's thread touches them.
  int32_t profilehz = 0;
  bool proftimerSet = false;
  void* proftimer = nullptr;
  // threadcreate profile (mprof.cpp): the stack that asked for this M.
  int32_t ncreatestack = 0;
  uintptr_t createstack[32];
  // The collector's suspension of this M's thread while its G runs without
  // a P (mgcmark.cpp): 0 none, 1 requested, 2 suspended in the SIGURG
  // handler at gcSuspendSp with the context gcSuspendCtx.
  std::atomic<uint32_t> gcSuspend{0};
  uintptr_t gcSuspendSp = 0;
  void* gcSuspendCtx = nullptr;
};

// A P's local run queue. Checked builds (check.hpp) make it tiny, so that
// its overflow to the global queue and the steal paths run all the time.
constexpr uint32_t kRunqSize = kChecked ? 16 : 256;
constexpr int32_t kGFreeLocalMax = 64;  // a P's free-G cache

// A FIFO of G pointers that grows as needed (the global run queue, the
// global free-G pool). Batches move between it and the Ps' arrays as
// pointers: a linked list through g.schedlink made every transfer walk the
// gs, each a cache miss on a line another CPU last wrote (half of `go`'s
// cost at GOMAXPROCS=2 went to those walks). The caller holds the lock
// that guards it.
struct gRing {
  g** buf = nullptr;
  uint32_t cap = 0, head = 0;
  std::atomic<uint32_t> size{0};  // also read without the lock, as a hint
  void push(g* gp);
  void pushN(g* const* gs, uint32_t n);
  g* pop();  // null if empty
  // Pops up to n into out; returns how many.
  uint32_t popN(g** out, uint32_t n);
};

enum Pstatus : uint32_t { Pidle = 0, Prunning = 1, Psyscall = 2, Pgcstop = 3, Pdead = 4 };

struct alignas(64) p {
  int32_t id = 0;
  std::atomic<uint32_t> status{Pidle};
  p* link = nullptr;         // idle P list (sched.lock)
  uint32_t schedtick = 0;    // incremented on every scheduler call
  std::atomic<uint32_t> syscalltick{0};
  m* mp = nullptr;           // back link to the M holding it
  // Lock-free single-producer (the owner) multi-consumer (thieves) ring.
  alignas(64) std::atomic<uint32_t> runqhead{0};
  std::atomic<uint32_t> runqtail{0};
  std::atomic<g*> runq[kRunqSize];
  // The G readied by the running G; runs next, inheriting the time slice,
  // so communicating pairs stay on one P.
  alignas(64) std::atomic<g*> runnext{nullptr};
  // Gs other Ms' pollers readied for this P (their descriptors are homed
  // here): a stack linked through g.schedlink, pushed by anyone, taken
  // whole by the owner (into runq) or a thief. Part of the P's queued work.
  alignas(64) std::atomic<g*> inbox{nullptr};
  std::atomic<int32_t> cpu{-1};  // the CPU its M last scheduled on (GOMAXPROCS > 1)
  // Free Gs (status Gdead) with their stacks detached; a stack of
  // pointers, so taking one does not read the (cold) g.
  g* gFree[kGFreeLocalMax];
  int32_t gFreeCount = 0;
  // sudog cache (acquireSudog/releaseSudog).
  sudog* sudogcache[128];
  int32_t sudogcount = 0;
  // Free stacks of the default size (stack.cpp), hot in cache.
  struct StackSlot* stackcache = nullptr;
  int32_t stackcacheCount = 0;
  uint64_t goidcache = 0, goidcacheEnd = 0;
  uintptr_t gSlabNext = 0, gSlabEnd = 0;  // batch of unused g memory (malg)
  std::atomic<int64_t> ngoroutines{0};    // goroutines started minus exited here
  timerHeap timers;                       // this P's timers (time.cpp)
  struct mcache* mcache = nullptr;        // this P's allocation cache (malloc.cpp)
  // sysmon's view (preempt.cpp): the schedtick it last saw and since when.
  uint32_t sysmonSchedtick = 0;
  int64_t sysmonSchedwhen = 0;
  int64_t sysmonStatNext = 0;  // proc.cpp: when sysmon may next read its M's thread state
  // Execution tracer (trace.cpp): this P's event buffer, written by
  // whoever owns the P, and whether the trace shows the P running.
  struct TraceBuf* tracebuf = nullptr;
  bool traceRunning = false;
};

// Global scheduler state.
struct schedt {
  std::atomic<uint64_t> goidgen{0};
  mutex lock{LockRank::sched};
  m* midle = nullptr;           // sched.lock
  int32_t nmidle = 0;           // sched.lock
  int32_t nmidlelocked = 0;     // sched.lock: locked Ms waiting for their G
  int64_t mnext = 0;            // sched.lock: next M id, also Ms created
  int32_t maxmcount = 10000;    // sched.lock
  int64_t nmfreed = 0;          // sched.lock
  p* pidle = nullptr;           // sched.lock
  std::atomic<int32_t> npidle{0};
  std::atomic<int32_t> nmspinning{0};
  gRing runq;                   // sched.lock: the global run queue
  std::atomic<int32_t> runqsize{0};  // runq.size, readable without the lock
  mutex gFreeLock{LockRank::gFree};
  gRing gFree;                  // gFreeLock
  mutex sudoglock{LockRank::sudog};
  sudog* sudogcache = nullptr;  // sudoglock
  std::atomic<uint32_t> gcwaiting{0};  // stop-the-world requested
  int32_t stopwait = 0;         // sched.lock
  note stopnote;
  std::atomic<uint32_t> sysmonwait{0};
  note sysmonnote;
};

extern schedt sched;
extern p** allp;                 // GOMAXPROCS entries, changed only during STW
extern std::atomic<int32_t> gomaxprocs;
extern int32_t ncpu;
extern m m0;
extern g g0_m0;

// getg (arch.hpp) returns the running G (g0 on the scheduler).
inline m* getm() { return getg()->mp; }

}  // namespace gort::internal
