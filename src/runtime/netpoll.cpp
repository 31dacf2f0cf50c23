// netpoll.cpp: portable half of the network poller (mirrors
// runtime/netpoll.go); the protocol is described in netpoll.hpp.
//
// pollDescs are never freed, only recycled through pollcache: a late epoll
// event or deadline timer for a closed descriptor may still hold the
// pointer. Such stale notifications are harmless: the sequence numbers
// reject stale deadlines, and a stale readiness only makes the next
// operation retry its system call once.
//
// Homes (GOMAXPROCS > 1; Go has no such thing). A goroutine readied by the
// poller runs on the P that polled, so the two ends of a connection, and a
// connection and the CPU where the kernel delivers its data, land on
// different CPUs at random, and every message's socket state crosses
// between their caches. Every 8th read wait asks the kernel on which CPU
// the socket's data last arrived (SO_INCOMING_CPU: the sender's for
// loopback, the receive queue's interrupt CPU for a network card) and, if a
// P runs there, makes it the descriptor's home: injectglist queues its
// readied goroutines on that P (proc.cpp, the P's inbox). A goroutine
// already on that CPU keeps its descriptor where it is; one elsewhere moves
// with probability 1/2, so that the two ends of a connection, each seeing
// the other's CPU, do not swap forever. Descriptors that are not inet
// sockets report no CPU and keep no home.
#include "runtime/netpoll.hpp"

#include <sys/socket.h>

#include <cerrno>

#include "runtime/panic.hpp"
#include "runtime/proc.hpp"
#include "runtime/runtime2.hpp"
#include "runtime/sanitizer.hpp"

namespace gort::internal {

std::atomic<int64_t> netpollLastpoll{1};
std::atomic<int64_t> netpollPollUntil{0};

void gList::push(g* gp) {
  gp->schedlink = nullptr;
  if (tail) {
    tail->schedlink = gp;
  } else {
    head = gp;
  }
  tail = gp;
  n++;
}

g* gList::pop() {
  g* gp = head;
  if (gp) {
    head = gp->schedlink;
    if (!head) tail = nullptr;
    gp->schedlink = nullptr;
    n--;
  }
  return gp;
}

namespace {

constexpr uintptr_t pdNil = 0, pdReady = 1, pdWait = 2;

// pollInfo bits: a lock-free summary for the fast paths.
constexpr uint32_t kClosing = 1, kEventErr = 2, kRdExpired = 4, kWdExpired = 8;

std::atomic<uint32_t> inited{0};
mutex initLock{LockRank::netpollInit};
std::atomic<int32_t> waiters{0};

struct {
  mutex lock{LockRank::pollCache};
  pollDesc* first = nullptr;
} pollcache;

pollDesc* pollcacheAlloc() {
  lockGuard guard(&pollcache.lock);
  pollDesc* pd = pollcache.first;
  if (!pd) {
    // Allocate a batch; they live for the rest of the process.
    constexpr int kBatch = 64;
    auto* batch = new pollDesc[kBatch];
    for (int i = 0; i < kBatch; i++) {
      batch[i].link = pollcache.first;
      pollcache.first = &batch[i];
    }
    pd = pollcache.first;
  }
  pollcache.first = pd->link;
  pd->link = nullptr;
  return pd;
}

void pollcacheFree(pollDesc* pd) {
  lockGuard guard(&pollcache.lock);
  pd->link = pollcache.first;
  pollcache.first = pd;
}

std::atomic<uintptr_t>* modeWord(pollDesc* pd, int mode) { return mode == 'r' ? &pd->rg : &pd->wg; }

// pd.lock held: recompute the lock-free summary. Sequentially consistent:
// a notifier stores info then loads rg/wg, a waiter stores rg/wg then loads
// info (checkerr); one of them must see the other's store.
void publishInfo(pollDesc* pd) {
  uint32_t x = pd->info.load(std::memory_order_relaxed) & kEventErr;
  if (pd->closing) x |= kClosing;
  if (pd->rd < 0) x |= kRdExpired;
  if (pd->wd < 0) x |= kWdExpired;
  pd->info.store(x, std::memory_order_seq_cst);
}

int checkerr(pollDesc* pd, int mode) {
  uint32_t info = pd->info.load(std::memory_order_seq_cst);
  if (info & kClosing) return pollErrClosing;
  if ((mode == 'r' && (info & kRdExpired)) || (mode == 'w' && (info & kWdExpired))) return pollErrTimeout;
  // An error event on a read means the descriptor cannot be polled any
  // more; writes report their own errors from the system call.
  if (mode == 'r' && (info & kEventErr)) return pollErrNotPollable;
  return pollNoError;
}

// Moves mode's word to ready (ioready) or nil and returns the parked G, if
// any, for the caller to ready.
g* netpollunblock(pollDesc* pd, int mode, bool ioready) {
  std::atomic<uintptr_t>* gpp = modeWord(pd, mode);
  for (;;) {
    // seq_cst: a closer's info store, then this load, against the waiter's
    // pdWait CAS, then its info load (netpollblock): a Dekker pair, which
    // an acquire load does not order after the store in C++'s model.
    uintptr_t old = gpp->load(std::memory_order_seq_cst);
    if (old == pdReady) return nullptr;
    if (old == pdNil && !ioready) return nullptr;
    uintptr_t next = ioready ? pdReady : pdNil;
    if (gpp->compare_exchange_weak(old, next, std::memory_order_acq_rel)) {
      if (old == pdWait) return nullptr;  // the waiter has not parked: it will see `next`
      if (old != pdNil) waiters.fetch_sub(1, std::memory_order_relaxed);
      return reinterpret_cast<g*>(old);
    }
  }
}

void readyIf(g* gp) {
  if (gp) goready(gp);
}

bool blockcommit(g* gp, void* word) {
  auto* gpp = static_cast<std::atomic<uintptr_t>*>(word);
  uintptr_t expect = pdWait;
  if (!gpp->compare_exchange_strong(expect, reinterpret_cast<uintptr_t>(gp), std::memory_order_acq_rel)) {
    return false;  // readiness or an error arrived first: do not park
  }
  waiters.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void checkHome(pollDesc* pd) {
  if (gomaxprocs.load(std::memory_order_relaxed) <= 1) return;
  uint32_t n = pd->reads.load(std::memory_order_relaxed) + 1;
  pd->reads.store(n, std::memory_order_relaxed);  // a hint: lost updates do not matter
  if (n % 8 != 0 || pd->home.load(std::memory_order_relaxed) == kNoHome) return;
  int cpu = -1;
  socklen_t len = sizeof(cpu);
  if (getsockopt(pd->fd, SOL_SOCKET, SO_INCOMING_CPU, &cpu, &len) != 0) {
    pd->home.store(kNoHome, std::memory_order_relaxed);
    return;
  }
  int32_t home = pollHomeOf(cpu);
  if (home < 0) return;
  p* pp = getg()->mp->pp;
  if (home == pp->id || (fastrand() & 1)) pd->home.store(home, std::memory_order_relaxed);
}

// Parks until mode is ready or unblocked; true if I/O is ready.
bool netpollblock(pollDesc* pd, int mode) {
  if (mode == 'r') checkHome(pd);
  std::atomic<uintptr_t>* gpp = modeWord(pd, mode);
  for (;;) {
    uintptr_t old = pdReady;
    if (gpp->compare_exchange_strong(old, pdNil, std::memory_order_acq_rel)) return true;
    if (old == pdNil) {
      if (gpp->compare_exchange_strong(old, pdWait, std::memory_order_seq_cst)) break;
      continue;
    }
    if (old != pdReady) throw_("runtime: double wait");
  }
  // Re-check after announcing the wait: a deadline or close that happened
  // before pdWait was visible did not see us.
  if (checkerr(pd, mode) == pollNoError) goparkHandoff(blockcommit, gpp, waitReason::ioWait, true);
  uintptr_t old = gpp->exchange(pdNil, std::memory_order_acq_rel);
  if (old > pdWait) throw_("runtime: corrupted polldesc");
  return old == pdReady;
}

// Deadline timers. They run on a g0 with no timer lock held.
void deadlineImpl(pollDesc* pd, uintptr_t seq, bool read, bool write) {
  g* rg = nullptr;
  g* wg = nullptr;
  {
    lockGuard guard(&pd->lock);
    if ((read && seq != pd->rseq) || (write && seq != pd->wseq)) return;  // re-armed or closed since
    if (read) pd->rd = -1;
    if (write) pd->wd = -1;
    // Publish before looking for the waiter; netpollblock does the reverse.
    publishInfo(pd);
    if (read) rg = netpollunblock(pd, 'r', false);
    if (write) wg = netpollunblock(pd, 'w', false);
  }
  readyIf(rg);
  readyIf(wg);
}

void readDeadline(void* arg, uintptr_t seq, int64_t) { deadlineImpl(static_cast<pollDesc*>(arg), seq, true, false); }
void writeDeadline(void* arg, uintptr_t seq, int64_t) { deadlineImpl(static_cast<pollDesc*>(arg), seq, false, true); }

}  // namespace

bool netpollinited() { return inited.load(std::memory_order_acquire) != 0; }

void netpollGenericInit() {
  if (netpollinited()) {
    // For TSan, which tracks the epoll descriptor: its creation happens
    // before this thread's first epoll_ctl (the runtime's own atomics are
    // not instrumented).
    san::acquire(&inited);
    return;
  }
  lockGuard guard(&initLock);
  if (inited.load(std::memory_order_relaxed) == 0) {
    netpollinit();
    san::release(&inited);
    inited.store(1, std::memory_order_release);
  }
}

bool netpollAnyWaiters() { return waiters.load(std::memory_order_relaxed) > 0; }

void netpollready(gList* list, pollDesc* pd, int mode) {
  auto add = [list, pd](g* gp) {
    gp->pollHome = int16_t(pd->home.load(std::memory_order_relaxed));
    list->push(gp);
  };
  if (mode == 'r' || mode == 'r' + 'w') {
    if (g* gp = netpollunblock(pd, 'r', true)) add(gp);
  }
  if (mode == 'w' || mode == 'r' + 'w') {
    if (g* gp = netpollunblock(pd, 'w', true)) add(gp);
  }
}

void netpollSetEventErr(pollDesc* pd) { pd->info.fetch_or(kEventErr, std::memory_order_acq_rel); }

pollDesc* pollOpen(int fd, int* errnoOut) {
  RuntimeEntry entry;
  netpollGenericInit();
  pollDesc* pd = pollcacheAlloc();
  {
    lockGuard guard(&pd->lock);
    uintptr_t r = pd->rg.load(std::memory_order_relaxed), w = pd->wg.load(std::memory_order_relaxed);
    if ((r != pdNil && r != pdReady) || (w != pdNil && w != pdReady)) throw_("runtime: blocked read on free polldesc");
    pd->fd = fd;
    pd->closing = false;
    pd->info.store(0, std::memory_order_relaxed);
    pd->rseq++;
    pd->wseq++;
    pd->rg.store(pdNil, std::memory_order_relaxed);
    pd->wg.store(pdNil, std::memory_order_relaxed);
    pd->home.store(kAnyHome, std::memory_order_relaxed);
    pd->reads.store(0, std::memory_order_relaxed);
    pd->rd = pd->wd = 0;
    publishInfo(pd);
  }
  if (int err = netpollopen(fd, pd); err != 0) {
    *errnoOut = err;
    pollcacheFree(pd);
    return nullptr;
  }
  *errnoOut = 0;
  return pd;
}

void pollClose(pollDesc* pd) {
  RuntimeEntry entry;
  if (!pd->closing) throw_("runtime: close polldesc w/o unblock");
  uintptr_t r = pd->rg.load(std::memory_order_acquire), w = pd->wg.load(std::memory_order_acquire);
  if ((r != pdNil && r != pdReady) || (w != pdNil && w != pdReady)) throw_("runtime: blocked write on closing polldesc");
  netpollclose(pd->fd);
  pollcacheFree(pd);
}

int pollReset(pollDesc* pd, int mode) {
  RuntimeEntry entry;
  int err = checkerr(pd, mode);
  if (err != pollNoError) return err;
  modeWord(pd, mode)->store(pdNil, std::memory_order_release);
  return pollNoError;
}

int pollWait(pollDesc* pd, int mode) {
  if (__builtin_expect(!getg(), 0)) {
    // A thread outside the scheduler waits on a borrowed goroutine.
    int err = pollNoError;
    waitOnGoroutine([pd, mode, &err] { err = pollWait(pd, mode); });
    return err;
  }
  RuntimeEntry entry;
  int err = checkerr(pd, mode);
  if (err != pollNoError) return err;
  while (!netpollblock(pd, mode)) {
    err = checkerr(pd, mode);
    if (err != pollNoError) return err;
    // Woken without readiness or error: a stale deadline; wait again.
  }
  return pollNoError;
}

void pollSetDeadline(pollDesc* pd, int64_t d, int mode) {
  RuntimeEntry entry;
  g* rg = nullptr;
  g* wg = nullptr;
  {
    lockGuard guard(&pd->lock);
    if (pd->closing) return;
    bool r = mode == 'r' || mode == 'r' + 'w';
    bool w = mode == 'w' || mode == 'r' + 'w';
    if (r) {
      pd->rd = d;
      pd->rseq++;
      if (d > 0) {
        timerModify(&pd->rt, d, 0, readDeadline, pd, pd->rseq);
      } else {
        timerStop(&pd->rt);
      }
    }
    if (w) {
      pd->wd = d;
      pd->wseq++;
      if (d > 0) {
        timerModify(&pd->wt, d, 0, writeDeadline, pd, pd->wseq);
      } else {
        timerStop(&pd->wt);
      }
    }
    publishInfo(pd);
    // A deadline in the past unblocks the waiters now.
    if (r && pd->rd < 0) rg = netpollunblock(pd, 'r', false);
    if (w && pd->wd < 0) wg = netpollunblock(pd, 'w', false);
  }
  readyIf(rg);
  readyIf(wg);
}

void pollUnblock(pollDesc* pd) {
  RuntimeEntry entry;
  g* rg;
  g* wg;
  {
    lockGuard guard(&pd->lock);
    if (pd->closing) throw_("runtime: unblock on closing polldesc");
    pd->closing = true;
    pd->rseq++;
    pd->wseq++;
    publishInfo(pd);
    rg = netpollunblock(pd, 'r', false);
    wg = netpollunblock(pd, 'w', false);
    timerStop(&pd->rt);
    timerStop(&pd->wt);
  }
  readyIf(rg);
  readyIf(wg);
}

}  // namespace gort::internal
