// chan.cpp: channels (mirrors runtime/chan.go).
//
// Design. An hchan is a lock, a ring buffer of dataqsiz elements, and two
// FIFO queues of parked goroutines (sudogs): receivers waiting for a value
// and senders waiting for room. The invariants, as in Go:
//   - at most one of recvq and sendq is non-empty (ignoring select sudogs
//     that lost their race and are about to unlink themselves);
//   - for a buffered channel, qcount > 0 implies recvq is empty and
//     qcount < dataqsiz implies sendq is empty.
// An operation that finds a partner parked hands the element over directly:
// a sender moves its value into the parked receiver's storage (sudog.elem,
// on the receiver's stack) and readies it, so the receiver wakes with the
// value in place and takes no lock again. A receiver on a full buffer takes
// the head and moves the parked sender's value into the freed tail slot,
// keeping FIFO order. Woken goroutines go to the waker's runnext, so a
// communicating pair runs back to back on one P; a waker that then parks
// itself switches straight to the partner (goparkHandoff, proc.cpp).
//
// The typed templates (gort/chan.hpp) are thin shells: every operation is
// one call into chansend1/chanrecv1/... with the element's address; the
// The element Type's functions move, destroy and zero elements (memcpy/memset for
// trivial types, nothing at all for zero-size ones).
//
// Non-blocking operations first look without the lock (full()/empty()); a
// negative answer there is one that some interleaving of the racing
// operations would also have given, so it can be returned as is (chan.go's
// argument, including the order "empty, then closed, then empty again" for
// a receive).
//
// Memory model (annotated for TSan; the runtime itself is not instrumented):
//   - buffered: each slot is a sync point, released and acquired by both the
//     sender that fills it and the receiver that drains it: the k-th send
//     happens before the k-th receive completes, and the k-th receive before
//     the (k+C)-th send completes;
//   - direct hand-off: the parked side releases its sudog before parking and
//     the completing side acquires it, and goready gives the completing side
//     -> woken side edge: both directions of an unbuffered exchange;
//   - close releases the channel; a receive that returns because of it
//     acquires it (woken ones get the edge from goready).
//
// Panics ("send on closed channel", ...) are thrown after every lock is
// released and every sudog returned.
//
// Blocking send/receive keep their sudog in their own frame (stacks never
// move); select takes its sudogs from the per-P cache. Neither allocates.
//
// hchan.lock is the runtime's futex mutex in its plain-release form
// (lock_futex.hpp): while GOMAXPROCS is 1 the owner releases it with a plain
// store, one locked instruction per operation instead of two. A
// test-and-test-and-set spin lock with a plain-store unlock was tried too:
// under real contention on separate cores (chanbuf at GOMAXPROCS=2 and 4 on
// a 16-core machine) it was twice as slow as the mutex, whose sleeping
// waiters let the holder's M run its communicating goroutines alone.
//
// Locks (ranks in lockrank.cpp): goready runs after the channel lock is
// released, so the scheduler's locks are never taken under it; a sudog may
// come from the global cache (sched.sudoglock) and a direct hand-off may
// start its partner (stackLock) with the lock held.
#include "runtime/chan.hpp"

#include <cstring>
#include <new>

#include "gort/chan.hpp"
#include "runtime/mprof.hpp"
#include "runtime/panic.hpp"
#include "runtime/proc.hpp"
#include "runtime/sanitizer.hpp"

namespace gort::internal {

// ---- wait queues ---------------------------------------------------------------------

void waitq::enqueue(sudog* sgp) {
  sgp->next = nullptr;
  sudog* x = last;
  if (!x) {
    sgp->prev = nullptr;
    first.store(sgp, std::memory_order_relaxed);
    last = sgp;
    return;
  }
  sgp->prev = x;
  x->next = sgp;
  last = sgp;
}

sudog* waitq::dequeueFirst() {
  for (;;) {
    sudog* sgp = first.load(std::memory_order_relaxed);
    if (!sgp) return nullptr;
    sudog* y = sgp->next;
    if (!y) {
      first.store(nullptr, std::memory_order_relaxed);
      last = nullptr;
    } else {
      y->prev = nullptr;
      first.store(y, std::memory_order_relaxed);
      sgp->next = nullptr;
    }
    // A select parks on every channel at once; between another case winning
    // and the select taking the locks to unlink the rest, its sudogs are
    // still queued. selectDone says who won.
    if (sgp->isSelect) {
      uint32_t expect = 0;
      if (!sgp->gp->selectDone.compare_exchange_strong(expect, 1, std::memory_order_acq_rel)) continue;
    }
    return sgp;
  }
}

void waitq::dequeueSudoG(sudog* sgp) {
  sudog* x = sgp->prev;
  sudog* y = sgp->next;
  if (x) {
    x->next = y;
    if (y) {
      y->prev = x;
    } else {
      last = x;
    }
    sgp->next = sgp->prev = nullptr;
    return;
  }
  if (y) {
    y->prev = nullptr;
    first.store(y, std::memory_order_relaxed);
    sgp->next = nullptr;
    return;
  }
  // x == y == null: sgp is the only element, or already dequeued.
  if (first.load(std::memory_order_relaxed) == sgp) {
    first.store(nullptr, std::memory_order_relaxed);
    last = nullptr;
  }
}

// ---- elements ------------------------------------------------------------------------

void elemZero(const hchan* c, void* dst) {
  if (c->elemsize == 0) return;
  if (c->elemtype->zero) {
    c->elemtype->zero(dst);
  } else {
    std::memset(dst, 0, c->elemsize);
  }
}

namespace {

size_t chanAlign(const Type* t) { return t->align > alignof(hchan) ? t->align : alignof(hchan); }
size_t bufOffset(const Type* t) { return (sizeof(hchan) + t->align - 1) / t->align * t->align; }

void unlockChanf(void* c) { chanUnlock(static_cast<hchan*>(c)); }

bool chanparkcommit(g*, void* l) {
  unlockParked(static_cast<plainReleaseMutex*>(l));
  return true;
}

// Parks the current G on c's queue q (c locked; unlocked on return) until a
// partner completes the operation or close wakes it; returns sudog.success.
// The sudog lives in this frame: gort stacks never move, the frame outlives
// the wait, and no partner touches a sudog after readying its goroutine, so
// the blocking path needs neither the sudog cache nor its bookkeeping.
bool chanBlock(hchan* c, waitq* q, void* ep, waitReason reason) {
  g* gp = getg();
  sudog mysg;
  mysg.elem = ep;
  mysg.gp = gp;
  mysg.c = c;
  gp->waiting = &mysg;
  gp->param = nullptr;
  q->enqueue(&mysg);
  san::release(&mysg);  // our writes so far, for whoever completes the exchange
  parkHolding(1, chanparkcommit, &c->lock, reason);
  if (gp->param != &mysg) throw_("chan: G woken by a stranger");
  gp->waiting = nullptr;
  gp->param = nullptr;
  return mysg.success;
}

[[noreturn]] void blockNil(waitReason reason) {
  gopark(nullptr, nullptr, reason);
  throw_("unreachable");
}

// chansend (chan.go): block == false is select's non-blocking send.
// Always inlined (as chanrecv) into its blocking and non-blocking entry
// points: with the RuntimeEntry it grew past the compiler's inlining limit,
// and the extra call showed in the buffered-channel benchmark.
[[gnu::always_inline]] inline bool chansend(hchan* c, void* ep, bool block) {
  RuntimeEntry entry;
  if (!c) {
    if (!block) return false;
    blockNil(waitReason::chanSendNilChan);
  }
  // Fast path: a non-blocking send on an open, full channel fails without
  // the lock. closed is read second: had the channel been closed before we
  // saw it full, reporting "not ready" is still a valid linearisation.
  if (!block && c->closed.load(std::memory_order_relaxed) == 0 && c->full()) return false;

  chanLock(c);
  if (c->closed.load(std::memory_order_relaxed)) {
    chanUnlock(c);
    panicSendOnClosed();
  }
  if (sudog* sg = c->recvq.dequeue()) {
    chanSendToWaiter(c, sg, ep, unlockChanf, c);
    return true;
  }
  if (c->qcount.load(std::memory_order_relaxed) < c->dataqsiz) {
    chanBufPut(c, ep);
    chanUnlock(c);
    return true;
  }
  if (!block) {
    chanUnlock(c);
    return false;
  }
  if (!chanBlock(c, &c->sendq, ep, waitReason::chanSend)) {
    // Woken by close.
    if (!c->closed.load(std::memory_order_relaxed)) throw_("chansend: spurious wakeup");
    panicSendOnClosed();
  }
  return true;
}

// chanrecv (chan.go): returns whether a receive happened (always, if block)
// and in *ok whether it carried a value. On return ep holds an element.
[[gnu::always_inline]] inline bool chanrecv(hchan* c, void* ep, bool block, bool* ok) {
  RuntimeEntry entry;
  if (!c) {
    if (!block) return false;
    blockNil(waitReason::chanReceiveNilChan);
  }
  // Fast path: a non-blocking receive on an empty channel. Seeing it empty,
  // then not closed, means it was empty while open (it cannot reopen);
  // seeing it closed requires a second empty check, since a send may have
  // landed between the two loads and must not be lost. The first two loads
  // must stay in that order (acquire: on arm64 a later load may otherwise
  // be satisfied first): a channel that was open and not empty, then
  // closed, then drained would read "open and empty", a moment it never had.
  if (!block && c->empty(std::memory_order_acquire)) {
    if (c->closed.load(std::memory_order_acquire) == 0) return false;
    if (c->empty()) {
      san::acquire(c);
      elemZero(c, ep);
      *ok = false;
      return true;
    }
  }

  chanLock(c);
  if (c->closed.load(std::memory_order_relaxed) && c->qcount.load(std::memory_order_relaxed) == 0) {
    chanUnlock(c);
    san::acquire(c);
    elemZero(c, ep);
    *ok = false;
    return true;
  }
  if (sudog* sg = c->sendq.dequeue()) {
    chanRecvFromWaiter(c, sg, ep, unlockChanf, c);
    *ok = true;
    return true;
  }
  if (c->qcount.load(std::memory_order_relaxed) > 0) {
    chanBufTake(c, ep);
    chanUnlock(c);
    *ok = true;
    return true;
  }
  if (!block) {
    chanUnlock(c);
    return false;
  }
  *ok = chanBlock(c, &c->recvq, ep, waitReason::chanReceive);
  if (!*ok) elemZero(c, ep);  // woken by close
  return true;
}

}  // namespace

// ---- shared with select ----------------------------------------------------------------

// send (chan.go): sg is a parked receiver, already dequeued; c is locked and
// unlockf releases it.
void chanSendToWaiter(hchan* c, sudog* sg, void* ep, void (*unlockf)(void*), void* arg) {
  san::acquire(sg);
  if (sg->elem) {
    elemMove(c, sg->elem, ep);
    sg->elem = nullptr;
  }
  g* gp = sg->gp;
  unlockf(arg);
  gp->param = sg;
  sg->success = true;
  goready(gp);
}

// recv (chan.go): sg is a parked sender, already dequeued.
void chanRecvFromWaiter(hchan* c, sudog* sg, void* ep, void (*unlockf)(void*), void* arg) {
  san::acquire(sg);
  if (c->dataqsiz == 0) {
    elemMove(c, ep, sg->elem);
  } else {
    // The buffer is full (a sender waits): take its head, and put the
    // sender's value in the slot that frees, which is also the tail.
    unsigned char* qp = c->slot(c->recvx);
    san::acquire(qp);
    elemMove(c, ep, qp);
    elemDestroy(c, qp);
    elemMove(c, qp, sg->elem);
    san::release(qp);
    if (++c->recvx == c->dataqsiz) c->recvx = 0;
    c->sendx = c->recvx;
  }
  sg->elem = nullptr;
  g* gp = sg->gp;
  unlockf(arg);
  gp->param = sg;
  sg->success = true;
  goready(gp);
}

// A Go run-time panic with a plain message (runtime.plainError).
void chanPanic(const char* msg) { throw runtime::PlainError(msg); }

void panicSendOnClosed() { chanPanic("send on closed channel"); }

void parkHolding(int nlocks, bool (*unlockf)(g*, void*), void* arg, waitReason reason) {
  getm()->locks -= nlocks;
  int64_t t0 = blockProfileStart();
  goparkHandoff(unlockf, arg, reason);
  if (t0 != 0) blockevent(t0, 0);
}

// ---- entry points --------------------------------------------------------------------

hchan* makechan(const Type* t, int64_t size) {
  // Go bounds the buffer by the maximum allocation; we by the 32-bit
  // indices and 1 TiB of buffer.
  if (size < 0 || size > int64_t(UINT32_MAX) || uint64_t(size) * t->size > (uint64_t(1) << 40)) {
    chanPanic("makechan: size out of range");
  }
  size_t bytes = bufOffset(t) + size_t(size) * t->size;
  void* mem = ::operator new(bytes, std::align_val_t(chanAlign(t)));
  hchan* c = ::new (mem) hchan();
  c->elemtype = t;
  c->elemsize = t->size;
  c->dataqsiz = uint32_t(size);
  c->buf = static_cast<unsigned char*>(mem) + bufOffset(t);
  return c;
}

void freechan(hchan* c) {
  // Last reference: nobody can be parked on c (a parked G holds one).
  // Every earlier release of a reference happens before the free; TSan sees
  // the decrements made in user code as atomics on refs, but this free
  // runs in uninstrumented code, so acquire them explicitly.
  san::acquire(&reinterpret_cast<chanHeader*>(c)->refs);
  for (uint32_t n = c->qcount.load(std::memory_order_relaxed), i = c->recvx; n > 0; n--) {
    elemDestroy(c, c->slot(i));
    if (++i == c->dataqsiz) i = 0;
  }
  const Type* t = c->elemtype;
  c->~hchan();
  ::operator delete(static_cast<void*>(c), std::align_val_t(chanAlign(t)));
}

bool chansendnb(hchan* c, void* elem) { return chansend(c, elem, false); }
bool chanrecvnb(hchan* c, void* elem, bool* ok) { return chanrecv(c, elem, false, ok); }

namespace {
// From a thread outside the scheduler, an operation that cannot complete
// at once waits on a borrowed goroutine (proc.hpp, waitOnGoroutine). Out
// of line, so the goroutine path stays as small as before.
[[gnu::cold, gnu::noinline]] void chansendOffG(hchan* c, void* elem) {
  if (!chansendnb(c, elem)) waitOnGoroutine([c, elem] { chansend1(c, elem); });
}
[[gnu::cold, gnu::noinline]] bool chanrecvOffG(hchan* c, void* elem) {
  bool ok = false;
  if (!chanrecvnb(c, elem, &ok)) waitOnGoroutine([c, elem, &ok] { ok = chanrecv1(c, elem); });
  return ok;
}
}  // namespace

void chansend1(hchan* c, void* elem) {
  if (__builtin_expect(!getg(), 0)) return chansendOffG(c, elem);
  chansend(c, elem, true);
}

bool chanrecv1(hchan* c, void* elem) {
  if (__builtin_expect(!getg(), 0)) return chanrecvOffG(c, elem);
  bool ok = false;
  chanrecv(c, elem, true, &ok);
  return ok;
}

void closechan(hchan* c) {
  RuntimeEntry entry;
  if (!c) chanPanic("close of nil channel");
  chanLock(c);
  if (c->closed.load(std::memory_order_relaxed)) {
    chanUnlock(c);
    chanPanic("close of closed channel");
  }
  san::release(c);
  c->closed.store(1, std::memory_order_release);

  // Every waiter wakes with success == false: receivers make their own zero
  // value, senders panic. Collect them first and ready them unlocked.
  g* glist = nullptr;
  for (waitq* q : {&c->recvq, &c->sendq}) {
    while (sudog* sg = q->dequeue()) {
      sg->elem = nullptr;
      sg->success = false;
      g* gp = sg->gp;
      gp->param = sg;
      gp->schedlink = glist;
      glist = gp;
    }
  }
  chanUnlock(c);
  while (g* gp = glist) {
    glist = gp->schedlink;
    gp->schedlink = nullptr;
    goready(gp);
  }
}

int chanlen(hchan* c) { return c ? int(c->qcount.load(std::memory_order_relaxed)) : 0; }
int chancap(hchan* c) { return c ? int(c->dataqsiz) : 0; }

}  // namespace gort::internal
