// mfinal.cpp: destructors of collected objects (the role runtime/mfinal.go
// plays for finalizers; MEMORY.md §1).
//
// New<T> and make_slice record a T whose destructor must run (not
// trivially_collected) in its span's destructor table, one entry per slot.
// When a sweep finds such an object unmarked it does not free it: it sets
// the mark bit again (the slot stays allocated), moves the record to the
// queue and wakes the destructor thread, which runs the destructors in no
// particular order and forgets them; the object is then plain garbage,
// freed by the next cycle. Queued objects are kept alive by marking (not
// scanned: what they point to may be gone, which is why a destructor must
// not follow its Ptrs).
//
// Destructors run on a thread of their own, outside the scheduler, as
// Go's finalizers run on a goroutine of their own: a destructor that blocks
// holds up only the others. It is started with the first record.
//
// Locks: destructorLock is a leaf below the sweeper's locks (a sweep takes
// it with sweepLock or a P held); the collector takes it, with the roots'
// locks, before it suspends any thread, so marking never waits for it.
#include <pthread.h>

#include <cstdlib>
#include <mutex>
#include <vector>

#include "gort/internal/type.hpp"
#include "runtime/lock_futex.hpp"
#include "runtime/mgc.hpp"
#include "runtime/mheap.hpp"
#include "runtime/os_linux.hpp"
#include "runtime/panic.hpp"
#include "runtime/proc.hpp"

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

void wakeDestructors() {
  wakeups.fetch_add(1, std::memory_order_release);
  futexwakeup(&wakeups, 1);
}

}  // namespace gort::internal
