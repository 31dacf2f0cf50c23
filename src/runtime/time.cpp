// time.cpp: per-P timer heaps (mirrors runtime/time.go; design in time.hpp).
//
// Why 4-ary: a timer heap is mostly pushed (every Sleep) and popped from the
// top; a 4-ary heap is half as deep as a binary one, so a push touches half
// the cache lines, and the four children of a node sit in one 64-byte line
// because entries are 16 bytes (timer pointer plus cached `when`).
//
// Rejected alternatives: Go 1.23's lazy deletion (stopped timers stay in the
// heap as zombies until the owner cleans them) needs the GC to keep stopped
// timers alive; in C++ a stopped timer may be freed at once, so deletion is
// eager and a heap never points at a timer that is not armed in it. One
// global heap (Go before 1.14) serialises every Sleep on one lock.
#include "runtime/time.hpp"

#include <sched.h>

#include <climits>

#include "runtime/export_test.hpp"
#include "runtime/netpoll.hpp"
#include "runtime/os_linux.hpp"
#include "runtime/proc.hpp"
#include "runtime/runtime2.hpp"

namespace gort::internal {

namespace {

constexpr size_t kArity = 4;

void publishMin(timerHeap* ts) {
  ts->minWhen.store(ts->heap.empty() ? 0 : ts->heap[0].when, std::memory_order_release);
}

void place(timerHeap* ts, size_t i, timerWhen tw) {
  ts->heap[i] = tw;
  tw.t->idx = int32_t(i);
}

void siftUp(timerHeap* ts, size_t i) {
  timerWhen tw = ts->heap[i];
  while (i > 0) {
    size_t parent = (i - 1) / kArity;
    if (ts->heap[parent].when <= tw.when) break;
    place(ts, i, ts->heap[parent]);
    i = parent;
  }
  place(ts, i, tw);
}

void siftDown(timerHeap* ts, size_t i) {
  size_t n = ts->heap.size();
  timerWhen tw = ts->heap[i];
  for (;;) {
    size_t c = i * kArity + 1;
    if (c >= n) break;
    size_t best = c;
    size_t end = c + kArity < n ? c + kArity : n;
    for (size_t k = c + 1; k < end; k++) {
      if (ts->heap[k].when < ts->heap[best].when) best = k;
    }
    if (ts->heap[best].when >= tw.when) break;
    place(ts, i, ts->heap[best]);
    i = best;
  }
  place(ts, i, tw);
}

void heapAdd(timerHeap* ts, timer* t) {
  assertLockHeld(&ts->mu, "heapAdd");
  assertLockHeld(&t->mu, "heapAdd");
  t->ts = ts;
  ts->heap.push_back(timerWhen{t, t->when});
  siftUp(ts, ts->heap.size() - 1);
  publishMin(ts);
}

// t is in ts.
void heapDelete(timerHeap* ts, timer* t) {
  assertLockHeld(&ts->mu, "heapDelete");
  assertLockHeld(&t->mu, "heapDelete");
  size_t i = size_t(t->idx);
  size_t last = ts->heap.size() - 1;
  t->ts = nullptr;
  t->idx = -1;
  if (i != last) {
    place(ts, i, ts->heap[last]);
    ts->heap.pop_back();
    if (i > 0 && ts->heap[i].when < ts->heap[(i - 1) / kArity].when) {
      siftUp(ts, i);
    } else {
      siftDown(ts, i);
    }
  } else {
    ts->heap.pop_back();
  }
  publishMin(ts);
}

// The heap new timers go to: the current P's. Off-goroutine callers (a
// thread outside the scheduler using package time) use P 0's, which is
// never destroyed.
timerHeap* currentHeap() {
  g* gp = getg();
  if (gp && gp->mp->pp) return &gp->mp->pp->timers;
  return &allp[0]->timers;
}

// t.mu held. Removes t from its heap; returns whether it was armed.
bool unheap(timer* t) {
  timerHeap* ts = t->ts;
  if (!ts) return false;
  lock(&ts->mu);
  heapDelete(ts, t);
  unlock(&ts->mu);
  return true;
}

// t.mu held, t not armed: no run of an earlier arming may still be in
// flight once this returns, and no value it sent is left behind.
void quiesce(timer* t) {
  if (!t->isSync) return;
  lock(&t->runLock);
  unlock(&t->runLock);
  if (t->drain && t->arg) t->drain(t->arg);  // no arg: never armed
}

// ts.mu and t.mu held, t == ts->heap[0], due at now. Takes t off the heap
// (re-arming a periodic timer), then runs its function with ts.mu and t.mu
// released; returns with ts.mu held again and t.mu released.
void runOne(timerHeap* ts, timer* t, int64_t now) {
  TimerFunc f = t->f;
  void* arg = t->arg;
  uintptr_t seq = t->seq;
  int64_t delay = now - t->when;
  void (*unref)(void*) = nullptr;  // the armed reference, if one-shot
  heapDelete(ts, t);
  if (t->period > 0) {
    // Skip the periods already missed, as Go does.
    t->when += t->period * (1 + delay / t->period);
    if (t->when <= 0) t->when = INT64_MAX;
    heapAdd(ts, t);
  } else {
    t->when = 0;
    unref = t->unref;
  }
  unlock(&ts->mu);
  bool sync = t->isSync;
  if (sync) lock(&t->runLock);
  unlock(&t->mu);  // a timer without references may be freed from here on
  f(arg, seq, delay);
  if (sync) unlock(&t->runLock);
  if (unref) unref(arg);
  lock(&ts->mu);
}

}  // namespace

bool timerModify(timer* t, int64_t when, int64_t period, TimerFunc f, void* arg, uintptr_t seq) {
  ensureStarted();  // the heaps (allp) and the poller's M must exist
  RuntimeEntry entry;
  if (when <= 0) when = INT64_MAX;  // overflowed: "never", but still armed
  netpollGenericInit();
  lock(&t->mu);
  bool pending = unheap(t);
  quiesce(t);
  if (!pending && t->ref) t->ref(arg);  // the new arming's reference
  t->when = when;
  t->period = period;
  t->f = f;
  t->arg = arg;
  t->seq = seq;
  timerHeap* ts = currentHeap();
  lock(&ts->mu);
  heapAdd(ts, t);
  bool earliest = ts->heap[0].t == t;
  unlock(&ts->mu);
  unlock(&t->mu);
  // A new earliest deadline: the M sleeping in the poller may be sleeping
  // past it.
  if (earliest) wakeNetPoller(when);
  return pending;
}

bool timerStop(timer* t) {
  RuntimeEntry entry;
  lock(&t->mu);
  bool pending = unheap(t);
  t->when = 0;
  quiesce(t);
  void (*unref)(void*) = pending ? t->unref : nullptr;
  void* arg = t->arg;
  unlock(&t->mu);
  if (unref) unref(arg);  // the caller holds a reference too: t survives
  return pending;
}

namespace {
void goroutineReady(void* arg, uintptr_t, int64_t) { goready(static_cast<g*>(arg)); }

struct sleeper {
  timer t;
  int64_t when;
};

// gopark's unlockf: arm the timer only once the G is marked waiting, so the
// timer cannot ready a running G.
bool resetForSleep(g* gp, void* arg) {
  auto* s = static_cast<sleeper*>(arg);
  timerModify(&s->t, s->when, 0, goroutineReady, gp, 0);
  return true;
}
}  // namespace

void timeSleep(int64_t ns) {
  RuntimeEntry entry;
  if (ns <= 0) return;
  sleeper s;
  s.when = nanotime() + ns;
  if (s.when < 0) s.when = INT64_MAX;  // overflow: sleep "forever"
  gopark(resetForSleep, &s, waitReason::sleep);
}

namespace {
// Whether the current P's run queue is half full. Timers that fire while it
// is stay in the heap (still due, in deadline order) until the queue
// drains: readying more would overflow the local queue into the global
// one, where the woken goroutines would wait behind every queued
// goroutine instead of running next.
bool runqCrowded() {
  g* gp = getg();
  p* pp = gp ? gp->mp->pp : nullptr;
  if (!pp) return false;
  uint32_t n = pp->runqtail.load(std::memory_order_relaxed) - pp->runqhead.load(std::memory_order_relaxed);
  return n >= kRunqSize / 2;
}
}  // namespace

int64_t checkTimers(timerHeap* ts, int64_t* now, bool* ran) {
  int64_t next = ts->minWhen.load(std::memory_order_acquire);
  if (next == 0) return 0;
  if (*now == 0) *now = nanotime();
  if (next > *now || runqCrowded()) return next;
  lock(&ts->mu);
  while (!ts->heap.empty()) {
    timerWhen top = ts->heap[0];
    if (top.when > *now || runqCrowded()) break;
    if (!trylock(&top.t->mu)) {
      // Someone is modifying it (they take t.mu before ts.mu): let them.
      unlock(&ts->mu);
      sched_yield();
      lock(&ts->mu);
      continue;
    }
    runOne(ts, top.t, *now);
    *ran = true;
  }
  next = ts->heap.empty() ? 0 : ts->heap[0].when;
  unlock(&ts->mu);
  return next;
}

int64_t timeSleepUntil() {
  int64_t next = 0;
  int32_t procs = gomaxprocs.load(std::memory_order_acquire);
  p** ps = allp;
  for (int32_t i = 0; i < procs; i++) {
    int64_t w = ps[i]->timers.minWhen.load(std::memory_order_acquire);
    if (w != 0 && (next == 0 || w < next)) next = w;
  }
  return next;
}

void moveTimers(timerHeap* to, timerHeap* from) {
  for (;;) {
    lock(&from->mu);
    if (from->heap.empty()) {
      unlock(&from->mu);
      return;
    }
    timer* t = from->heap[0].t;
    if (!trylock(&t->mu)) {
      unlock(&from->mu);
      sched_yield();
      continue;
    }
    heapDelete(from, t);
    unlock(&from->mu);
    lock(&to->mu);
    heapAdd(to, t);
    unlock(&to->mu);
    unlock(&t->mu);
  }
}

int32_t timersLen(timerHeap* ts) {
  lockGuard guard(&ts->mu);
  return int32_t(ts->heap.size());
}

}  // namespace gort::internal

// ---- the test seam's timer-heap entries (export_test.hpp) ---------------------------

namespace gort::internal::exported {

void TimerHeapAdd(timerHeap* ts, timer* t) {
  lockGuard tl(&t->mu);
  lockGuard hl(&ts->mu);
  heapAdd(ts, t);
}

void TimerHeapDelete(timerHeap* ts, timer* t) {
  lockGuard tl(&t->mu);
  lockGuard hl(&ts->mu);
  heapDelete(ts, t);
}

bool TimerHeapValid(timerHeap* ts) {
  lockGuard guard(&ts->mu);
  const std::vector<timerWhen>& h = ts->heap;
  for (size_t i = 0; i < h.size(); i++) {
    if (h[i].t->ts != ts || h[i].t->idx != int32_t(i) || h[i].when != h[i].t->when) return false;
    if (i > 0 && h[(i - 1) / kArity].when > h[i].when) return false;
  }
  return ts->minWhen.load(std::memory_order_relaxed) == (h.empty() ? 0 : h[0].when);
}

}  // namespace gort::internal::exported
