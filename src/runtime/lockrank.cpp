// lockrank.cpp: the runtime's lock order and its checker (design in
// lockrank.hpp; mirrors runtime/lockrank.go and lockrank_on.go).
//
// kMayHold below is the order, written as Go writes it: for each rank, the
// ranks a thread may already hold when it takes a lock of that rank. A rank
// listing itself may be taken twice (select locks channels in address
// order; procresize moves timers between two heaps with the world stopped).
// The check uses the transitive closure, computed at compile time, and
// rejects a table with a cycle.
//
// The held locks are kept per thread, not per M: threads outside the
// scheduler (signal delivery, a C++ thread calling into the library) take
// runtime locks too, and a lock is always released on the thread that took
// it (gopark's unlockf runs on the parking M; a direct hand-off's partner
// runs it on the same M). Locks of one rank taken one after another (a
// select's channels, any number of them) share one entry with a count.

#include "runtime/lock_futex.hpp"
#include "runtime/lockrank.hpp"
#include "runtime/panic.hpp"
#include "runtime/print.hpp"
#include <array>
#include <atomic>
#include <initializer_list>

namespace gort::internal {

namespace {

constexpr int kRanks = int(LockRank::count);
using R = LockRank;

struct MayHold {
  R rank;
  std::initializer_list<R> held;
};

// The order. Keep it in LockRank's order (lockrank.hpp).
constexpr MayHold kMayHold[] = {
    {R::context, {}},
    {R::start, {R::context}},
    {R::netpollInit, {R::context, R::start}},
    {R::pollDesc, {R::context}},
    {R::timer, {R::context, R::pollDesc}},
    {R::timerRun, {R::timer}},
    {R::sched, {R::context, R::start, R::netpollInit, R::timerRun}},
    {R::timers, {R::sched, R::timer, R::timers}},
    {R::hchan, {R::context, R::timerRun, R::hchan}},
    {R::semaRoot, {}},
    {R::notifyList, {}},
    {R::sudog, {R::hchan, R::sched, R::notifyList}},
    {R::gFree, {R::sched}},
    {R::gSlab, {R::sched}},
    {R::stack, {R::sched, R::hchan}},  // a direct hand-off starts its partner under the channel lock
    {R::pollCache, {}},
    {R::sweep, {}},
    {R::allocNoP, {R::sweep}},
    {R::mcentral, {R::allocNoP, R::sched}},  // procresize flushes a dying P's mcache
    {R::mheap, {R::allocNoP, R::mcentral, R::sched}},
    {R::gcBits, {R::allocNoP, R::mcentral, R::mheap, R::sched}},
    {R::sig, {R::start, R::context}},
    {R::symtab, {}},
    {R::leaf, {}},  // and every other rank: see closure()
};

constexpr const char* kNames[] = {"context", "start", "netpollInit", "pollDesc", "timer", "timerRun",
                                  "sched", "timers", "hchan", "semaRoot", "notifyList", "sudog",
                                  "gFree", "gSlab", "stack", "pollCache", "sweep", "allocNoP", "mcentral", "mheap", "gcBits", "sig", "symtab", "leaf"};
static_assert(std::size(kNames) == kRanks && std::size(kMayHold) == kRanks, "a name and an order row per rank");

using Closure = std::array<uint32_t, kRanks>;  // bit h of [r]: h may be held when r is taken
static_assert(kRanks <= 32);

constexpr Closure closure() {
  Closure c{};
  for (int i = 0; i < kRanks; i++) {
    if (int(kMayHold[i].rank) != i) throw "kMayHold rows must follow LockRank's order";
    for (R h : kMayHold[i].held) c[i] |= 1u << int(h);
  }
  // Whatever may be held when h is taken may be held while h is.
  for (bool grew = true; grew;) {
    grew = false;
    for (int r = 0; r < kRanks; r++) {
      uint32_t before = c[r];
      for (int h = 0; h < kRanks; h++) {
        if (c[r] & (1u << h)) c[r] |= c[h];
      }
      grew |= c[r] != before;
    }
  }
  c[int(R::leaf)] = (1u << kRanks) - 1;
  for (int r = 0; r < kRanks; r++) {
    for (int h = 0; h < kRanks; h++) {
      bool cycle = h != r && (c[r] & (1u << h)) && (c[h] & (1u << r));
      if (cycle) throw "the lock order has a cycle";
    }
  }
  return c;
}
constexpr Closure kMayHoldClosure = closure();

bool mayHold(R held, R taken) { return kMayHoldClosure[int(taken)] & (1u << int(held)); }

constexpr int kMaxHeld = 16;
// l, and `more` locks of the same rank taken right after it (l is null once
// it went first of the group).
struct HeldLock {
  const mutex* l;
  R rank;
  uint32_t more;
};
struct HeldLocks {
  int n = 0;
  HeldLock locks[kMaxHeld];
};
thread_local HeldLocks held;
std::atomic<bool> stopped{false};

void printHeld() {
  for (int i = 0; i < held.n; i++) {
    printstr(" ");
    printint(i);
    printstr(": ");
    printstr(kNames[int(held.locks[i].rank)]);
    printstr(" ");
    printhex(reinterpret_cast<uintptr_t>(held.locks[i].l));
    printstr("\n");
  }
}

[[noreturn]] void orderProblem(const mutex* l, R taken, R with) {
  lockRankStop();
  printstr("runtime: lock ordering problem: taking ");
  printstr(kNames[int(taken)]);
  printstr(" ");
  printhex(reinterpret_cast<uintptr_t>(l));
  printstr(" while holding ");
  printstr(kNames[int(with)]);
  printstr("\nheld locks:\n");
  printHeld();
  throw_("lock ordering problem");
}

void record(const mutex* l, R r) {
  if (held.n == kMaxHeld) {
    lockRankStop();
    printHeld();
    throw_("runtime: too many locks held");
  }
  held.locks[held.n++] = {l, r, 0};
}

void removeEntry(int i) {
  for (int j = i; j + 1 < held.n; j++) held.locks[j] = held.locks[j + 1];
  held.n--;
}

// Forgets one lock of a group entry, or the entry.
void releaseFrom(int i, const mutex* l) {
  HeldLock& h = held.locks[i];
  if (h.more == 0) {
    removeEntry(i);
  } else {
    if (h.l == l) h.l = nullptr;
    h.more--;
  }
}

}  // namespace

void lockRankAcquire(const mutex* l, LockRank r) {
  if (stopped.load(std::memory_order_relaxed)) return;
  for (int i = 0; i < held.n; i++) {
    if (held.locks[i].l == l) {
      lockRankStop();
      printstr("runtime: lock ");
      printhex(reinterpret_cast<uintptr_t>(l));
      printstr(" (");
      printstr(kNames[int(r)]);
      printstr(") taken twice\n");
      throw_("lock ordering problem");
    }
    if (!mayHold(held.locks[i].rank, r)) orderProblem(l, r, held.locks[i].rank);
  }
  if (held.n > 0 && held.locks[held.n - 1].rank == r) {
    held.locks[held.n - 1].more++;  // mayHold(r, r), checked above
    return;
  }
  record(l, r);
}

void lockRankTrylocked(const mutex* l, LockRank r) {
  if (!stopped.load(std::memory_order_relaxed)) record(l, r);
}

void lockRankRelease(const mutex* l) {
  if (stopped.load(std::memory_order_relaxed)) return;
  for (int i = held.n - 1; i >= 0; i--) {
    if (held.locks[i].l == l) return releaseFrom(i, l);
  }
  for (int i = held.n - 1; i >= 0; i--) {
    const HeldLock& h = held.locks[i];
    if (h.rank == l->rank && (h.more > 0 || !h.l)) return releaseFrom(i, l);
  }
  lockRankStop();
  printstr("runtime: unlock of ");
  printhex(reinterpret_cast<uintptr_t>(l));
  printstr(", which this thread does not hold\n");
  throw_("unlock of unlocked lock");
}

bool lockRankHeld(const mutex* l) {
  if (stopped.load(std::memory_order_relaxed)) return true;
  for (int i = 0; i < held.n; i++) {
    const HeldLock& h = held.locks[i];
    if (h.l == l || (h.rank == l->rank && (h.more > 0 || !h.l))) return true;  // a group: maybe
  }
  return false;
}

void lockRankStop() { stopped.store(true, std::memory_order_relaxed); }

}  // namespace gort::internal
