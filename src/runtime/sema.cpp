// sema.cpp: semaphores and notify lists for package sync (mirrors
// runtime/sema.go).
//
// Problem. sync.Mutex, RWMutex and WaitGroup need "sleep until woken" for
// their contended paths, with goroutines (not threads) doing the sleeping,
// and a wake-up that may arrive before the sleep must not be lost. A
// per-object wait queue would grow every Mutex; Go instead keeps the queues
// in the runtime, keyed by the address of a uint32 count in the object.
//
// Approach. A semaphore is just that uint32: semrelease increments it,
// semacquire decrements it when positive and parks otherwise, so every sleep
// pairs with one wake-up even when they race (Mullender and Cox, "Semaphores
// in Plan 9"). Waiters live in a fixed table of 251 semaRoots (prime, so the
// table index does not correlate with allocation patterns), chosen by
// address. Each root holds a treap of sudogs with distinct addresses
// (ordered by address, heap-ordered by a random ticket, so O(log n) per
// lookup in expectation), and each treap node heads a FIFO list, linked
// through waitlink, of the other sudogs waiting on the same address
// (waittail points at its end). A lookup is O(log distinct addresses);
// queueing and dequeueing on one address are O(1) (golang.org/issue/17953:
// a flat list per root was quadratic when many goroutines waited on one
// address and others collided with it).
//
// The missed-wake-up argument. semacquire increments root.nwait under the
// root lock and only then re-checks the count before parking; semrelease
// increments the count and only then reads nwait. So either the acquirer
// sees the count, or the releaser sees the waiter (and takes the lock, which
// the waiter holds until it is parked: goparkunlock releases it on g0).
//
// Handoff. semrelease1(handoff) takes the count itself on the waiter's
// behalf (ticket = 1), readies the waiter into this P's runnext and yields,
// so the waiter runs at once and no third goroutine can barge in. That is
// the FIFO guarantee of sync.Mutex's starvation mode.
//
// Notify lists (sync.Cond). Go keeps Cond's waiters apart from the
// semaphores: a waiter takes a ticket (atomic increment, outside any lock,
// before releasing Cond.L), then parks unless its ticket was notified
// meanwhile; Signal wakes the waiter holding the oldest un-notified ticket,
// Broadcast all of them. Tickets make Signal exact even though the waiter
// queues itself only after unlocking L.
//
// Rejected: futex-style waiting on the user's word. It blocks threads, and
// goroutines must park. Per-object queues: they would make every Mutex
// bigger than Go's 8 bytes.
//
// Invariants. A sudog is in at most one root, either as a treap node (elem
// is its address, parent/prev/next are tree links) or inside a node's
// waitlink list (tree links null). nwait counts the sudogs of the root and
// is written only under its lock (read without it by semrelease).
//
// Locks (ranks in lockrank.cpp): a semaRoot lock and a notifyList lock are
// released before goready (which may take sched.lock); under them only a
// sudog may be taken from the global cache.
//
// Profiles (mprof.cpp): a wait in semacquire1 is a block-profile event; a
// waiter of a sync.Mutex/RWMutex (mutexProfile) records when it queued
// (acquiretime) and its releaser reports the delay to the mutex profile
// from its own stack, as Go's semrelease1 does. Unlike Go, the waiters still
// queued behind it keep their own start times, so a long queue charges
// overlapping intervals once each waiter is released.
#include "runtime/sema.hpp"

#include <cstddef>
#include <type_traits>

#include "gort/runtime.hpp"
#include "runtime/lock_futex.hpp"
#include "runtime/mprof.hpp"
#include "runtime/panic.hpp"
#include "runtime/proc.hpp"
#include "runtime/sanitizer.hpp"

namespace gort::internal {

namespace {

struct semaRoot {
  mutex lock{LockRank::semaRoot};
  sudog* treap = nullptr;            // lock
  std::atomic<uint32_t> nwait{0};    // waiters; written under lock, read without

  void queue(std::atomic<uint32_t>* addr, sudog* s, bool lifo);
  sudog* dequeue(std::atomic<uint32_t>* addr);
  void rotateLeft(sudog* x);
  void rotateRight(sudog* y);
  void replace(sudog* old, sudog* with);
};

constexpr size_t kSemTabSize = 251;
struct alignas(64) semTableEntry {
  semaRoot root;
};
semTableEntry semtable[kSemTabSize];

semaRoot* rootFor(const void* addr) {
  return &semtable[(reinterpret_cast<uintptr_t>(addr) >> 3) % kSemTabSize].root;
}

bool cansemacquire(std::atomic<uint32_t>* addr) {
  uint32_t v = addr->load(std::memory_order_acquire);
  while (v != 0) {
    if (addr->compare_exchange_weak(v, v - 1, std::memory_order_acquire)) return true;
  }
  return false;
}

bool less(uintptr_t a, const void* b) { return a < reinterpret_cast<uintptr_t>(b); }

// Puts `with` in old's place in the treap (same address, same priority).
void semaRoot::replace(sudog* old, sudog* with) {
  with->ticket = old->ticket;
  with->parent = old->parent;
  with->prev = old->prev;
  with->next = old->next;
  if (with->prev) with->prev->parent = with;
  if (with->next) with->next->parent = with;
  if (!with->parent) {
    treap = with;
  } else if (with->parent->prev == old) {
    with->parent->prev = with;
  } else {
    with->parent->next = with;
  }
  old->parent = old->prev = old->next = nullptr;
}

void semaRoot::queue(std::atomic<uint32_t>* addr, sudog* s, bool lifo) {
  s->gp = getg();
  s->elem = addr;
  s->next = s->prev = nullptr;
  s->waitlink = s->waittail = nullptr;
  const uintptr_t key = reinterpret_cast<uintptr_t>(addr);

  sudog* last = nullptr;
  sudog** pt = &treap;
  for (sudog* t = *pt; t; t = *pt) {
    if (t->elem == addr) {
      if (lifo) {
        // s becomes the node and the head of the list; t goes first in it.
        sudog* tail = t->waittail ? t->waittail : t;
        replace(t, s);
        s->waitlink = t;
        s->waittail = tail;
        t->waittail = nullptr;
      } else {
        if (t->waittail) {
          t->waittail->waitlink = s;
        } else {
          t->waitlink = s;
        }
        t->waittail = s;
      }
      return;
    }
    last = t;
    pt = less(key, t->elem) ? &t->prev : &t->next;
  }

  // A new leaf, rotated up while its random priority beats its parent's
  // (heap order: a node's ticket <= its children's). The low bit is set
  // because a zero ticket means "no handoff" to semacquire.
  s->ticket = fastrand() | 1;
  s->parent = last;
  *pt = s;
  while (s->parent && s->parent->ticket > s->ticket) {
    if (s->parent->prev == s) {
      rotateRight(s->parent);
    } else {
      if (s->parent->next != s) throw_("semaRoot queue");
      rotateLeft(s->parent);
    }
  }
}

// Removes and returns the first sudog waiting on addr, or null.
sudog* semaRoot::dequeue(std::atomic<uint32_t>* addr) {
  const uintptr_t key = reinterpret_cast<uintptr_t>(addr);
  sudog* s = treap;
  while (s && s->elem != addr) s = less(key, s->elem) ? s->prev : s->next;
  if (!s) return nullptr;

  if (sudog* t = s->waitlink) {
    // The next waiter on addr takes s's place in the tree.
    replace(s, t);
    t->waittail = t->waitlink ? s->waittail : nullptr;
    s->waitlink = s->waittail = nullptr;
  } else {
    // Rotate s down to a leaf, respecting priorities, and cut it off.
    while (s->next || s->prev) {
      if (!s->next || (s->prev && s->prev->ticket < s->next->ticket)) {
        rotateRight(s);
      } else {
        rotateLeft(s);
      }
    }
    if (!s->parent) {
      treap = nullptr;
    } else if (s->parent->prev == s) {
      s->parent->prev = nullptr;
    } else {
      s->parent->next = nullptr;
    }
  }
  s->parent = nullptr;
  s->elem = nullptr;
  s->ticket = 0;
  return s;
}

// (x a (y b c)) becomes (y (x a b) c).
void semaRoot::rotateLeft(sudog* x) {
  sudog* p = x->parent;
  sudog* y = x->next;
  sudog* b = y->prev;
  y->prev = x;
  x->parent = y;
  x->next = b;
  if (b) b->parent = x;
  y->parent = p;
  if (!p) {
    treap = y;
  } else if (p->prev == x) {
    p->prev = y;
  } else {
    if (p->next != x) throw_("semaRoot rotateLeft");
    p->next = y;
  }
}

// (y (x a b) c) becomes (x a (y b c)).
void semaRoot::rotateRight(sudog* y) {
  sudog* p = y->parent;
  sudog* x = y->prev;
  sudog* b = x->next;
  x->next = y;
  y->parent = x;
  y->prev = b;
  if (b) b->parent = y;
  x->parent = p;
  if (!p) {
    treap = x;
  } else if (p->prev == y) {
    p->prev = x;
  } else {
    if (p->next != y) throw_("semaRoot rotateRight");
    p->next = x;
  }
}

g* requireG() {
  g* gp = getg();
  if (!gp || gp == gp->mp->g0) throw_("semacquire not on the G stack");
  return gp;
}

}  // namespace

void semacquire1(std::atomic<uint32_t>* addr, bool lifo, waitReason reason, bool mutexProfile) {
  if (!getg()) {  // a thread outside the scheduler waits on a borrowed goroutine
    waitOnGoroutine([=] { semacquire1(addr, lifo, reason, mutexProfile); });
    return;
  }
  RuntimeEntry entry;
  requireG();
  if (cansemacquire(addr)) return;

  sudog* s = acquireSudog();
  semaRoot* root = rootFor(addr);
  s->ticket = 0;
  // Profiles: the block profile times this wait; the mutex profile charges
  // it to whoever releases us (semrelease1).
  const int64_t t0 = blockProfileStart();
  s->acquiretime = mutexProfile ? mutexProfileStart() : 0;
  for (;;) {
    lock(&root->lock);
    // Counted as a waiter before the re-check: a semrelease after the
    // re-check sees nwait and comes looking for us.
    root->nwait.fetch_add(1, std::memory_order_seq_cst);
    if (cansemacquire(addr)) {
      root->nwait.fetch_sub(1, std::memory_order_relaxed);
      unlock(&root->lock);
      break;
    }
    root->queue(addr, s, lifo);
    goparkunlock(&root->lock, reason);
    if (s->ticket != 0 || cansemacquire(addr)) break;
  }
  s->gp = nullptr;
  s->acquiretime = 0;
  releaseSudog(s);
  if (t0 != 0) blockevent(t0, 0);
}

void semrelease1(std::atomic<uint32_t>* addr, bool handoff) {
  RuntimeEntry entry;
  semaRoot* root = rootFor(addr);
  addr->fetch_add(1, std::memory_order_seq_cst);
  // After the increment (see the missed-wake-up argument).
  if (root->nwait.load(std::memory_order_seq_cst) == 0) return;

  lock(&root->lock);
  if (root->nwait.load(std::memory_order_relaxed) == 0) {
    // Another goroutine consumed the count; nobody needs waking.
    unlock(&root->lock);
    return;
  }
  sudog* s = root->dequeue(addr);
  if (s) root->nwait.fetch_sub(1, std::memory_order_relaxed);
  unlock(&root->lock);
  if (!s) return;

  if (s->ticket != 0) throw_("corrupted semaphore ticket");
  if (s->acquiretime != 0) mutexevent(s->acquiretime, 0);
  // Decided before goready: once readied, the waiter may run elsewhere and
  // free s.
  const bool handed = handoff && cansemacquire(addr);
  if (handed) s->ticket = 1;
  goready(s->gp);
  if (handed && getg()->mp->locks == 0) {
    // Direct handoff: the waiter sits in our runnext; yield so it runs now,
    // inheriting our time slice (so a hot, starving mutex cannot hog the
    // P). Only in handoff mode: otherwise another goroutine could take the
    // count while we yield, and the switch would be wasted.
    runtime::Gosched();
  }
}

// ---- notify lists --------------------------------------------------------------------

namespace {

using notifyListLock = decltype(notifyList::lock);
static_assert(std::is_standard_layout_v<mutex> && sizeof(mutex) == sizeof(notifyListLock) &&
                  alignof(mutex) == alignof(notifyListLock) && offsetof(mutex, rank) == offsetof(notifyListLock, rank),
              "notifyList::lock must be laid out as a runtime mutex");
static_assert(notifyListLock{}.rank == uint8_t(LockRank::notifyList), "notifyList::lock's rank");
mutex* lockOf(notifyList* l) { return reinterpret_cast<mutex*>(&l->lock); }

// a < b for counters that wrap, whose true difference is below 2^31.
bool ticketLess(uint32_t a, uint32_t b) { return int32_t(a - b) < 0; }

}  // namespace

uint32_t notifyListAdd(notifyList* l) {
  // Concurrent callers are fine (Cond.Wait with L an RWMutex's read lock).
  return l->wait.fetch_add(1, std::memory_order_seq_cst);
}

void notifyListWait(notifyList* l, uint32_t t) {
  if (!getg()) {
    waitOnGoroutine([=] { notifyListWait(l, t); });
    return;
  }
  RuntimeEntry entry;
  g* gp = requireG();
  lock(lockOf(l));
  if (ticketLess(t, l->notify.load(std::memory_order_relaxed))) {
    // Notified between Add and now.
    unlock(lockOf(l));
    return;
  }
  sudog* s = acquireSudog();
  s->gp = gp;
  s->ticket = t;
  s->next = nullptr;
  if (l->tail) {
    l->tail->next = s;
  } else {
    l->head = s;
  }
  l->tail = s;
  goparkunlock(lockOf(l), waitReason::syncCondWait);
  s->gp = nullptr;
  s->ticket = 0;
  releaseSudog(s);
}

void notifyListNotifyAll(notifyList* l) {
  RuntimeEntry entry;
  // No new waiters since the last notification: nothing to do, no lock.
  if (l->wait.load(std::memory_order_seq_cst) == l->notify.load(std::memory_order_seq_cst)) return;

  lock(lockOf(l));
  sudog* s = l->head;
  l->head = l->tail = nullptr;
  // Every ticket taken so far is notified: waiters already queued are in s,
  // the others will see it and not park.
  l->notify.store(l->wait.load(std::memory_order_seq_cst), std::memory_order_seq_cst);
  unlock(lockOf(l));

  while (s) {
    sudog* next = s->next;
    s->next = nullptr;
    goready(s->gp);
    s = next;
  }
}

void notifyListNotifyOne(notifyList* l) {
  RuntimeEntry entry;
  if (l->wait.load(std::memory_order_seq_cst) == l->notify.load(std::memory_order_seq_cst)) return;

  lock(lockOf(l));
  uint32_t t = l->notify.load(std::memory_order_relaxed);
  if (t == l->wait.load(std::memory_order_seq_cst)) {
    unlock(lockOf(l));
    return;
  }
  l->notify.store(t + 1, std::memory_order_seq_cst);

  // Find ticket t. Waiters queue after taking their tickets, so the list is
  // nearly in ticket order and t is near the front; if t has not queued yet
  // it will see the new notify value and not park.
  for (sudog *p = nullptr, *s = l->head; s; p = s, s = s->next) {
    if (s->ticket != t) continue;
    sudog* n = s->next;
    if (p) {
      p->next = n;
    } else {
      l->head = n;
    }
    if (!n) l->tail = p;
    unlock(lockOf(l));
    s->next = nullptr;
    goready(s->gp);
    return;
  }
  unlock(lockOf(l));
}

// ---- spinning for sync.Mutex ------------------------------------------------------

namespace {
constexpr int kActiveSpin = 4;        // spins before queueing (Go's active_spin)
constexpr int kActiveSpinCount = 30;  // pause instructions per spin

bool runqEmpty(const p* pp) {
  return pp->runqhead.load(std::memory_order_acquire) == pp->runqtail.load(std::memory_order_acquire) &&
         pp->runnext.load(std::memory_order_acquire) == nullptr;
}
}  // namespace

bool syncCanSpin(int i) {
  if (i >= kActiveSpin || ncpu <= 1) return false;
  const int32_t procs = gomaxprocs.load(std::memory_order_relaxed);
  const int32_t idle = sched.npidle.load(std::memory_order_relaxed) + sched.nmspinning.load(std::memory_order_relaxed);
  if (procs <= idle + 1) return false;
  g* gp = getg();  // null on a thread outside the scheduler: it has no P to keep busy
  p* pp = gp ? gp->mp->pp : nullptr;
  return pp && runqEmpty(pp);
}

void syncDoSpin() {
  for (int i = 0; i < kActiveSpinCount; i++) cpuRelax();
}

}  // namespace gort::internal
