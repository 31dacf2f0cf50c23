// select.cpp: the select statement (mirrors runtime/select.go).
//
// Design. selectgo gets the cases in an array on the caller's stack (sends
// first, then receives, as Go's compiler lays them out) and scratch space for
// two orders, so a select allocates nothing (sudogs come from the per-P
// cache):
//   - pollorder: a uniformly random permutation of the cases with a non-nil
//     channel (inside-out Fisher-Yates with fastrandn), so that when several
//     cases are ready each is chosen with equal probability;
//   - lockorder: the same cases sorted by channel address (heap sort: n log n
//     with no recursion), so that every select takes its channels' locks in
//     one global order and two selects over the same channels cannot
//     deadlock. A channel named by several cases is locked once.
// Pass 0 looks for a ready case one channel at a time (pollOneByOne: a
// select with a ready case takes one lock, not all). Failing that, with
// every lock held, pass 1 looks for a case that can proceed now, in
// pollorder. If none can and there is no default, pass 2 enqueues a sudog
// for every case (linked on g.waiting in lock order) and parks; the unlock
// callback drops the locks only once the G is marked waiting, so no wake-up
// is lost. The partner that dequeues one of these sudogs first wins the CAS
// on g.selectDone (waitq::dequeue); any other partner skips the G's other
// sudogs, so a parked select is woken by exactly one case. On waking, pass 3
// retakes the locks, finds the winning sudog (g.param) and unlinks the rest.
//
// gort::select over a span of select_case (the run-time form, Go's
// reflect.Select) lays its cases out the same way in vectors and calls the
// same selectgo.
//
// Rejected alternative: one lock-free "select word" per G with sudogs
// claimed by CAS before taking channel locks. It saves the lock sweep for
// large selects but complicates close and the buffered paths; Go's design is
// simple to reason about and its cost is a few uncontended locks.
//
// Locks: the channels' locks in address order, so two selects over the
// same channels cannot deadlock (their rank, hchan, may nest in itself).
#include <cstdint>
#include <string>
#include <vector>

#include "gort/panic.hpp"
#include "gort/select.hpp"

#include "runtime/chan.hpp"
#include "runtime/panic.hpp"
#include "runtime/proc.hpp"
#include "runtime/sanitizer.hpp"

namespace gort::internal {

namespace {

struct selectState {
  scase* cases;
  uint16_t* lockorder;
  int n;  // entries in lockorder
};

inline uintptr_t sortkey(const hchan* c) { return reinterpret_cast<uintptr_t>(c); }

void sellock(const selectState& s) {
  hchan* last = nullptr;
  for (int i = 0; i < s.n; i++) {
    hchan* c = s.cases[s.lockorder[i]].c;
    if (c != last) {
      last = c;
      chanLock(c);
    }
  }
}

// Unlocks in reverse order. The select's cases and orders live on its
// goroutine's stack; nothing here reads them after the last unlock.
void selunlock(void* arg) {
  const auto& s = *static_cast<const selectState*>(arg);
  for (int i = s.n - 1; i >= 0; i--) {
    hchan* c = s.cases[s.lockorder[i]].c;
    if (i > 0 && c == s.cases[s.lockorder[i - 1]].c) continue;  // next iteration unlocks it
    chanUnlock(c);
  }
}

int countLocks(const selectState& s) {
  int n = 0;
  for (int i = 0; i < s.n; i++) n += i == 0 || s.cases[s.lockorder[i]].c != s.cases[s.lockorder[i - 1]].c;
  return n;
}

// park_m callback: g.waiting lists the sudogs in lock order, so equal
// channels are adjacent; unlock each distinct one.
bool selparkcommit(g* gp, void*) {
  hchan* lastc = nullptr;
  for (sudog* sg = gp->waiting; sg; sg = sg->waitlink) {
    if (sg->c != lastc && lastc) unlockParked(&lastc->lock);
    lastc = sg->c;
  }
  if (lastc) unlockParked(&lastc->lock);
  return true;
}

// Builds pollorder (a random permutation of the cases with a channel).
// Returns its length.
int buildPollOrder(scase* cases, int ncases, uint16_t* pollorder) {
  int norder = 0;
  for (int i = 0; i < ncases; i++) {
    if (!cases[i].c) continue;  // nil channel: never ready, never locked
    uint32_t j = fastrandn(uint32_t(norder + 1));
    pollorder[norder] = pollorder[j];
    pollorder[j] = uint16_t(i);
    norder++;
  }
  return norder;
}

// Builds lockorder: pollorder's cases by channel address.
void buildLockOrder(scase* cases, int norder, const uint16_t* pollorder, uint16_t* lockorder) {
  // Heap sort by address; building from pollorder permutes equal channels.
  for (int i = 0; i < norder; i++) {
    int j = i;
    hchan* c = cases[pollorder[i]].c;
    while (j > 0 && sortkey(cases[lockorder[(j - 1) / 2]].c) < sortkey(c)) {
      int k = (j - 1) / 2;
      lockorder[j] = lockorder[k];
      j = k;
    }
    lockorder[j] = pollorder[i];
  }
  for (int i = norder - 1; i >= 0; i--) {
    uint16_t o = lockorder[i];
    hchan* c = cases[o].c;
    lockorder[i] = lockorder[0];
    int j = 0;
    for (;;) {
      int k = j * 2 + 1;
      if (k >= i) break;
      if (k + 1 < i && sortkey(cases[lockorder[k]].c) < sortkey(cases[lockorder[k + 1]].c)) k++;
      if (sortkey(c) < sortkey(cases[lockorder[k]].c)) {
        lockorder[j] = lockorder[k];
        j = k;
        continue;
      }
      break;
    }
    lockorder[j] = o;
  }
}

// Pass 2 and the wake-up: park on every case, then unlink from the losers.
// Called with every lock held; returns with every lock held.
int parkOnAll(selectState& s, int nsends, bool* caseSuccess) {
  g* gp = getg();
  if (gp->waiting) throw_("gp.waiting != nil");
  sudog** nextp = &gp->waiting;
  for (int i = 0; i < s.n; i++) {
    int casi = s.lockorder[i];
    hchan* c = s.cases[casi].c;
    sudog* sg = acquireSudog();
    sg->gp = gp;
    sg->isSelect = true;
    sg->elem = s.cases[casi].elem;
    sg->c = c;
    sg->waitlink = nullptr;
    *nextp = sg;
    nextp = &sg->waitlink;
    san::release(sg);
    if (casi < nsends) {
      c->sendq.enqueue(sg);
    } else {
      c->recvq.enqueue(sg);
    }
  }
  gp->param = nullptr;
  parkHolding(countLocks(s), selparkcommit, nullptr, waitReason::select);

  sellock(s);
  gp->selectDone.store(0, std::memory_order_relaxed);
  auto* won = static_cast<sudog*>(gp->param);
  gp->param = nullptr;
  // Pass 3: dequeue from the unsuccessful channels, or they pile up on quiet
  // ones. The sudogs are in lock order, as the cases in lockorder.
  int casi = -1;
  sudog* sglist = gp->waiting;
  for (sudog* sg1 = sglist; sg1; sg1 = sg1->waitlink) {
    sg1->isSelect = false;
    sg1->elem = nullptr;
  }
  gp->waiting = nullptr;
  for (int i = 0; i < s.n; i++) {
    int k = s.lockorder[i];
    if (sglist == won) {
      casi = k;  // already dequeued by the goroutine that woke us
      *caseSuccess = sglist->success;
    } else if (k < nsends) {
      s.cases[k].c->sendq.dequeueSudoG(sglist);
    } else {
      s.cases[k].c->recvq.dequeueSudoG(sglist);
    }
    sudog* next = sglist->waitlink;
    sglist->waitlink = nullptr;
    sglist->c = nullptr;
    releaseSudog(sglist);
    sglist = next;
  }
  if (casi < 0) throw_("selectgo: bad wakeup");
  return casi;
}

// Case casi, its channel locked (and whatever else unlockf releases): if it
// can proceed, runs it, calls unlockf(arg) and returns true; otherwise
// returns false with everything still locked.
bool tryCase(scase* cases, int casi, int nsends, void (*unlockf)(void*), void* arg, bool* recvOK) {
  scase& cas = cases[casi];
  hchan* c = cas.c;
  if (casi >= nsends) {
    if (sudog* sg = c->sendq.dequeue()) {
      chanRecvFromWaiter(c, sg, cas.elem, unlockf, arg);
      *recvOK = true;
      return true;
    }
    if (c->qcount.load(std::memory_order_relaxed) > 0) {
      chanBufTake(c, cas.elem);
      unlockf(arg);
      *recvOK = true;
      return true;
    }
    if (c->closed.load(std::memory_order_relaxed)) {
      unlockf(arg);
      san::acquire(c);
      elemZero(c, cas.elem);
      return true;
    }
    return false;
  }
  if (c->closed.load(std::memory_order_relaxed)) {
    unlockf(arg);
    panicSendOnClosed();
  }
  if (sudog* sg = c->recvq.dequeue()) {
    chanSendToWaiter(c, sg, cas.elem, unlockf, arg);
    return true;
  }
  if (c->qcount.load(std::memory_order_relaxed) < c->dataqsiz) {
    chanBufPut(c, cas.elem);
    unlockf(arg);
    return true;
  }
  return false;
}

void unlockOne(void* c) { chanUnlock(static_cast<hchan*>(c)); }

// Pass 0 (gort's, not Go's): pass 1 one channel at a time. Each case, in
// pollorder, is first looked at without its lock (as the non-blocking
// operations' fast paths do) and locked alone only if it looks ready. Taking
// the first case in pollorder that is ready when looked at is what pass 1
// does, except that pass 1 looks at all the cases at one instant; here a
// case passed over as not ready may become ready before a later one is
// taken, which is a race pass 1 could have resolved either way. A select
// with a ready case thus takes one lock instead of all of them. If nothing
// looks ready, pass 1 decides under all the locks.
bool pollOneByOne(scase* cases, const uint16_t* pollorder, int norder, int nsends, int* casi, bool* recvOK) {
  for (int i = 0; i < norder; i++) {
    int k = pollorder[i];
    hchan* c = cases[k].c;
    bool looksReady = c->closed.load(std::memory_order_relaxed) != 0 || (k >= nsends ? !c->empty() : !c->full());
    if (!looksReady) continue;
    chanLock(c);
    if (tryCase(cases, k, nsends, unlockOne, c, recvOK)) {
      *casi = k;
      return true;
    }
    chanUnlock(c);
  }
  return false;
}

}  // namespace

int selectgo(scase* cases, uint16_t* order, int nsends, int nrecvs, bool block, bool* recvOK) {
  if (__builtin_expect(block && !getg(), 0)) {
    // A thread outside the scheduler waits on a borrowed goroutine
    // (proc.hpp, waitOnGoroutine) if no case is ready now.
    int casi = selectgo(cases, order, nsends, nrecvs, false, recvOK);
    if (casi < 0) waitOnGoroutine([&] { casi = selectgo(cases, order, nsends, nrecvs, true, recvOK); });
    return casi;
  }
  RuntimeEntry entry;
  int ncases = nsends + nrecvs;
  uint16_t* pollorder = order;
  uint16_t* lockorder = order + ncases;
  int norder = buildPollOrder(cases, ncases, pollorder);
  *recvOK = false;
  if (norder == 0 && !block) return -1;
  if (int casi; pollOneByOne(cases, pollorder, norder, nsends, &casi, recvOK)) return casi;

  buildLockOrder(cases, norder, pollorder, lockorder);
  selectState s{cases, lockorder, norder};
  sellock(s);
  // Pass 1: a case that can proceed now, in random order.
  for (int i = 0; i < norder; i++) {
    if (tryCase(cases, pollorder[i], nsends, selunlock, &s, recvOK)) return pollorder[i];
  }
  if (!block) {
    selunlock(&s);
    return -1;
  }

  bool success = false;
  int casi = parkOnAll(s, nsends, &success);
  selunlock(&s);
  if (casi < nsends) {
    if (!success) panicSendOnClosed();  // woken by close
  } else {
    *recvOK = success;
    if (!success) elemZero(cases[casi].c, cases[casi].elem);
  }
  return casi;
}

void block() {
  if (__builtin_expect(!getg(), 0)) waitOnGoroutine([] { block(); });
  RuntimeEntry entry;
  gopark(nullptr, nullptr, waitReason::selectNoCases);
  throw_("unreachable");
}

}  // namespace gort::internal

namespace gort {

int select(std::span<select_case> cases) {
  using internal::DynamicCase;
  int dflt = -1;
  for (size_t i = 0; i < cases.size(); i++) {
    if (!cases[i].impl().isDefault()) continue;
    if (dflt >= 0) panic(std::string("select: multiple default cases"));
    dflt = int(i);
  }
  std::vector<internal::scase> sc;
  std::vector<int> index;  // sc's entry -> position in cases
  auto add = [&](bool sends) {
    for (size_t i = 0; i < cases.size(); i++) {
      DynamicCase& cas = cases[i].impl();
      if (cas.isDefault() || cas.isSend() != sends) continue;
      sc.push_back(internal::scase{cas.chan(), cas.elem()});
      index.push_back(int(i));
    }
  };
  add(true);
  int nsends = int(sc.size());
  add(false);
  int ncomm = int(sc.size());
  if (ncomm > 65536) panic(std::string("select: too many cases (max 65536)"));
  int chosen = dflt;
  bool ok = false;
  if (ncomm == 0 && dflt < 0) internal::block();
  if (ncomm > 0) {
    std::vector<uint16_t> order(2 * size_t(ncomm));
    int slot = internal::selectgo(sc.data(), order.data(), nsends, ncomm - nsends, dflt < 0, &ok);
    if (slot >= 0) chosen = index[size_t(slot)];
  }
  cases[size_t(chosen)].impl().run(ok);
  return chosen;
}

}  // namespace gort
