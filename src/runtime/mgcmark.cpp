// mgcmark.cpp: marking (mirrors runtime/mgcmark.go): the roots, the grey
// objects, the object scan, the write barrier's shading and the mark
// worker.
//
// Snapshot at the beginning. The cycle's first stop-the-world greys every
// root: the registered root words (mbarrier.cpp), every live goroutine's
// stack from its saved stack pointer up and its closure (conservatively:
// every aligned word that findObject resolves to an allocated object), the
// P caches' tiny blocks, the objects queued for their destructors (kept,
// not scanned), and the collector's own stack and registers. The world
// then runs while the mark worker (a thread of its own) and mutator assists
// scan the grey objects. Each stack is scanned once, in that first pause:
// from then on the write barrier (Yuasa's deletion half of Go's hybrid
// barrier: every pointer overwritten or destroyed in a heap word is shaded
// first) and allocate-black keep everything the snapshot could reach
// marked, so no stack is scanned again. Mark termination, with the world
// stopped and the mark gate closed, drains what the barriers greyed last.
//
// The heap is scanned precisely: only words whose pointer bit is set
// (mheap.hpp), still checked by findObject, since a bit outlives the Ptr
// that set it until the slot is allocated again. Noscan spans are never
// scanned. A pointer one past an object's end resolves to the next object
// and keeps it alive: slices never make one (slice.hpp), and a conservative
// word that happens to do so costs one object's retention, not safety.
// Heap words are read while mutators write them: a word read is one a
// mutator stored (aligned stores do not tear), and whatever it replaced
// was shaded by the barrier.
//
// Goroutines that run without a P (in syscall::Blocking, or handed off by
// sysmon in a blocking call) keep running while the world is stopped. Each
// one's M is sent SIGURG with a suspension request; the handler records
// the interrupted context and waits on a futex until the roots are greyed,
// so its stack and registers (in the ucontext on the signal stack) hold
// still while they are scanned. The scanner takes no lock a suspended
// thread may hold: the allocator's and the roots' locks are the
// collector's already, and marking allocates nothing (the grey stack is
// reserved address space). A thread that does not answer in time (signals
// blocked, or a sanitizer deferring the handler) abandons the cycle before
// it starts: nothing is swept, and the marks set so far only keep garbage
// one cycle longer.
//
// Lock order: greyLock is a leaf; the worker takes nothing else.
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include "runtime/arch.hpp"
#include "runtime/lock_futex.hpp"
#include "runtime/mcache.hpp"
#include "runtime/mgc.hpp"
#include "runtime/mheap.hpp"
#include "runtime/os_linux.hpp"
#include "runtime/panic.hpp"
#include "runtime/print.hpp"
#include "runtime/proc.hpp"
#include "runtime/runtime1.hpp"
#include "runtime/runtime2.hpp"

#define GORT_NO_SANITIZE __attribute__((no_sanitize_address, no_sanitize_thread, no_sanitize_undefined))

namespace gort::internal {

namespace {

// The grey objects: a stack in reserved address space, committed as it
// grows, never shrunk (its high-water mark is the largest live set's
// object count, 8 bytes each), shared by the worker, assists and barriers
// under greyLock (batches amortise it).
constexpr uintptr_t kGreyReserve = uintptr_t(1) << 34;
constexpr uintptr_t kBatch = 128;

struct GreyStack {
  std::mutex lock;
  uintptr_t* base = nullptr;
  uintptr_t n = 0;

  void init() {
    if (base) return;
    void* mem = mmap(nullptr, kGreyReserve, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED) throw_("runtime: cannot reserve the collector's mark stack");
    base = static_cast<uintptr_t*>(mem);
  }
  void push(uintptr_t obj) { pushN(&obj, 1); }
  void pushN(const uintptr_t* objs, uintptr_t k) {
    std::lock_guard<std::mutex> guard(lock);
    if (n + k > kGreyReserve / sizeof(uintptr_t)) throw_("runtime: mark stack overflow");
    std::memcpy(base + n, objs, k * sizeof(uintptr_t));
    n += k;
  }
  uintptr_t popBatch(uintptr_t* out) {
    std::lock_guard<std::mutex> guard(lock);
    uintptr_t k = n < kBatch ? n : kBatch;
    n -= k;
    std::memcpy(out, base + n, k * sizeof(uintptr_t));
    return k;
  }
};

// A drainer's own grey objects, so that scanning takes greyLock once per
// batch rather than once per object: what it greys goes here first, and
// half spills to the shared stack when it fills up.
constexpr uintptr_t kLocalGrey = 1024;
struct LocalGrey {
  uintptr_t buf[kLocalGrey];
  uintptr_t n = 0;
};
thread_local LocalGrey* localGrey = nullptr;

struct Marker {
  GreyStack grey;
  std::atomic<uint64_t> markedBytes{0};
  // gccheckmark: marks go to check bits instead, and an object reached
  // here that the cycle did not mark is fatal.
  bool checking = false;
};
Marker marker;

// gccheckmark's own visited bits, one per 8 heap bytes, per arena,
// mapped for the check and unmapped after it.
constexpr uintptr_t kArenaIndexSize = uintptr_t(1) << (kArenaL1Bits + kArenaL2Bits);
constexpr uintptr_t kCheckBitsBytes = kHeapArenaBytes / 8 / 8;

struct CheckMarks {
  uint8_t** arenas = nullptr;  // by arena index; reserved address space

  void begin() {
    void* mem = mmap(nullptr, kArenaIndexSize * sizeof(uint8_t*), PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED) throw_("runtime: cannot map the checkmark table");
    arenas = static_cast<uint8_t**>(mem);
  }
  // Sets obj's visited bit; returns whether it was set already.
  bool testAndSet(uintptr_t obj) {
    uint8_t*& bits = arenas[obj >> kLogHeapArenaBytes];
    if (!bits) {
      void* mem = mmap(nullptr, kCheckBitsBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (mem == MAP_FAILED) throw_("runtime: cannot map checkmark bits");
      bits = static_cast<uint8_t*>(mem);
    }
    uintptr_t w = (obj % kHeapArenaBytes) / 8;
    bool was = bits[w / 8] >> (w % 8) & 1;
    bits[w / 8] |= uint8_t(1u << (w % 8));
    return was;
  }
  void end() {
    for (uintptr_t i = 0; i < kArenaIndexSize; i++) {
      if (arenas[i]) munmap(arenas[i], kCheckBitsBytes);
    }
    munmap(arenas, kArenaIndexSize * sizeof(uint8_t*));
    arenas = nullptr;
  }
};
CheckMarks checkMarks;

constexpr uintptr_t kObletBytes = 128 << 10;

void pushGrey(uintptr_t obj) {
  LocalGrey* local = localGrey;
  if (!local) {
    marker.grey.push(obj);
    return;
  }
  if (local->n == kLocalGrey) {
    marker.grey.pushN(local->buf, kLocalGrey / 2);
    std::memmove(local->buf, local->buf + kLocalGrey / 2, kLocalGrey / 2 * sizeof(uintptr_t));
    local->n = kLocalGrey / 2;
  }
  local->buf[local->n++] = obj;
}

GORT_NO_SANITIZE void greyObject(uintptr_t obj, mspan* s, uintptr_t i) {
  if (marker.checking) {
    if (!s->marked(i)) {
      printstr("runtime: checkmarks found unexpected unmarked object obj=");
      printhex(obj);
      printstr("\n");
      throw_("checkmark found unmarked object");
    }
    if (checkMarks.testAndSet(obj)) return;
  } else {
    if (!s->tryMark(i)) return;
    marker.markedBytes.fetch_add(s->elemsize, std::memory_order_relaxed);
  }
  if (s->spanclass.noscan()) return;
  // A large object goes grey in oblets of 128 KiB, so that several drainers
  // share it and no one scan holds mark termination up for long.
  for (uintptr_t at = obj; at < obj + s->elemsize; at += kObletBytes) pushGrey(at);
}

GORT_NO_SANITIZE inline void markCandidate(uintptr_t v) {
  mspan* s;
  uintptr_t i;
  uintptr_t obj = findObject(v, &s, &i);
  if (obj) greyObject(obj, s, i);
}

// A word of a stack or closure. The check cannot hold such words to the
// cycle's marks: a frame's uninitialised slot may hold a pointer from
// before the snapshot to an object dead since, which the cycle rightly
// left unmarked; so it follows only those the cycle marked, and holds the
// precise words it reaches from them (and from roots) to account.
GORT_NO_SANITIZE inline void markConservative(uintptr_t v) {
  mspan* s;
  uintptr_t i;
  uintptr_t obj = findObject(v, &s, &i);
  if (obj && (!marker.checking || s->marked(i))) greyObject(obj, s, i);
}

std::atomic<uint64_t> stackScanBytes{0};  // the last snapshot's (Go's lastStackScan)

GORT_NO_SANITIZE void scanConservative(uintptr_t lo, uintptr_t hi) {
  lo = alignUp(lo, sizeof(uintptr_t));
  for (uintptr_t p = lo; p + sizeof(uintptr_t) <= hi; p += sizeof(uintptr_t)) {
    markConservative(*reinterpret_cast<const uintptr_t*>(p));
  }
}

// The words of [obj, obj+size) whose pointer bits are set, arena by arena
// (a large object may cross an arena boundary).
GORT_NO_SANITIZE void scanObject(uintptr_t obj, uintptr_t size) {
  uintptr_t end = obj + size;
  for (uintptr_t p = obj; p < end;) {
    heapArena* ha = arenaOf(p);
    uintptr_t arenaEnd = alignDown(p, kHeapArenaBytes) + kHeapArenaBytes;
    uintptr_t stop = end < arenaEnd ? end : arenaEnd;
    for (; p < stop; p += sizeof(uintptr_t)) {
      uintptr_t w = (p % kHeapArenaBytes) / 8;
      uint8_t bits = ha->ptrBits[w / 8].load(std::memory_order_relaxed);
      if (bits == 0 && w % 8 == 0 && p + 8 * sizeof(uintptr_t) <= stop) {
        p += 7 * sizeof(uintptr_t);  // a byte of clear bits: eight words at once
        continue;
      }
      if (bits >> (w % 8) & 1) markCandidate(*reinterpret_cast<const uintptr_t*>(p));
    }
  }
}

// A grey entry: an object's start, or an oblet inside a large object.
void scanGrey(uintptr_t at) {
  mspan* s = spanOfHeap(at);
  uintptr_t base = s->base() + s->objIndex(at) * s->elemsize;
  uintptr_t end = std::min(base + s->elemsize, at + kObletBytes);
  scanObject(at, end - at);
}

// Scans grey objects until none is left or, unless stopped is null,
// *stopped turns true (checked between batches); what it greyed and did not
// scan goes back to the shared stack.
void drain(const std::atomic<bool>* stopped) {
  LocalGrey local;
  localGrey = &local;
  while (!(stopped && stopped->load(std::memory_order_relaxed))) {
    if (local.n == 0) local.n = marker.grey.popBatch(local.buf);
    if (local.n == 0) break;
    // Share: others wait for work while this buffer holds plenty.
    if (local.n > 2 * kBatch && __atomic_load_n(&marker.grey.n, __ATOMIC_RELAXED) == 0) {
      uintptr_t half = local.n / 2;
      marker.grey.pushN(local.buf, half);
      std::memmove(local.buf, local.buf + half, (local.n - half) * sizeof(uintptr_t));
      local.n -= half;
    }
    for (int k = 0; k < int(kBatch) && local.n; k++) {
      uintptr_t obj = local.buf[--local.n];
      scanGrey(obj);
    }
  }
  localGrey = nullptr;
  if (local.n) marker.grey.pushN(local.buf, local.n);
}

// ---- goroutines without a P ----

enum : uint32_t { kNotSuspended = 0, kSuspendRequested = 1, kSuspended = 2 };

constexpr int64_t kSuspendTimeoutNs = 50'000'000;

// Asks mp's thread to stop in its SIGURG handler; false if it did not in time.
bool suspendM(m* mp) {
  mp->gcSuspend.store(kSuspendRequested, std::memory_order_seq_cst);
  int64_t deadline = nanotime() + kSuspendTimeoutNs;
  while (mp->gcSuspend.load(std::memory_order_acquire) != kSuspended) {
    if (nanotime() > deadline) return false;
    syscall(SYS_tgkill, getpid(), mp->tid, SIGURG);
    futexsleep(&mp->gcSuspend, kSuspendRequested, 1'000'000);
  }
  return true;
}

void resumeM(m* mp) {
  uint32_t was = mp->gcSuspend.exchange(kNotSuspended, std::memory_order_acq_rel);
  if (was == kSuspended) futexwakeup(&mp->gcSuspend, 1);
}

bool needsSuspension(g* gp, g* me) {
  uint32_t st = gp->atomicstatus.load(std::memory_order_acquire);
  return gp != me && (st == Gsyscall || st == Grunning) && gp->mp != nullptr;
}

GORT_NO_SANITIZE void scanStack(g* gp, uintptr_t sp) {
  if (gp->stk.hi == 0) return;  // never ran: no stack yet
  if (sp < gp->stk.lo || sp > gp->stk.hi) throw_("runtime: goroutine stack pointer outside its stack");
  scanConservative(sp, gp->stk.hi);
  stackScanBytes.fetch_add(gp->stk.hi - sp, std::memory_order_relaxed);
}

GORT_NO_SANITIZE void scanSuspended(g* gp) {
  m* mp = gp->mp;
  uintptr_t sp = mp->gcSuspendSp;
  if (sp >= gp->stk.lo + kRedZone && sp <= gp->stk.hi) {
    scanConservative(sp - kRedZone, gp->stk.hi);
    stackScanBytes.fetch_add(gp->stk.hi - sp + kRedZone, std::memory_order_relaxed);
  } else {
    scanStack(gp, gp->sched.sp);  // on g0 or a signal stack: the G is switched out
  }
  auto ctx = reinterpret_cast<uintptr_t>(mp->gcSuspendCtx);
  scanConservative(ctx, ctx + sizeof(ucontext_t));
}

// The collector's own goroutine: from this frame up, with the callee-saved
// registers spilled into it first.
[[gnu::noinline]] GORT_NO_SANITIZE void scanSelf(g* me) {
  __builtin_unwind_init();
  uintptr_t sp = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  if (me && me->stk.hi && sp >= me->stk.lo && sp <= me->stk.hi) scanConservative(sp, me->stk.hi);
}

void scanClosure(g* gp) {
  if (!gp->closure) return;
  auto c = reinterpret_cast<uintptr_t>(gp->closure);
  scanConservative(c, c + gp->closureSize);
}

void markRootWord(uintptr_t slot, void*) { markCandidate(*reinterpret_cast<const uintptr_t*>(slot)); }

// An object kept but not scanned (its referents may be gone): in the
// check, its visited bit is set so that a stack word reaching it does not
// scan it either.
void markQueued(uintptr_t obj) {
  mspan* s;
  uintptr_t i;
  if (!findObject(obj, &s, &i)) return;
  if (marker.checking) {
    if (s->marked(i)) checkMarks.testAndSet(obj);
    return;
  }
  if (s->tryMark(i)) marker.markedBytes.fetch_add(s->elemsize, std::memory_order_relaxed);
}

void greyTinyBlock(mcache* c) { markCandidate(c->tiny); }

void greyRoots(g* me) {
  gcForEachRoot(markRootWord, nullptr);
  markQueuedDestructors(markQueued);
  markSpecialRoots();
  forEachMcache(greyTinyBlock);
  scanSelf(me);
  for (g* gp = allgsHead(); gp; gp = gp->alllink) {
    uint32_t st = gp->atomicstatus.load(std::memory_order_acquire);
    if (st == Gdead || st == Gidle) continue;
    scanClosure(gp);
    if (gp == me) continue;
    m* mp = gp->mp;
    if (mp && mp->curg == gp && mp->gcSuspend.load(std::memory_order_relaxed) == kSuspended) {
      scanSuspended(gp);
    } else if (needsSuspension(gp, me)) {
      throw_("runtime: a goroutine running without a P was not suspended for the stack scan");
    } else {
      scanStack(gp, gp->sched.sp);
    }
  }
}

// Runs fn(me) with every goroutine that runs without a P suspended; false
// (fn not run) if one could not be.
bool withGoroutinesStopped(void (*fn)(g* me)) {
  g* me = getg();
  bool ok = true;
  for (m* mp = allmHead(); mp && ok; mp = mp->alllink) {
    g* gp = mp->curg;
    if (gp && needsSuspension(gp, me)) ok = suspendM(mp);
  }
  if (ok) fn(me);
  for (m* mp = allmHead(); mp; mp = mp->alllink) {
    if (mp->gcSuspend.load(std::memory_order_relaxed) != kNotSuspended) resumeM(mp);
  }
  return ok;
}

// ---- the mark worker ----

struct Worker {
  std::atomic<uint32_t> wake{0};   // bumped to start it on a cycle
  std::atomic<bool> stop{false};   // mark termination wants it idle
  std::atomic<bool> busy{false};
  std::once_flag started;
};
Worker worker;

void* workerLoop(void*) {
  for (;;) {
    uint32_t seen = worker.wake.load(std::memory_order_acquire);
    if (gcMarking.load(std::memory_order_acquire)) {
      worker.busy.store(true, std::memory_order_seq_cst);
      if (!worker.stop.load(std::memory_order_seq_cst)) {
        drain(&worker.stop);
        if (!worker.stop.load(std::memory_order_relaxed)) gcMarkWorkDone();
      }
      worker.busy.store(false, std::memory_order_release);
    }
    futexsleep(&worker.wake, seen, -1);
  }
  return nullptr;
}

void startWorker() { newDetachedThread(workerLoop, "the mark worker"); }

}  // namespace

bool gcMarkRoots() {
  assertWorldStopped("gcMarkRoots");
  marker.grey.init();
  marker.markedBytes.store(0, std::memory_order_relaxed);
  stackScanBytes.store(0, std::memory_order_relaxed);
  if (withGoroutinesStopped(greyRoots)) return true;
  marker.grey.n = 0;  // the cycle does not start: forget what it greyed
  return false;
}

void gcDrain(const std::atomic<bool>* stop) { drain(stop); }

uint64_t gcStackScanBytes() { return stackScanBytes.load(std::memory_order_relaxed); }

uint64_t gcMarkedBytes() { return marker.markedBytes.load(std::memory_order_relaxed); }

void gcCheckMarks() {
  assertWorldStopped("gcCheckMarks");
  marker.checking = true;
  checkMarks.begin();
  withGoroutinesStopped([](g* me) {
    greyRoots(me);
    drain(nullptr);
  });
  checkMarks.end();
  marker.checking = false;
}

void gcShade(const void* p) {
  if (p) markCandidate(reinterpret_cast<uintptr_t>(p));
}

void gcScanContents(uintptr_t obj) {
  mspan* s = spanOfHeap(obj);
  if (!s || s->spanclass.noscan()) return;
  for (uintptr_t at = obj; at < obj + s->elemsize; at += kObletBytes) pushGrey(at);
}

void gcMarkHeld(uintptr_t obj) { markQueued(obj); }

void gcMarkNewObject(uintptr_t obj) {
  mspan* s;
  uintptr_t i;
  if (findObject(obj, &s, &i) && s->tryMark(i)) marker.markedBytes.fetch_add(s->elemsize, std::memory_order_relaxed);
}

void gcWakeWorker() {
  std::call_once(worker.started, startWorker);
  worker.stop.store(false, std::memory_order_relaxed);
  worker.wake.fetch_add(1, std::memory_order_release);
  futexwakeup(&worker.wake, 1);
}

const std::atomic<bool>* gcStopping() { return &worker.stop; }

void gcStopWorker() {
  worker.stop.store(true, std::memory_order_seq_cst);
  while (worker.busy.load(std::memory_order_seq_cst)) sched_yield();
}

bool gcSuspendHandler(void* ctx) {
  g* gp = getg();
  if (!gp) return false;
  m* mp = gp->mp;
  if (mp->gcSuspend.load(std::memory_order_acquire) != kSuspendRequested) return false;
  mp->gcSuspendCtx = ctx;
  mp->gcSuspendSp = sigctxtSP(ctx);
  mp->gcSuspend.store(kSuspended, std::memory_order_release);
  futexwakeup(&mp->gcSuspend, 1);
  while (mp->gcSuspend.load(std::memory_order_acquire) == kSuspended) futexsleep(&mp->gcSuspend, kSuspended, -1);
  return true;
}

}  // namespace gort::internal
