// mfinal.cpp: destructors of collected objects, and finalizers (Go's
// runtime/mfinal.go; MEMORY.md §1).
//
// Destructors. New<T> and make_slice record a T whose destructor must run
// (not trivially_collected) in its span's destructor table, one entry per
// slot. When a sweep finds such an object unmarked it does not free it: it
// sets the mark bit again (the slot stays allocated), moves the record to
// the queue and wakes the destructor thread, which runs the destructors in
// no particular order and forgets them; the object is then plain garbage,
// freed by the next cycle. Queued objects are kept alive by marking (not
// scanned: what they point to may be gone, which is why a destructor must
// not follow its Ptrs).
//
// Destructors run on a thread of their own, outside the scheduler, as
// Go's finalizers run on a goroutine of their own: a destructor that blocks
// holds up only the others. It is started with the first record.
//
// Finalizers and cleanups (SetFinalizer here, AddCleanup in mcleanup.cpp)
// are special records (mspecial.cpp); the collector's mark termination
// moves those of dead objects to the finalizer queue, and the finalizer
// goroutine (Go's fing, started by the first SetFinalizer or AddCleanup)
// runs the queue in batches, one function at a time, in the order queued.
// A batch stays in `running` until it is done, so that the collector keeps
// marking (and scanning) the objects whose finalizers are in it, and keeps
// the objects whose destructors wait for their cleanups. Each batch runs on
// a goroutine of its own (runFinalizerBatch), so that no parked goroutine's stack
// keeps a finalized object alive.
//
// Locks: destructorLock is a leaf below the sweeper's locks (a sweep takes
// it with sweepLock or a P held); the collector takes it, with the roots'
// locks, before it suspends any thread, so marking never waits for it. The
// finalizer queue is under specialsLock (mspecial.cpp), taken before it.
#include <pthread.h>

#include <cstdlib>
#include <mutex>
#include <vector>

#include "gort/go.hpp"
#include "gort/internal/type.hpp"
#include "runtime/lock_futex.hpp"
#include "runtime/mgc.hpp"
#include "runtime/mheap.hpp"
#include "runtime/mspecial.hpp"
#include "runtime/os_linux.hpp"
#include "runtime/panic.hpp"
#include "runtime/arch.hpp"
#include "runtime/proc.hpp"
#include "runtime/runtime2.hpp"
#include "runtime/sema.hpp"

namespace gort::internal {

struct DestructorRecord {
  const Type* typ;
  uint64_t n;  // objects of typ from the slot's start (an array's elements)
};

namespace {

struct Queued {
  uintptr_t obj;
  DestructorRecord rec;
};

std::mutex destructorLock;
std::vector<Queued>* queue;  // destructorLock; swept, waiting to run
std::vector<Queued>* running;  // destructorLock; taken by the thread, not yet run
std::atomic<uint32_t> wakeups{0};
std::once_flag threadOnce;

void runBatch(std::vector<Queued>& batch) {
  for (Queued& q : batch) {
    auto* p = reinterpret_cast<unsigned char*>(q.obj);
    for (uint64_t i = 0; i < q.rec.n; i++) q.rec.typ->destroy(p + i * q.rec.typ->size);
  }
}

void* destructorThread(void*) {
  std::vector<Queued> batch;
  for (;;) {
    uint32_t seen = wakeups.load(std::memory_order_acquire);
    {
      std::lock_guard<std::mutex> guard(destructorLock);
      running->swap(*queue);
    }
    if (!running->empty()) {
      // The objects stay in `running`, and so marked, until they are done.
      runBatch(*running);
      std::lock_guard<std::mutex> guard(destructorLock);
      running->clear();
      continue;
    }
    futexsleep(&wakeups, seen, -1);
  }
  return nullptr;
}

void startThread() {
  queue = new std::vector<Queued>();
  running = new std::vector<Queued>();
  newDetachedThread(destructorThread, "the destructor thread");
}

}  // namespace

void addDestructor(void* p, const Type* typ, uint64_t n) {
  std::call_once(threadOnce, startThread);
  mspan* s;
  uintptr_t i;
  if (findObject(reinterpret_cast<uintptr_t>(p), &s, &i) == 0) throw_("addDestructor: not a heap object");
  std::lock_guard<std::mutex> guard(destructorLock);
  DestructorRecord* recs = s->destructors.load(std::memory_order_relaxed);
  if (!recs) {
    recs = static_cast<DestructorRecord*>(calloc(s->nelems, sizeof(DestructorRecord)));
    if (!recs) throw_("runtime: cannot allocate destructor records");
    s->destructors.store(recs, std::memory_order_release);
  }
  recs[i] = DestructorRecord{typ, n};
}

void sweepDestructors(mspan* s) {
  DestructorRecord* recs = s->destructors.load(std::memory_order_acquire);
  if (!recs) return;
  bool queued = false;
  {
    std::lock_guard<std::mutex> guard(destructorLock);
    for (uintptr_t i = 0; i < s->nelems; i++) {
      if (!recs[i].typ || s->marked(i)) continue;
      s->setMarked(i);
      queue->push_back(Queued{s->base() + i * s->elemsize, recs[i]});
      recs[i] = DestructorRecord{};
      queued = true;
    }
  }
  if (queued) wakeDestructors();
}

void freeDestructorRecords(mspan* s) {
  DestructorRecord* recs = s->destructors.exchange(nullptr, std::memory_order_acq_rel);
  free(recs);
}

void gcLockDestructors() { destructorLock.lock(); }
void gcUnlockDestructors() { destructorLock.unlock(); }

void markQueuedDestructors(void (*mark)(uintptr_t obj)) {
  if (!queue) return;
  for (const Queued& q : *queue) mark(q.obj);
  for (const Queued& q : *running) mark(q.obj);
}

bool hasDestructor(mspan* s, uintptr_t i) {
  DestructorRecord* recs = s->destructors.load(std::memory_order_acquire);
  return recs && recs[i].typ;
}

void wakeDestructors() {
  wakeups.fetch_add(1, std::memory_order_release);
  futexwakeup(&wakeups, 1);
}

// ---- finalizers ----

namespace {

struct Pending {
  FinalizerFn* fin;      // or null, and then:
  CleanupFn* cleanup;
  uintptr_t p;     // the finalizer's argument
  uintptr_t hold;  // a cleanup's object, kept for its destructor (0: none)
};

// specialsLock: found by the last mark termination (published once the
// cycle is counted, as Go's are queued by the sweep that follows it),
// queued, and taken by the finalizer goroutine, not yet done.
std::vector<Pending> finFound, finq, finRunning;
std::atomic<uint32_t> finSema{0}, batchDone{0};
std::once_flag fingOnce;

// One queued function, in a frame of its own (scrubStack then clears it).
[[gnu::noinline]] void runOne(size_t i) {
  Pending q = finRunning[i];  // a copy: the vector is the collector's to read meanwhile
  if (q.fin) {
    q.fin->run(reinterpret_cast<void*>(q.p));
    q.fin->release();
  } else {
    q.cleanup->run();
    q.cleanup->release();
  }
}

// Zeroes the stack below this frame, where the batch's frames were (32 KiB
// of it, within the goroutine's stack): word by word, uninstrumented, so
// that a sanitizer's redzones are cleared too.
__attribute__((noinline, no_sanitize_address, no_sanitize_thread)) void scrubStack() {
  volatile uintptr_t here = 0;
  auto top = reinterpret_cast<uintptr_t>(&here) - 256;
  uintptr_t lo = top - (32 << 10);
  g* gp = getg();
  if (gp && lo < gp->stk.lo + 1024) lo = gp->stk.lo + 1024;
  for (uintptr_t p = lo; p < top; p += sizeof(uintptr_t)) *reinterpret_cast<volatile uintptr_t*>(p) = 0;
}

// One batch of finalizers, on a goroutine of its own that then exits: a parked goroutine's
// stack is scanned from its sp up, through whatever dead frames its park's
// own calls did not overwrite, so frames that held finalized objects must
// not sit below a goroutine that parks for good. The stack goes back to the
// pool zeroed where the batch's frames were.
void runFinalizerBatch() {
  for (size_t i = 0; i < finRunning.size(); i++) runOne(i);
  scrubStack();
  {
    RuntimeEntry entry;
    std::lock_guard<std::mutex> guard(specialsLock);
    finRunning.clear();
  }
  RuntimeEntry entry;
  semrelease(&batchDone);
}

void runFinalizers() {
  for (;;) {
    bool any;
    {
      RuntimeEntry entry;
      std::lock_guard<std::mutex> guard(specialsLock);
      finRunning.swap(finq);
      any = !finRunning.empty();
    }
    RuntimeEntry entry;
    if (!any) {
      semacquire(&finSema);
      continue;
    }
    go(runFinalizerBatch);
    semacquire(&batchDone);
  }
}

}  // namespace

void startFinalizerGoroutine() {
  std::call_once(fingOnce, [] {
    ensureStarted();
    go(runFinalizers);
  });
}

void queueFinalizer(FinalizerFn* fn, uintptr_t p) { finFound.push_back(Pending{fn, nullptr, p, 0}); }
void queueCleanup(CleanupFn* fn, uintptr_t hold) { finFound.push_back(Pending{nullptr, fn, 0, hold}); }

void markFinalizerQueue() {
  for (const std::vector<Pending>* v : {&finFound, &finq, &finRunning}) {
    for (const Pending& q : *v) {
      if (q.fin) gcShade(reinterpret_cast<void*>(q.p));
      if (q.hold) gcMarkHeld(q.hold);
    }
  }
}

void wakeFinalizers() {
  RuntimeEntry entry;
  {
    std::lock_guard<std::mutex> guard(specialsLock);
    finq.insert(finq.end(), finFound.begin(), finFound.end());
    finFound.clear();
  }
  semrelease(&finSema);
}

void setFinalizer(void* p, const Type* elem, FinalizerFn* fn) {
  ensureStarted();
  auto addr = reinterpret_cast<uintptr_t>(p);
  uintptr_t base = findObject(addr);
  if (base == 0) {
    if (globalPointer(p)) {
      if (fn) fn->release();
      return;
    }
    throw_("runtime.SetFinalizer: pointer not in allocated block");
  }
  // Go allows an interior pointer only where the tiny allocator may have
  // put the object: pointer-free and under 16 bytes.
  if (addr != base && (elem->mayHoldPointers() || elem->size >= 16)) {
    throw_("runtime.SetFinalizer: pointer not at beginning of allocated block");
  }
  if (fn) startFinalizerGoroutine();
  FinalizerFn* old = nullptr;
  bool already = false;
  {
    RuntimeEntry entry;
    std::lock_guard<std::mutex> guard(specialsLock);
    Special** head = specialsOf(base, fn != nullptr);
    Special** pp = head;
    for (; pp && *pp; pp = &(*pp)->next) {
      if ((*pp)->kind == SpecialKind::finalizer && (*pp)->p == addr) break;
    }
    if (!fn) {
      if (pp && *pp) {
        Special* s = *pp;
        *pp = s->next;
        old = s->fin;
        freeSpecial(s);
        forgetIfEmpty(base);
      }
    } else if (*pp) {
      already = true;
    } else {
      Special* s = newSpecial(SpecialKind::finalizer, addr, *head);
      s->fin = fn;
      *head = s;
      // Set while marking: what the object reaches must survive this cycle
      // too (markSpecialRoots ran before the record existed).
      if (gcMarking.load(std::memory_order_acquire)) gcShade(p);
    }
  }
  if (old) old->release();
  if (already) throw_("runtime.SetFinalizer: finalizer already set");
}

}  // namespace gort::internal
