// proc.cpp: the goroutine scheduler (mirrors runtime/proc.go).
//
// Design. Goroutines (G) are multiplexed onto OS threads (M); an M runs Go
// code only while it holds one of the GOMAXPROCS processors (P). Each P has a
// 256-entry lock-free run queue (owner pushes and pops, thieves take half
// with a CAS on head) plus a runnext slot: a G readied by the running G goes
// there and inherits the time slice, so a producer/consumer pair ping-pongs
// on one P without touching shared state. Overflow and Gosched go to the
// global queue under sched.lock, which every P checks at least every 61
// schedule ticks so that it cannot starve. With GOMAXPROCS > 1 a P also has
// an inbox: goroutines the poller readied for a descriptor homed on it
// (netpoll.cpp); any M pushes, the owner moves it into the run queue, a
// thief takes it whole.
//
// An M with nothing to run becomes "spinning" and tries to steal; at most
// half of the busy Ps' worth of Ms spin at once. A spinning M that finds
// nothing gives its P back and parks on its note. The spinning-to-idle
// transition re-checks every run queue after dropping the spinning count, and
// wakep (called whenever work appears) starts a spinning M only if none is
// spinning: together these guarantee that new work is never left unserved
// while Ms sleep (the argument is the one in proc.go's "Worker thread
// parking/unparking" comment).
//
// The context switch (asm_<arch>.S) saves callee-saved registers on the G's
// stack. Every switch goes through the M's g0: a G calls mcall(fn) to switch
// to g0, which runs fn for it (park, yield, exit) and then schedules the next
// G. g0 is the scheduling loop itself: execute() returns on g0 whenever the G
// it resumed calls mcall.
//
// One exception: a G that parks while its P's runnext holds the G that
// schedule() would pick anyway (a channel partner it just readied) switches
// straight to it (goparkHandoff); the partner finishes the park when it
// resumes. General direct G-to-G switches (any mcall fn run on the next G's
// stack) were rejected: with the previous G half-saved, parking protocols
// whose unlock function may refuse the park, and the sanitizer fiber
// bookkeeping, become fragile. Also rejected: one OS thread per goroutine
// (the problem gort exists to solve).
//
// Invariants: a G's status changes only through casgstatus. A P is held by
// at most one M. sched.lock is never held across a switch. allp changes
// only while the world is stopped, so readers outside STW may iterate it.
//
// Locks (ranks in lockrank.cpp): sched.lock guards the idle lists and the
// global run queue; the global free-G list, sudog cache and stack pools
// have locks of their own, taken under it or alone.
#include <pthread.h>
#include <signal.h>
#include <sched.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>
#include <numeric>

#include "gort/debug.hpp"
#include "gort/go.hpp"
#include "gort/runtime.hpp"
#include "gort/syscall.hpp"
#include "runtime/cpuprof.hpp"
#include "runtime/sema.hpp"
#include "runtime/mgc.hpp"
#include "runtime/export_test.hpp"
#include "runtime/inittask.hpp"
#include "runtime/malloc.hpp"
#include "runtime/mcache.hpp"
#include "runtime/mheap.hpp"
#include "runtime/netpoll.hpp"
#include "runtime/os_linux.hpp"
#include "runtime/panic.hpp"
#include "runtime/preempt.hpp"
#include "runtime/proflabel.hpp"
#include "runtime/print.hpp"
#include "runtime/runtime1.hpp"
#include "runtime/runtime2.hpp"
#include "runtime/sanitizer.hpp"
#include "runtime/signal_unix.hpp"
#include "runtime/sigqueue.hpp"
#include "runtime/stack.hpp"
#include "runtime/stubs.hpp"
#include "runtime/trace.hpp"
#include "runtime/traceback.hpp"

// Only asm (getg/setg in sys_<arch>.hpp) names it: `used` keeps link-time
// optimisation from dropping it.
__attribute__((used, tls_model("initial-exec"))) thread_local gort::internal::g* gort_tls_g = nullptr;

#ifdef GORT_GDB_SCRIPT_PATH
// gdb's auto-load entry for the goroutine extension (runtime-gdb.py,
// installed there by CMakeLists.txt): an entry byte 1 (a Python script file)
// and the path. proc.cpp is in every program that links gort, so every one
// carries it; "MS" merges the copies of the string.
asm(".pushsection .debug_gdb_scripts, \"MS\", @progbits, 1\n"
    ".byte 1\n"
    ".asciz \"" GORT_GDB_SCRIPT_PATH "\"\n"
    ".popsection\n");
#endif

namespace __cxxabiv1 {
struct __cxa_eh_globals;
extern "C" __cxa_eh_globals* __cxa_get_globals() noexcept;
}  // namespace __cxxabiv1

namespace gort::internal {

static_assert(offsetof(g, sched) == 0, "g.sched must be first");
static_assert(sizeof(EhGlobals) == 16, "libstdc++ __cxa_eh_globals layout");

schedt sched;
p** allp = nullptr;
std::atomic<int32_t> gomaxprocs{0};
int32_t ncpu = 1;
m m0;
g g0_m0;
int32_t newprocs = 0;  // pending GOMAXPROCS (sched.lock)

namespace {

std::atomic<bool> started{false};
mutex startLock{LockRank::start};
bool mainMode = false;           // gort::Main owns the process (deadlock checks on)
std::atomic<bool> mainStarted{false};
std::vector<p**>* retiredAllp = new std::vector<p**>();  // sched.lock; for late readers (never destroyed)

std::atomic<g*> allgs{nullptr};  // every g ever allocated (append only)
std::atomic<m*> allm{nullptr};
// Live user goroutines: this plus every P's ngoroutines. Counting per P
// keeps `go` and exit free of shared writes.
std::atomic<int64_t> goroutines{0};
int64_t runtimeInitTime = 0;
// cputicks as of sysmon's latest wake-up (it wakes at least every 10 ms):
// the park time recorded for goroutine dumps, which print whole minutes
// only. Reading the TSC on every park cost a tenth of a channel round trip.
std::atomic<int64_t> sysmonTicks{0};

constexpr int32_t kGoidBatch = 16;

void countGoroutine(p* pp, int64_t delta) {
  if (pp) {
    // Only the owner writes its counter: no read-modify-write needed.
    pp->ngoroutines.store(pp->ngoroutines.load(std::memory_order_relaxed) + delta, std::memory_order_relaxed);
  } else {
    goroutines.fetch_add(delta, std::memory_order_relaxed);
  }
}

std::string toStr(const char* s) { return s; }
template <class T>
std::string toStr(T v) { return std::to_string(v); }

void checkdead();
void stopm();
void startm(p* pp, bool spinning);
void wakep();
[[noreturn]] void schedule();
[[noreturn]] void mexit();

// ---- G status --------------------------------------------------------------

bool validTransition(uint32_t from, uint32_t to) {
  switch (from) {
    case Gidle: return to == Gdead || to == Grunnable || to == Grunning;  // g0 starts running
    case Grunnable: return to == Grunning || to == Gdead;
    case Grunning: return to == Gwaiting || to == Grunnable || to == Gdead || to == Gsyscall;
    case Gsyscall: return to == Grunning || to == Grunnable;
    case Gwaiting: return to == Grunnable || to == Grunning;
    case Gdead: return to == Grunnable || to == Gidle;
  }
  return false;
}

}  // namespace

void casgstatus(g* gp, uint32_t oldval, uint32_t newval) {
  if (!kChecked) {
    // Every transition is made by the G's single owner (the M that runs it,
    // or the one readier that won it), so release builds need no
    // read-modify-write; checked builds keep the CAS to catch a second owner.
    gp->atomicstatus.store(newval, std::memory_order_release);
    return;
  }
  if (!validTransition(oldval, newval)) throw_("casgstatus: bad incoming values");
  uint32_t expect = oldval;
  if (!gp->atomicstatus.compare_exchange_strong(expect, newval, std::memory_order_acq_rel)) {
    printstr("runtime: casgstatus: oldval=");
    printint(oldval);
    printstr(" newval=");
    printint(newval);
    printstr(" actual=");
    printint(expect);
    printstr("\n");
    throw_("casgstatus: bad status");
  }
}

// ---- fastrand ----------------------------------------------------------------

namespace {
thread_local uint64_t offMRand = 0x9E3779B97F4A7C15ull;
uint64_t nextRand(uint64_t& s) {
  // xorshift64*; seeded per M from the clock and its id.
  s ^= s >> 12;
  s ^= s << 25;
  s ^= s >> 27;
  return s * 0x2545F4914F6CDD1Dull;
}
}  // namespace

uint32_t fastrand() {
  g* gp = getg();
  uint64_t& s = gp ? gp->mp->fastrand : offMRand;
  return uint32_t(nextRand(s) >> 32);
}

uint32_t fastrandn(uint32_t n) { return uint32_t((uint64_t(fastrand()) * n) >> 32); }

// ---- P helpers ----------------------------------------------------------------

namespace {

bool randomizeScheduler() { return debug.schedrandom != 0; }

p* currentP() {
  g* gp = getg();
  if (!gp) return nullptr;
  // Outside a RuntimeEntry sysmon may hand the P to another M at any moment.
  assertInRuntime();
  return gp->mp->pp;
}

void acquirep(p* pp) {
  m* mp = getm();
  if (mp->pp || pp->mp || pp->status.load(std::memory_order_relaxed) != Pidle) {
    throw_("acquirep: invalid p state");
  }
  mp->pp = pp;
  pp->mp = mp;
  pp->status.store(Prunning, std::memory_order_release);
  traceProcStart(pp);
}

p* releasep() {
  m* mp = getm();
  p* pp = mp->pp;
  if (!pp || pp->mp != mp || pp->status.load(std::memory_order_relaxed) != Prunning) {
    throw_("releasep: invalid p state");
  }
  traceProcStop(pp);
  mp->pp = nullptr;
  pp->mp = nullptr;
  pp->status.store(Pidle, std::memory_order_release);
  return pp;
}

void pidleput(p* pp) {
  assertLockHeld(&sched.lock, "pidleput");
  pp->link = sched.pidle;
  sched.pidle = pp;
  sched.npidle.fetch_add(1, std::memory_order_relaxed);
}

p* pidleget() {
  p* pp = sched.pidle;
  if (pp) {
    sched.pidle = pp->link;
    pp->link = nullptr;
    sched.npidle.fetch_sub(1, std::memory_order_relaxed);
  }
  return pp;
}

void mput(m* mp) {
  assertLockHeld(&sched.lock, "mput");
  mp->schedlink = sched.midle;
  sched.midle = mp;
  sched.nmidle++;
  checkdead();
}

m* mget() {
  m* mp = sched.midle;
  if (mp) {
    sched.midle = mp->schedlink;
    sched.nmidle--;
  }
  return mp;
}

// ---- run queues ----------------------------------------------------------------

// ---- inboxes (Gs readied for another P by a poller) ----

void inboxPush(p* pp, g* gp) {
  g* head = pp->inbox.load(std::memory_order_relaxed);
  do gp->schedlink = head;
  while (!pp->inbox.compare_exchange_weak(head, gp, std::memory_order_seq_cst, std::memory_order_relaxed));
}

// Takes pp's whole inbox, oldest first: one pass reverses the stack into
// the list (its newest G, the stack's top, becomes the tail).
gList inboxTake(p* pp) {
  gList list;
  if (!pp->inbox.load(std::memory_order_relaxed)) return list;
  g* gp = pp->inbox.exchange(nullptr, std::memory_order_acq_rel);
  list.tail = gp;
  while (gp) {
    g* next = gp->schedlink;
    gp->schedlink = list.head;
    list.head = gp;
    list.n++;
    gp = next;
  }
  return list;
}

void globrunqput(g* gp);

// Moves pp's inbox to the global queue (a P that is not running may never
// look at it). Called with sched.lock held.
void inboxToGlobal(p* pp) {
  assertLockHeld(&sched.lock, "inboxToGlobal");
  gList homed = inboxTake(pp);
  while (g* gp = homed.pop()) globrunqput(gp);
}

}  // namespace

bool runqempty(p* pp) {
  if (pp->inbox.load(std::memory_order_seq_cst)) return false;
  // A consistent snapshot: runnext can move into the queue between loads.
  for (;;) {
    uint32_t head = pp->runqhead.load(std::memory_order_acquire);
    uint32_t tail = pp->runqtail.load(std::memory_order_acquire);
    g* next = pp->runnext.load(std::memory_order_acquire);
    if (tail == pp->runqtail.load(std::memory_order_acquire)) return head == tail && next == nullptr;
  }
}

void gRing::pushN(g* const* gs, uint32_t n) {
  uint32_t sz = size.load(std::memory_order_relaxed);
  if (sz + n > cap) {
    uint32_t ncap = cap ? cap : 256;
    while (ncap < sz + n) ncap *= 2;
    g** nbuf = new g*[ncap];
    for (uint32_t i = 0; i < sz; i++) nbuf[i] = buf[(head + i) % cap];
    delete[] buf;
    buf = nbuf;
    cap = ncap;
    head = 0;
  }
  for (uint32_t i = 0; i < n; i++) buf[(head + sz + i) % cap] = gs[i];
  size.store(sz + n, std::memory_order_relaxed);
}

void gRing::push(g* gp) { pushN(&gp, 1); }

uint32_t gRing::popN(g** out, uint32_t n) {
  uint32_t sz = size.load(std::memory_order_relaxed);
  if (n > sz) n = sz;
  for (uint32_t i = 0; i < n; i++) out[i] = buf[(head + i) % cap];
  if (n) head = (head + n) % cap;
  size.store(sz - n, std::memory_order_relaxed);
  return n;
}

g* gRing::pop() {
  g* gp = nullptr;
  popN(&gp, 1);
  return gp;
}

namespace {

void globrunqputbatch(g* const* gs, uint32_t n) {
  assertLockHeld(&sched.lock, "globrunqputbatch");
  sched.runq.pushN(gs, n);
  sched.runqsize.fetch_add(int32_t(n), std::memory_order_relaxed);
}

void globrunqput(g* gp) { globrunqputbatch(&gp, 1); }

// Moves half the local queue plus gp to the global queue (queue full).
bool runqputslow(p* pp, g* gp, uint32_t head, uint32_t tail) {
  g* batch[kRunqSize / 2 + 1];
  uint32_t n = (tail - head) / 2;
  if (n != kRunqSize / 2) throw_("runqputslow: queue is not full");
  for (uint32_t i = 0; i < n; i++) {
    batch[i] = pp->runq[(head + i) % kRunqSize].load(std::memory_order_relaxed);
  }
  if (!pp->runqhead.compare_exchange_strong(head, head + n, std::memory_order_release)) {
    return false;
  }
  batch[n] = gp;
  if (randomizeScheduler()) {
    for (uint32_t i = 1; i <= n; i++) std::swap(batch[i], batch[fastrandn(i + 1)]);
  }
  lockGuard guard(&sched.lock);
  globrunqputbatch(batch, n + 1);
  return true;
}

// Besides its owner, only a thief on another P (runqgrab) writes a P's
// runnext. With one P there is none, so the owner may swap runnext with
// plain loads and stores instead of read-modify-writes (two locked
// instructions per channel hand-off). GOMAXPROCS changes only with the
// world stopped, when no owner is between such a load and store.
bool runnextUnshared() { return gomaxprocs.load(std::memory_order_relaxed) == 1; }

// Owner only: replaces runnext with gp and returns the old one.
g* runnextSwap(p* pp, g* gp) {
  if (runnextUnshared()) {
    g* old = pp->runnext.load(std::memory_order_relaxed);
    pp->runnext.store(gp, std::memory_order_release);
    return old;
  }
  return pp->runnext.exchange(gp, std::memory_order_acq_rel);
}

// Owner only: takes runnext if it still holds next.
bool runnextTake(p* pp, g* next) {
  if (runnextUnshared()) {
    pp->runnext.store(nullptr, std::memory_order_relaxed);
    return true;
  }
  return pp->runnext.compare_exchange_strong(next, nullptr, std::memory_order_acq_rel);
}

// Owner only. next: put gp in runnext (kicking the old runnext to the tail).
void runqput(p* pp, g* gp, bool next) {
  assertOwnsP(pp, "runqput");
  if (randomizeScheduler() && next && fastrandn(2) == 0) next = false;
  if (next) {
    g* old = runnextSwap(pp, gp);
    if (!old) return;
    gp = old;
  }
  for (;;) {
    uint32_t head = pp->runqhead.load(std::memory_order_acquire);
    uint32_t tail = pp->runqtail.load(std::memory_order_relaxed);
    if (tail - head < kRunqSize) {
      pp->runq[tail % kRunqSize].store(gp, std::memory_order_relaxed);
      pp->runqtail.store(tail + 1, std::memory_order_release);
      return;
    }
    if (runqputslow(pp, gp, head, tail)) return;
  }
}

// Owner only. inheritTime: gp came from runnext and keeps the time slice.
// runqget without the inbox (procresize, which holds sched.lock that an
// overflowing runqput would take).
g* runqgetQueued(p* pp, bool* inheritTime) {
  assertOwnsP(pp, "runqget");
  g* next = pp->runnext.load(std::memory_order_relaxed);
  if (next && runnextTake(pp, next)) {
    *inheritTime = true;
    return next;
  }
  for (;;) {
    uint32_t head = pp->runqhead.load(std::memory_order_acquire);
    uint32_t tail = pp->runqtail.load(std::memory_order_relaxed);
    if (tail == head) return nullptr;
    g* gp = pp->runq[head % kRunqSize].load(std::memory_order_relaxed);
    if (pp->runqhead.compare_exchange_weak(head, head + 1, std::memory_order_release)) {
      *inheritTime = false;
      return gp;
    }
  }
}

g* runqget(p* pp, bool* inheritTime) {
  if (pp->inbox.load(std::memory_order_relaxed)) {
    gList list = inboxTake(pp);
    while (g* gp = list.pop()) runqput(pp, gp, false);
  }
  return runqgetQueued(pp, inheritTime);
}

// Takes half of pp's queue into batch (a ring of kRunqSize starting at
// batchHead). Any thread may call it.
uint32_t runqgrab(p* pp, std::atomic<g*>* batch, uint32_t batchHead, bool stealRunNextG) {
  for (;;) {
    uint32_t head = pp->runqhead.load(std::memory_order_acquire);
    uint32_t tail = pp->runqtail.load(std::memory_order_acquire);
    uint32_t n = tail - head;
    n = n - n / 2;
    if (n == 0) {
      if (stealRunNextG) {
        g* next = pp->runnext.load(std::memory_order_acquire);
        if (next) {
          // The owner is likely about to run it (it just readied it and is
          // parking); give it a moment, or the pair bounces between Ps.
          if (pp->status.load(std::memory_order_relaxed) == Prunning) usleep(3);
          if (!pp->runnext.compare_exchange_strong(next, nullptr, std::memory_order_acq_rel)) {
            continue;
          }
          batch[batchHead % kRunqSize].store(next, std::memory_order_relaxed);
          return 1;
        }
      }
      return 0;
    }
    if (n > kRunqSize / 2) continue;  // inconsistent head/tail read
    for (uint32_t i = 0; i < n; i++) {
      g* gp = pp->runq[(head + i) % kRunqSize].load(std::memory_order_relaxed);
      batch[(batchHead + i) % kRunqSize].store(gp, std::memory_order_relaxed);
    }
    if (pp->runqhead.compare_exchange_strong(head, head + n, std::memory_order_release)) return n;
  }
}

// Steals half of p2's queue into pp's and returns one G to run.
g* runqsteal(p* pp, p* p2, bool stealRunNextG) {
  uint32_t tail = pp->runqtail.load(std::memory_order_relaxed);
  uint32_t n = runqgrab(p2, pp->runq, tail, stealRunNextG);
  if (n == 0) return nullptr;
  n--;
  g* gp = pp->runq[(tail + n) % kRunqSize].load(std::memory_order_relaxed);
  if (n == 0) return gp;
  uint32_t head = pp->runqhead.load(std::memory_order_acquire);
  if (tail - head + n >= kRunqSize) throw_("runqsteal: runq overflow");
  pp->runqtail.store(tail + n, std::memory_order_release);
  return gp;
}

// Called with sched.lock held. Takes a batch from the global queue into pp's
// local queue and returns one G. max == 0: no limit beyond fairness.
g* globrunqget(p* pp, int32_t max) {
  assertLockHeld(&sched.lock, "globrunqget");
  int32_t size = sched.runqsize.load(std::memory_order_relaxed);
  if (size == 0) return nullptr;
  int32_t procs = gomaxprocs.load(std::memory_order_relaxed);
  int32_t n = size / procs + 1;
  if (n > size) n = size;
  if (max > 0 && n > max) n = max;
  if (n > int32_t(kRunqSize / 2)) n = kRunqSize / 2;
  sched.runqsize.fetch_sub(n, std::memory_order_relaxed);
  g* batch[kRunqSize / 2];
  sched.runq.popN(batch, uint32_t(n));
  for (int32_t i = 1; i < n; i++) runqput(pp, batch[i], false);
  return batch[0];
}

// ---- G allocation ----------------------------------------------------------------

// gs are never freed (allgs keeps them for dumps and reuse), so they come
// from a bump allocator over large mappings: consecutive gs are adjacent,
// which the run queues' list walks and the hardware prefetcher like, and a
// burst of `go` statements costs no malloc. Each P carves a batch at a time.
constexpr size_t kGSlabBytes = 64 << 20;
constexpr int32_t kGBatch = 64;
mutex gSlabLock{LockRank::gSlab};
uintptr_t gSlabNext = 0, gSlabEnd = 0;  // gSlabLock

void refillGBatch(uintptr_t* next, uintptr_t* end) {
  lockGuard guard(&gSlabLock);
  size_t want = sizeof(g) * kGBatch;
  if (gSlabEnd - gSlabNext < want) {
    void* mem = mmap(nullptr, kGSlabBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) throw_("runtime: out of memory allocating goroutines");
    san::registerRootRegion(mem, kGSlabBytes);
    gSlabNext = reinterpret_cast<uintptr_t>(mem);
    gSlabEnd = gSlabNext + kGSlabBytes;
  }
  *next = gSlabNext;
  *end = gSlabNext + want;
  gSlabNext += want;
}

g* malg(p* pp) {
  uintptr_t localNext, localEnd;
  uintptr_t* next = pp ? &pp->gSlabNext : &localNext;
  uintptr_t* end = pp ? &pp->gSlabEnd : &localEnd;
  if (!pp || *next == *end) refillGBatch(next, end);
  g* gp = ::new (reinterpret_cast<void*>(*next)) g();
  *next += sizeof(g);
  g* head = allgs.load(std::memory_order_relaxed);
  do {
    gp->alllink = head;
  } while (!allgs.compare_exchange_weak(head, gp, std::memory_order_release));
  return gp;
}

void gfput(p* pp, g* gp) {
  if (!pp) {
    lockGuard guard(&sched.gFreeLock);
    sched.gFree.push(gp);
    return;
  }
  if (pp->gFreeCount == kGFreeLocalMax) {
    // Keep the most recently freed half (warm in this CPU's cache).
    constexpr int32_t half = kGFreeLocalMax / 2;
    lockGuard guard(&sched.gFreeLock);
    sched.gFree.pushN(pp->gFree, half);
    std::copy(pp->gFree + half, pp->gFree + kGFreeLocalMax, pp->gFree);
    pp->gFreeCount = half;
  }
  pp->gFree[pp->gFreeCount++] = gp;
}

g* gfget(p* pp) {
  if (!pp) {
    lockGuard guard(&sched.gFreeLock);
    return sched.gFree.pop();
  }
  if (pp->gFreeCount == 0) {
    if (sched.gFree.size.load(std::memory_order_relaxed) == 0) return nullptr;
    lockGuard guard(&sched.gFreeLock);
    pp->gFreeCount = int32_t(sched.gFree.popN(pp->gFree, kGFreeLocalMax / 2));
    if (pp->gFreeCount == 0) return nullptr;
  }
  return pp->gFree[--pp->gFreeCount];
}

int64_t newGoid(p* pp) {
  if (!pp) return int64_t(sched.goidgen.fetch_add(1, std::memory_order_relaxed) + 1);
  if (pp->goidcache == pp->goidcacheEnd) {
    pp->goidcache = sched.goidgen.fetch_add(kGoidBatch, std::memory_order_relaxed) + 1;
    pp->goidcacheEnd = pp->goidcache + kGoidBatch;
  }
  return int64_t(pp->goidcache++);
}


}  // namespace

// ---- newproc ---------------------------------------------------------------------

namespace {
// Queues gp from a thread that holds no P (gort::Run's caller, the signal
// thread, timers fired off-P). wakep is not enough here: a spinning M may be
// about to give up after its last look at the global queue, and wakep would
// trust it. Starting an idle P's M directly cannot be missed (Go's
// injectglist does the same).
void readyWithoutP(g* gp) {
  {
    lockGuard guard(&sched.lock);
    globrunqput(gp);
  }
  if (sched.npidle.load(std::memory_order_acquire) != 0) startm(nullptr, false);
}
}  // namespace

NewProc newprocStart(size_t size, size_t align) {
  ensureStarted();
  RuntimeEntry entry;
  p* pp = currentP();
  g* gp = gfget(pp);
  if (!gp) {
    gp = malg(pp);
    casgstatus(gp, Gidle, Gdead);
  }
  // Under TSan closures always live on the heap: TSan forgets a freed
  // block's history, but not that of a recycled g.
  if (!san::kTSan && size <= kClosureInline && align <= alignof(std::max_align_t)) {
    gp->closure = gp->inlineClosure;
  } else {
    gp->closureAlign = std::max(align, alignof(std::max_align_t));
    gp->closure = ::operator new(size, std::align_val_t(gp->closureAlign));
  }
  gp->closureSize = size;
  return NewProc{gp, gp->closure};
}

namespace {
void freeClosure(g* gp) {
  if (gp->closure && gp->closure != gp->inlineClosure) {
    ::operator delete(gp->closure, std::align_val_t(gp->closureAlign));
  }
  gp->closure = nullptr;
}
}  // namespace

void newprocAbort(g* gp) {
  RuntimeEntry entry;
  freeClosure(gp);
  gfput(currentP(), gp);
}

void newprocCommit(g* gp, GoEntry entry) {
  // gort::go is inlined into its caller, so our own return address is the
  // `go` statement's pc.
  void* callerpc = __builtin_return_address(0);
  RuntimeEntry runtimeEntry;
  g* parent = getg();
  p* pp = currentP();
  gp->entry = entry;
  gp->goid = newGoid(pp);
  gp->parentGoid = parent && parent->mp->curg ? parent->mp->curg->goid : 0;
  gp->gopc = reinterpret_cast<uintptr_t>(callerpc);
  gp->labels = labelsRetain(parent && parent->mp->curg ? parent->mp->curg->labels : nullptr);
  if (debug.tracebackancestors > 0 || gp->ancestors) saveAncestors(gp, parent && parent->mp ? parent->mp->curg : nullptr);
  gp->waitreason = waitReason::zero;
  gp->preempt = false;
  countGoroutine(pp, +1);
  san::release(gp);  // the go statement happens before the goroutine starts
  traceGoCreate(gp);
  casgstatus(gp, Gdead, Grunnable);
  if (!pp) {
    readyWithoutP(gp);
    return;
  }
  runqput(pp, gp, true);
  if (mainStarted.load(std::memory_order_relaxed)) wakep();
  checkPreempt();
}

// ---- switching ------------------------------------------------------------------

namespace {


// A goroutine gets its stack (and its TSan fiber) when it first runs.
void prepareFirstRun(m* mp, g* gp) {
  if (gp->slot) return;
  gp->slot = stackalloc(mp->pp);
  gp->stk.lo = gp->slot->lo;
  gp->stk.hi = gp->slot->hi;
  gostartInit(gp);
  // TSan fibers are created at first run: TSan caps live ones near 8K (as
  // Go's race detector caps live goroutines), and queued goroutines that
  // have not started should not count.
  if (san::kTSan) gp->sanFiber = san::createFiber();
}

// Switches from this M's g0 to gp and back; returns on g0 when gp (or a G
// it handed the M to, see goparkHandoff) calls mcall, which saves that G's
// exception state. Runs on g0.
void gogo(m* mp, g* gp) {
  assertOnG0("gogo");
  prepareFirstRun(mp, gp);
  *mp->ehGlobals = gp->eh;
  setg(gp);
  san::switchToFiber(gp->sanFiber);
  san::startSwitch(&mp->asanFakeStack, reinterpret_cast<void*>(gp->stk.lo), gp->stk.hi - gp->stk.lo);
  gort_swapcontext(&mp->g0->sched, &gp->sched);
  san::finishSwitch(mp->asanFakeStack);
  setg(mp->g0);
}

// Starts fetching the top of a parked G's stack, where swapcontext pops its
// registers and the frames it returns through begin: with thousands of
// goroutines (a server's connections) each resumes on a stack that left
// the caches since it parked, and those misses were ~29% of the process's
// user time in echo with 1000 connections.
void prefetchStackTop(g* gp) {
  // Relaxed atomic: a queued G may be stolen and switched out meanwhile.
  uintptr_t sp = std::atomic_ref<uintptr_t>(gp->sched.sp).load(std::memory_order_relaxed);
  if (sp == 0) return;  // never ran, no stack yet
  for (int line = 0; line < 4; line++) __builtin_prefetch(reinterpret_cast<const char*>(sp) + 64 * line);
}

// Two places prefetch, each measured to help on its own and more together
// (echo, 1000 connections, GOMAXPROCS=1: wall -5% and -2%): injectglist,
// which touches each G the poller readies anyway, so the stack's fetch
// starts as the batch arrives; and here, when the M switches to a G, for
// the next queued one, whose g line the previous call fetched (the G after
// next), so that the load of its saved sp does not wait for memory.
void prefetchQueued(p* pp) {
  uint32_t head = pp->runqhead.load(std::memory_order_relaxed);
  uint32_t queued = pp->runqtail.load(std::memory_order_relaxed) - head;
  if (queued == 0 || queued > kRunqSize) return;
  prefetchStackTop(pp->runq[head % kRunqSize].load(std::memory_order_relaxed));
  if (queued > 1) __builtin_prefetch(pp->runq[(head + 1) % kRunqSize].load(std::memory_order_relaxed));
}

// Runs gp on the current M. Runs on g0; returns when gp switches back.
void execute(m* mp, g* gp, bool inheritTime) {
  assertOnG0("execute");
  prefetchQueued(mp->pp);
  mp->curg = gp;
  gp->mp = mp;
  casgstatus(gp, Grunnable, Grunning);
  traceGoStart(gp);
  gp->waitsince = 0;
  gp->preempt = false;
  if (!inheritTime) mp->pp->schedtick++;
  checkThreadCPUProfiler(mp);
  gogo(mp, gp);
}

}  // namespace

namespace {
g* goexit0(g* gp, m* mp);

// ---- direct hand-off (goparkHandoff) ---------------------------------------------------
//
// A G that parks right after readying a partner (a channel exchange: the
// partner went to runnext) would switch to g0, whose schedule() would take
// the partner from runnext and switch to it. goparkHandoff does the same in
// one switch: the parking G takes runnext itself and switches straight to
// it, and the partner, first thing after it resumes (resumed()), finishes
// the park exactly as park_m would have on g0: the parking G's context is
// saved by then, so its unlock function may let others ready it. A
// goroutine parking in the poller, with runnext empty, takes the head of
// the local queue the same way: the next goroutine the poller readied
// (echo -3..5%; for channel parks it measured 5% slower on selectfan, so
// they keep to runnext). An unlock function that refuses the park (the
// poller's, when the I/O became ready first) makes the parked G runnable
// again, next.
//
// It only takes the shortcut when schedule() would have picked the same G
// with nothing else to do first: no lock to the M, no stop-the-world
// pending, no timer due, no global-queue fairness check due at this tick
// (a partner from runnext inherits the time slice, one from the queue
// starts a new one, so schedtick and the 61-tick check behave as before),
// and the partner not locked to an M. GODEBUG=migrateonpark keeps every
// park on the g0 path it tests.

// Finishes the park of prev, which handed this M to the current G.
void finishHandoff(m* mp, g* prev) {
  mp->handoffFrom = nullptr;
  casgstatus(prev, Grunning, Gwaiting);
  prev->waitsince = sysmonTicks.load(std::memory_order_relaxed);
  prev->mp = nullptr;
  auto unlockf = mp->waitunlockf;
  void* lockp = mp->waitlock;
  mp->waitunlockf = nullptr;
  mp->waitlock = nullptr;
  // Refused (the poller's commit found the I/O ready first): prev is
  // runnable again and runs next, as park_m would have resumed it at once.
  if (unlockf && !unlockf(prev, lockp)) goready(prev);
}

// The first thing a G does when it resumes after a switch. It resumes at
// its own runtime-entry depth (0 when it starts), whatever the depth of the
// code that switched to it: finishing a hand-off runs at the switcher's.
void resumed(g* gp, void* fake, uint32_t depth) {
  san::finishSwitch(fake);
  if (g* prev = gp->mp->handoffFrom) finishHandoff(gp->mp, prev);
  san::acquire(gp);  // whoever made us runnable happens before we continue
  gp->mp->inRuntime.store(depth, std::memory_order_release);
}

// The G schedule() would run next if the current G parked now, taken from
// runnext or (queueHead) the local queue's head; null if schedule() has
// other work to do first.
g* handoffTarget(m* mp, bool queueHead, bool* inheritTime) {
  if (mp->lockedg || debug.migrateonpark || sched.gcwaiting.load(std::memory_order_acquire)) return nullptr;
  p* pp = mp->pp;
  if (pp->schedtick % 61 == 0 && sched.runqsize.load(std::memory_order_relaxed) > 0) return nullptr;
  if (pp->inbox.load(std::memory_order_relaxed)) return nullptr;  // runqget queues them first
  int64_t when = pp->timers.minWhen.load(std::memory_order_acquire);
  if (when != 0 && when <= nanotime()) return nullptr;
  g* next = pp->runnext.load(std::memory_order_relaxed);
  if (next) {
    if (next->lockedm) return nullptr;
    *inheritTime = true;
    // A thief may take it meanwhile; then schedule() decides.
    return runnextTake(pp, next) ? next : nullptr;
  }
  if (!queueHead) return nullptr;
  // The head of the local queue, as runqget would take it.
  uint32_t head = pp->runqhead.load(std::memory_order_acquire);
  if (head == pp->runqtail.load(std::memory_order_relaxed)) return nullptr;
  next = pp->runq[head % kRunqSize].load(std::memory_order_relaxed);
  if (next->lockedm) return nullptr;
  if (!pp->runqhead.compare_exchange_strong(head, head + 1, std::memory_order_release)) return nullptr;
  *inheritTime = false;
  return next;
}

// execute(next, inheritTime) without the trip through g0: gp is saved here
// and resumes, later, wherever this returns.
void switchParked(g* gp, m* mp, g* next, bool inheritTime) {
  uint32_t depth = mp->inRuntime.load(std::memory_order_relaxed);
  prefetchQueued(mp->pp);
  if (!inheritTime) mp->pp->schedtick++;
  prepareFirstRun(mp, next);
  mp->handoffFrom = gp;
  mp->curg = next;
  next->mp = mp;
  casgstatus(next, Grunnable, Grunning);
  traceGoStart(next);
  next->waitsince = 0;
  next->preempt = false;
  EhGlobals* eh = mp->ehGlobals;
  gp->eh = *eh;
  *eh = next->eh;
  setg(next);
  san::switchToFiber(next->sanFiber);
  void* fake = nullptr;
  san::startSwitch(&fake, reinterpret_cast<void*>(next->stk.lo), next->stk.hi - next->stk.lo);
  gort_swapcontext(&gp->sched, &next->sched);
  resumed(gp, fake, depth);
}
}  // namespace

// Switches the current G to g0 and runs fn(gp, mp) there. Returns when the G
// is resumed (possibly on another M).
void mcall(g* (*fn)(g*, m*)) {
  // Callers are inside an entry (they set up M state for fn first), so g0
  // never runs at depth 0.
  assertInRuntime();
  g* gp = getg();
  m* mp = gp->mp;
  if (gp == mp->g0) throw_("mcall called on g0");
  if (mp->locks) throw_("mcall with runtime locks held");
  // The G resumes at its own depth, whatever the M that resumes it was at.
  uint32_t depth = mp->inRuntime.load(std::memory_order_relaxed);
  mp->mcallfn = fn;
  san::switchToFiber(mp->tsanFiber);
  void* fake = nullptr;
  // An exiting G never comes back: ASan may drop its fake stack.
  san::startSwitch(fn == goexit0 ? nullptr : &fake, reinterpret_cast<void*>(mp->g0StackLo),
                   mp->g0StackHi - mp->g0StackLo);
  EhGlobals* eh = mp->ehGlobals;
  gp->eh = *eh;
  *eh = EhGlobals{};
  gort_swapcontext(&gp->sched, &mp->g0->sched);
  resumed(gp, fake, depth);
}

void systemstack(void (*fn)(void*), void* arg) {
  g* gp = getg();
  if (!gp || gp == gp->mp->g0) {
    fn(arg);
    return;
  }
  // g0 is suspended in gogo while gp runs; the space below its saved sp is
  // free (beyond amd64's 128-byte red zone; arm64 has none).
  gort_systemstack_on(fn, arg, gp->mp->g0->sched.sp - 256);
}

namespace {

// Go's dropg: gp and its M part (gp keeps running nowhere until it is
// scheduled again).
void dropg(g* gp, m* mp) {
  mp->curg = nullptr;
  gp->mp = nullptr;
}

g* park_m(g* gp, m* mp) {
  casgstatus(gp, Grunning, Gwaiting);
  gp->waitsince = sysmonTicks.load(std::memory_order_relaxed);
  dropg(gp, mp);
  auto unlockf = mp->waitunlockf;
  void* lockp = mp->waitlock;
  mp->waitunlockf = nullptr;
  mp->waitlock = nullptr;
  if (unlockf && !unlockf(gp, lockp)) {
    traceGoUnpark(gp);
    casgstatus(gp, Gwaiting, Grunnable);
    return gp;
  }
  return nullptr;
}

g* gosched_m(g* gp, m* mp) {
  casgstatus(gp, Grunning, Grunnable);
  dropg(gp, mp);
  lockGuard guard(&sched.lock);
  globrunqput(gp);
  return nullptr;
}

g* gopreempt_m(g* gp, m* mp) {
  gp->preempt = false;
  return gosched_m(gp, mp);
}

g* goexit0(g* gp, m* mp) {
  traceGoEnd();
  casgstatus(gp, Grunning, Gdead);
  countGoroutine(mp->pp, -1);
  dropg(gp, mp);
  labelsRelease(std::exchange(gp->labels, nullptr));
  gp->entry = nullptr;
  gp->waitreason = waitReason::zero;
  gp->eh = EhGlobals{};
  gp->param = nullptr;
  if (san::kTSan && gp->sanFiber) {
    san::destroyFiber(gp->sanFiber);
    gp->sanFiber = nullptr;
  }
  stackfree(mp->pp, gp->slot);
  gp->slot = nullptr;
  gp->stk = stack{};
  bool locked = gp->lockedm != nullptr;
  gp->lockedm = nullptr;
  gfput(mp->pp, gp);
  if (locked) {
    // Exiting while locked: the thread may hold state set for this goroutine
    // alone, so it goes with it (Go: "the thread will be terminated").
    mp->lockedg = nullptr;
    mp->lockedExt = mp->lockedInt = 0;
    mexit();
  }
  return nullptr;
}

}  // namespace

// The entry of every goroutine, on its own stack (from gort_gostart).
extern "C" [[noreturn]] void gort_goroutine_main(g* gp) {
  // The goroutine's own code runs outside the runtime (depth 0): from here
  // sysmon may hand off the P if the code blocks in the kernel.
  resumed(gp, nullptr, 0);
  // No catch-all: an escaping exception finds no handler and terminates at
  // the throw point with its frames intact (panic.cpp prints them).
  try {
    gp->entry(gp->closure);
  } catch (const GoexitUnwind&) {
  }
  enterRuntime();  // never left: goexit0 does not return to this G
  freeClosure(gp);
  mcall(goexit0);
  throw_("goexit0 returned");
}

void gopark(bool (*unlockf)(g*, void*), void* lock, waitReason reason) {
  assertInRuntime();
  g* gp = getg();
  // Entry points that may wait from a thread outside the scheduler go
  // through waitOnGoroutine; one that does not is a runtime bug.
  if (!gp) throw_("gopark called outside a goroutine");
  m* mp = gp->mp;
  if (gp->atomicstatus.load(std::memory_order_relaxed) != Grunning) throw_("gopark: bad g status");
  mp->waitlock = lock;
  mp->waitunlockf = unlockf;
  gp->waitreason = reason;
  traceGoPark(reason);
  mcall(park_m);
}

void goparkHandoff(bool (*unlockf)(g*, void*), void* lock, waitReason reason, bool queueHead) {
  assertInRuntime();
  g* gp = getg();
  m* mp = gp->mp;
  bool inheritTime = false;
  g* next = handoffTarget(mp, queueHead, &inheritTime);
  if (!next) {
    gopark(unlockf, lock, reason);
    return;
  }
  if (gp->atomicstatus.load(std::memory_order_relaxed) != Grunning) throw_("gopark: bad g status");
  if (mp->locks) throw_("gopark with runtime locks held");
  mp->waitlock = lock;
  mp->waitunlockf = unlockf;
  gp->waitreason = reason;
  traceGoPark(reason);
  switchParked(gp, mp, next, inheritTime);
}

namespace {
bool parkunlock_c(g*, void* l) {
  // goparkunlock took the lock out of m.locks so mcall would run; unlock()
  // takes it out again, so count it back in first.
  getm()->locks++;
  unlock(static_cast<mutex*>(l));
  return true;
}
}  // namespace

void goparkunlock(mutex* l, waitReason reason) {
  // The lock is held across the switch and released on g0: the M's lock
  // count must not block mcall.
  getm()->locks--;
  gopark(parkunlock_c, l, reason);
}

void gopreempt() {
  RuntimeEntry entry;
  traceGoPreempt();
  mcall(gopreempt_m);
}

void goready(g* gp) {
  assertInRuntime();
  san::release(gp);
  traceGoUnpark(gp);
  casgstatus(gp, Gwaiting, Grunnable);
  p* pp = currentP();
  if (!pp) {
    readyWithoutP(gp);
    return;
  }
  runqput(pp, gp, true);
  wakep();
}

// ---- M lifecycle ------------------------------------------------------------------

namespace {

// Called with sched.lock held: too many threads is fatal, as in Go.
void checkmcount() {
  assertLockHeld(&sched.lock, "checkmcount");
  if (sched.mnext - sched.nmfreed > sched.maxmcount) {
    printstr("runtime: program exceeds ");
    printint(sched.maxmcount);
    printstr("-thread limit\n");
    throw_("thread exhaustion");
  }
}

void minit(m* mp) {
  mp->tid = gettid();
  mp->fastrand = uint64_t(nanotime()) ^ (uint64_t(mp->id + 1) * 0x9E3779B97F4A7C15ull) ^ 1;
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    void* addr;
    size_t size;
    pthread_attr_getstack(&attr, &addr, &size);
    mp->g0StackLo = reinterpret_cast<uintptr_t>(addr);
    mp->g0StackHi = mp->g0StackLo + size;
    pthread_attr_destroy(&attr);
  }
  mp->g0->stk = stack{mp->g0StackLo, mp->g0StackHi};
  mp->tsanFiber = san::currentFiber();
  // libstdc++'s per-thread exception globals never move: look them up once.
  mp->ehGlobals = reinterpret_cast<EhGlobals*>(__cxxabiv1::__cxa_get_globals());
  openThreadStat(mp);
  minitSignals(mp);
}

void mcommoninit(m* mp, int64_t id) {
  mp->id = id;
  mp->g0->mp = mp;
  mp->g0->goid = 0;
  casgstatus(mp->g0, Gidle, Grunning);
  m* head = allm.load(std::memory_order_relaxed);
  san::release(&allm);  // the release sequence of pushes, spelled out for the race detector
  do {
    mp->alllink = head;
  } while (!allm.compare_exchange_weak(head, mp, std::memory_order_release));
}

int64_t mReserveID() {
  assertLockHeld(&sched.lock, "mReserveID");
  if (sched.mnext + 1 < sched.mnext) throw_("runtime: thread ID overflow");
  int64_t id = sched.mnext++;
  checkmcount();
  return id;
}

void* mstart(void* arg) {
  m* mp = static_cast<m*>(arg);
  setg(mp->g0);
  minit(mp);
  if (mp->nextp) {
    p* pp = mp->nextp;
    mp->nextp = nullptr;
    acquirep(pp);
  }
  schedule();
}

void newosproc(m* mp) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  size_t stacksize = san::kAny ? (16u << 20) : (4u << 20);
  pthread_attr_setstacksize(&attr, stacksize);
  // Signals stay blocked until the new M has its signal stack.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_t tid;
  int err = pthread_create(&tid, &attr, mstart, mp);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  pthread_attr_destroy(&attr);
  if (err != 0) {
    printstr("runtime: failed to create new OS thread (have ");
    printint(sched.mnext);
    printstr(" already; errno=");
    printint(err);
    printstr(")\n");
    throw_("newosproc");
  }
}

// The threadcreate profile's stack is recorded before mcommoninit
// publishes the M on allm, where the profile reads it.
[[gnu::noinline]] m* allocm(int64_t id) {
  m* mp = new m();
  mp->g0 = new g();
  mp->ncreatestack = callersPCs(2, mp->createstack, int(std::size(mp->createstack)));  // from newm's caller
  mcommoninit(mp, id);
  return mp;
}

void newm(bool spinning, p* pp, int64_t id) {
  m* mp = allocm(id);
  mp->spinning = spinning;
  mp->nextp = pp;
  newosproc(mp);
}

// Parks the M until startm hands it a P. Runs on g0.
void stopm() {
  assertOnG0("stopm");
  m* mp = getm();
  if (mp->locks) throw_("stopm holding locks");
  if (mp->pp) throw_("stopm holding p");
  if (mp->spinning) throw_("stopm spinning");
  lock(&sched.lock);
  mput(mp);
  unlock(&sched.lock);
  mp->blocked = true;
  notesleep(&mp->park);
  noteclear(&mp->park);
  mp->blocked = false;
  acquirep(mp->nextp);
  mp->nextp = nullptr;
}

// Runs pp on some M (an idle one or a new one); pp == null: any idle P.
void startm(p* pp, bool spinning) {
  lock(&sched.lock);
  if (!pp) {
    pp = pidleget();
    if (!pp) {
      unlock(&sched.lock);
      if (spinning) sched.nmspinning.fetch_sub(1, std::memory_order_relaxed);
      return;
    }
  }
  m* nmp = mget();
  if (!nmp) {
    int64_t id = mReserveID();
    unlock(&sched.lock);
    newm(spinning, pp, id);
    return;
  }
  unlock(&sched.lock);
  if (nmp->spinning) throw_("startm: m is spinning");
  if (nmp->nextp) throw_("startm: m has p");
  nmp->spinning = spinning;
  nmp->nextp = pp;
  notewakeup(&nmp->park);
}

}  // namespace

// Hands off a P from an M that is going to block or exit.
void handoffp(p* pp) {
  if (!runqempty(pp) || sched.runqsize.load(std::memory_order_relaxed) != 0) {
    startm(pp, false);
    return;
  }
  // No local work: make sure someone is looking for work.
  if (sched.nmspinning.load(std::memory_order_relaxed) + sched.npidle.load(std::memory_order_relaxed) == 0) {
    int32_t zero = 0;
    if (sched.nmspinning.compare_exchange_strong(zero, 1)) {
      startm(pp, true);
      return;
    }
  }
  lock(&sched.lock);
  if (sched.gcwaiting.load(std::memory_order_relaxed)) {
    pp->status.store(Pgcstop, std::memory_order_relaxed);
    if (--sched.stopwait == 0) notewakeup(&sched.stopnote);
    unlock(&sched.lock);
    return;
  }
  if (sched.runqsize.load(std::memory_order_relaxed) != 0) {
    unlock(&sched.lock);
    startm(pp, false);
    return;
  }
  pidleput(pp);
  unlock(&sched.lock);
  // Its timers now have no owner running them: make sure the poller wakes.
  if (int64_t when = pp->timers.minWhen.load(std::memory_order_acquire)) wakeNetPoller(when);
}

namespace {

// Starts a spinning M if there are idle Ps and nobody is spinning already.
void wakep() {
  if (sched.npidle.load(std::memory_order_relaxed) == 0) return;
  int32_t zero = 0;
  if (sched.nmspinning.load(std::memory_order_relaxed) != 0 ||
      !sched.nmspinning.compare_exchange_strong(zero, 1)) {
    return;
  }
  startm(nullptr, true);
}

void resetspinning() {
  m* mp = getm();
  mp->spinning = false;
  int32_t n = sched.nmspinning.fetch_sub(1, std::memory_order_relaxed) - 1;
  if (n < 0) throw_("findrunnable: negative nmspinning");
  // We found work as the last spinner: another may be needed for the rest.
  wakep();
}

// M exit (its goroutine died locked to it). Runs on g0.
[[noreturn]] void mexit() {
  m* mp = getm();
  if (mp->pp) handoffp(releasep());
  lock(&sched.lock);
  sched.nmfreed++;
  checkdead();
  unlock(&sched.lock);
  if (mp == &m0) {
    // The main thread cannot exit without ending the process: park it.
    for (;;) pause();
  }
  threadCPUProfilerExit(mp);
  minitSignalsExit(mp);
  closeThreadStat(mp);
  pthread_exit(nullptr);
}

// ---- locked goroutines ------------------------------------------------------------

void incidlelocked(int32_t v) {
  lock(&sched.lock);
  sched.nmidlelocked += v;
  if (v > 0) checkdead();
  unlock(&sched.lock);
}

// The M's locked G is not runnable: hand off the P and wait for the G.
void stoplockedm() {
  m* mp = getm();
  if (mp->pp) handoffp(releasep());
  incidlelocked(1);
  mp->blocked = true;
  notesleep(&mp->park);
  noteclear(&mp->park);
  mp->blocked = false;
  acquirep(mp->nextp);
  mp->nextp = nullptr;
}

// gp is locked to another M: give that M our P and wait.
void startlockedm(g* gp) {
  m* mp = gp->lockedm;
  if (mp == getm()) throw_("startlockedm: locked to me");
  if (mp->nextp) throw_("startlockedm: m has p");
  incidlelocked(-1);
  p* pp = releasep();
  mp->nextp = pp;
  notewakeup(&mp->park);
  stopm();
}

// ---- stop the world ----------------------------------------------------------------

// The M saw gcwaiting: stop its P and park until the world restarts.
void gcstopm() {
  m* mp = getm();
  if (mp->spinning) {
    mp->spinning = false;
    sched.nmspinning.fetch_sub(1, std::memory_order_relaxed);
  }
  p* pp = releasep();
  lock(&sched.lock);
  pp->status.store(Pgcstop, std::memory_order_relaxed);
  if (--sched.stopwait == 0) notewakeup(&sched.stopnote);
  unlock(&sched.lock);
  stopm();
}

void preemptall() {
  for (int32_t i = 0; i < gomaxprocs.load(std::memory_order_relaxed); i++) {
    p* pp = allp[i];
    if (pp->status.load(std::memory_order_relaxed) != Prunning) continue;
    m* mp = pp->mp;
    if (mp) preemptone(pp);
  }
}

// ---- timers and the network poller in the scheduler ---------------------------------
//
// findRunnable runs its P's due timers first, polls the network without
// blocking when goroutines wait for I/O, and runs other Ps' due timers
// before it steals. The M that gives up its P last (lastpoll != 0 means
// nobody is in netpoll) blocks in netpoll until the earliest timer of all
// Ps; wakeNetPoller breaks that sleep when an earlier timer is armed, and
// wakep covers the case where nobody sleeps in the poller yet.

// Queues each G of list whose descriptor is homed on another running P in
// that P's inbox (netpoll.cpp says why) and leaves the rest in list. A P
// seen idle after the push may never look: its inbox goes to the global
// queue (findRunnable takes the other side of this race).
void sendHome(gList* list, p* pp) {
  // Acquire: sysmon's poll may run while procresize grows allp, which is
  // stored before gomaxprocs.
  int32_t procs = gomaxprocs.load(std::memory_order_acquire);
  gList stay;
  while (g* gp = list->pop()) {
    int32_t home = gp->pollHome;
    gp->pollHome = -1;
    p* hp = home >= 0 && home < procs ? allp[home] : nullptr;
    if (!hp || hp == pp || hp->status.load(std::memory_order_acquire) != Prunning) {
      stay.push(gp);
      continue;
    }
    inboxPush(hp, gp);
    if (hp->status.load(std::memory_order_seq_cst) != Prunning) {
      lock(&sched.lock);
      inboxToGlobal(hp);
      unlock(&sched.lock);
      wakep();
    }
  }
  *list = stay;
}

// Makes the Gs of list runnable: those homed on another P in its inbox,
// some on the global queue for idle Ps (starting Ms for them), the rest on
// the current P, if any.
void injectglist(gList* list) {
  if (list->empty()) return;
  for (g* gp = list->head; gp; gp = gp->schedlink) {
    san::release(gp);
    traceGoUnpark(gp);
    casgstatus(gp, Gwaiting, Grunnable);
  }
  p* pp = currentP();
  if (gomaxprocs.load(std::memory_order_relaxed) > 1) sendHome(list, pp);
  // The stacks of the Gs that run here (not those sent home).
  for (g* gp = list->head; gp; gp = gp->schedlink) prefetchStackTop(gp);
  int32_t toGlobal = list->n;
  if (pp) {
    int32_t idle = sched.npidle.load(std::memory_order_relaxed);
    if (idle < toGlobal) toGlobal = idle;
  }
  if (toGlobal > 0) {
    lock(&sched.lock);
    for (int32_t i = 0; i < toGlobal; i++) globrunqput(list->pop());
    unlock(&sched.lock);
    for (int32_t i = 0; i < toGlobal && sched.npidle.load(std::memory_order_relaxed) > 0; i++) {
      startm(nullptr, false);
    }
  }
  while (g* gp = list->pop()) runqput(pp, gp, false);
}

// Runs the due timers of every other P (an idle P's timers have no owner
// to run them) and lowers *pollUntil to the earliest remaining deadline.
// Returns whether any ran.
bool stealTimers(p* pp, int64_t* now, int64_t* pollUntil) {
  bool ran = false;
  int32_t procs = gomaxprocs.load(std::memory_order_relaxed);
  for (int32_t i = 0; i < procs; i++) {
    p* p2 = allp[i];
    if (p2 == pp) continue;
    int64_t w = checkTimers(&p2->timers, now, &ran);
    if (w != 0 && (*pollUntil == 0 || w < *pollUntil)) *pollUntil = w;
  }
  return ran;
}

// Non-blocking poll with a P held: returns a G to run, the rest queued.
g* pollReady() {
  if (!netpollinited() || !netpollAnyWaiters() || netpollLastpoll.load(std::memory_order_relaxed) == 0) {
    return nullptr;
  }
  gList list = netpoll(0);
  g* gp = list.pop();
  if (!gp) return nullptr;
  injectglist(&list);
  san::release(gp);
  traceGoUnpark(gp);
  casgstatus(gp, Gwaiting, Grunnable);
  return gp;
}

// The M holds no P and found no work: block in netpoll until I/O, the
// earliest timer (pollUntil, 0: none) or a break, if no other M does.
// Returns false if it did not poll (the caller parks). Otherwise it
// returns with a P (true, *gpOut the G to run or null) or without one
// (true, the Gs it found queued for others).
bool pollBlocking(m* mp, int64_t pollUntil, g** gpOut) {
  *gpOut = nullptr;
  if (!netpollinited() || (!netpollAnyWaiters() && pollUntil == 0) ||
      netpollLastpoll.exchange(0, std::memory_order_seq_cst) == 0) {
    if (pollUntil != 0 && netpollinited()) {
      // Someone else polls: make sure it wakes for our deadline.
      int64_t theirs = netpollPollUntil.load(std::memory_order_relaxed);
      if (theirs == 0 || theirs > pollUntil) netpollBreak();
    }
    return false;
  }
  netpollPollUntil.store(pollUntil, std::memory_order_relaxed);
  int64_t delay = -1;
  if (pollUntil != 0) delay = std::max<int64_t>(0, pollUntil - nanotime());
  gList list = netpoll(delay);
  netpollPollUntil.store(0, std::memory_order_relaxed);
  netpollLastpoll.store(nanotime(), std::memory_order_seq_cst);
  lock(&sched.lock);
  p* pp = sched.gcwaiting.load(std::memory_order_relaxed) ? nullptr : pidleget();
  unlock(&sched.lock);
  if (!pp) {
    injectglist(&list);
    return false;
  }
  acquirep(pp);
  (void)mp;
  if (g* gp = list.pop()) {
    injectglist(&list);
    san::release(gp);
    traceGoUnpark(gp);
    casgstatus(gp, Gwaiting, Grunnable);
    *gpOut = gp;
  }
  return true;
}

}  // namespace

int32_t pollHomeOf(int cpu) {
  p* pp = currentP();
  int32_t procs = gomaxprocs.load(std::memory_order_relaxed);
  if (!pp || procs <= 1 || cpu < 0) return -1;
  if (pp->cpu.load(std::memory_order_relaxed) == cpu) return pp->id;
  // An idle P may be the home too: injectglist only sends to running ones.
  for (int32_t i = 0; i < procs; i++) {
    if (allp[i]->cpu.load(std::memory_order_relaxed) == cpu) return i;
  }
  return -1;
}

void wakeNetPoller(int64_t when) {
  if (netpollLastpoll.load(std::memory_order_seq_cst) == 0) {
    int64_t pollUntil = netpollPollUntil.load(std::memory_order_relaxed);
    if (pollUntil == 0 || pollUntil > when) netpollBreak();
  } else if (mainStarted.load(std::memory_order_relaxed) || runtimeStarted()) {
    wakep();
  }
}

namespace {

// ---- findRunnable ------------------------------------------------------------------

g* stealWork(p* pp, bool* inheritTime) {
  constexpr int kStealTries = 4;
  int32_t procs = gomaxprocs.load(std::memory_order_relaxed);
  for (int i = 0; i < kStealTries; i++) {
    bool stealRunNextG = i == kStealTries - 1;
    // Random start and a stride coprime to procs visit every P once.
    uint32_t start = fastrandn(uint32_t(procs));
    uint32_t stride = 1;
    if (procs > 2) {
      do stride = 1 + fastrandn(uint32_t(procs - 1));
      while (std::gcd(stride, uint32_t(procs)) != 1);
    }
    for (int32_t k = 0; k < procs; k++) {
      p* p2 = allp[(start + uint32_t(k) * stride) % uint32_t(procs)];
      if (p2 == pp || sched.gcwaiting.load(std::memory_order_relaxed)) continue;
      gList homed = inboxTake(p2);
      if (g* gp = homed.pop()) {
        while (g* rest = homed.pop()) runqput(pp, rest, false);
        *inheritTime = false;
        return gp;
      }
      if (p2->status.load(std::memory_order_relaxed) == Pidle) continue;
      if (g* gp = runqsteal(pp, p2, stealRunNextG)) {
        *inheritTime = false;
        return gp;
      }
    }
  }
  return nullptr;
}

// Run by an M that has given up its P and stopped spinning: if a run queue
// filled meanwhile, an idle P (not yet acquired) to go back and take it with,
// else null. Looks until the first non-empty queue only: finding no idle P
// then means every P is busy and one of them will run it.
p* checkRunqsNoP() {
  int32_t procs = gomaxprocs.load(std::memory_order_relaxed);
  for (int32_t i = 0; i < procs; i++) {
    if (runqempty(allp[i])) continue;
    lock(&sched.lock);
    p* np = pidleget();
    unlock(&sched.lock);
    return np;
  }
  return nullptr;
}

g* findRunnable(bool* inheritTime) {
  m* mp = getm();
top:
  p* pp = mp->pp;
  // For pollHomeOf: only the poller's homes read it.
  if (gomaxprocs.load(std::memory_order_relaxed) > 1 && netpollinited()) {
    pp->cpu.store(sched_getcpu(), std::memory_order_relaxed);
  }
  if (sched.gcwaiting.load(std::memory_order_acquire)) {
    gcstopm();
    goto top;
  }
  int64_t now = 0;
  bool ranTimer = false;
  int64_t pollUntil = checkTimers(&pp->timers, &now, &ranTimer);
  if (pp->schedtick % 61 == 0 && sched.runqsize.load(std::memory_order_relaxed) > 0) {
    lock(&sched.lock);
    g* gp = globrunqget(pp, 1);
    unlock(&sched.lock);
    if (gp) {
      *inheritTime = false;
      return gp;
    }
  }
  if (g* gp = runqget(pp, inheritTime)) return gp;
  if (sched.runqsize.load(std::memory_order_relaxed) != 0) {
    lock(&sched.lock);
    g* gp = globrunqget(pp, 0);
    unlock(&sched.lock);
    if (gp) {
      *inheritTime = false;
      return gp;
    }
  }
  if (g* gp = pollReady()) {
    *inheritTime = false;
    return gp;
  }
  if (stealTimers(pp, &now, &pollUntil)) {
    if (g* gp = runqget(pp, inheritTime)) return gp;
  }
  {
    int32_t procs = gomaxprocs.load(std::memory_order_relaxed);
    if (mp->spinning || 2 * sched.nmspinning.load(std::memory_order_relaxed) <
                            procs - sched.npidle.load(std::memory_order_relaxed)) {
      if (!mp->spinning) {
        mp->spinning = true;
        sched.nmspinning.fetch_add(1, std::memory_order_relaxed);
      }
      if (g* gp = stealWork(pp, inheritTime)) return gp;
    }
  }
  // Nothing found: give up the P.
  lock(&sched.lock);
  if (sched.gcwaiting.load(std::memory_order_relaxed)) {
    unlock(&sched.lock);
    goto top;
  }
  if (sched.runqsize.load(std::memory_order_relaxed) != 0) {
    g* gp = globrunqget(pp, 0);
    unlock(&sched.lock);
    *inheritTime = false;
    return gp;
  }
  if (releasep() != pp) throw_("findrunnable: wrong p");
  pidleput(pp);
  unlock(&sched.lock);
  // A poller that pushed to our inbox before seeing the P idle left the Gs
  // there (it rescues them only if it sees the P idle): take them back.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (pp->inbox.load(std::memory_order_relaxed)) {
    lock(&sched.lock);
    inboxToGlobal(pp);
    p* np = pidleget();
    unlock(&sched.lock);
    if (np) {
      acquirep(np);
      goto top;
    }
  }

  if (mp->spinning) {
    // Drop the spinning count first, then look again: either a submitter
    // sees nmspinning == 0 and wakes an M, or we see its work here.
    mp->spinning = false;
    if (sched.nmspinning.fetch_sub(1, std::memory_order_seq_cst) - 1 < 0) {
      throw_("findrunnable: negative nmspinning");
    }
    if (p* np = checkRunqsNoP()) {
      acquirep(np);
      mp->spinning = true;
      sched.nmspinning.fetch_add(1, std::memory_order_relaxed);
      goto top;
    }
  }
  // Timers armed while we were giving up the P count too.
  if (int64_t w = timeSleepUntil(); w != 0 && (pollUntil == 0 || w < pollUntil)) pollUntil = w;
  if (g* gp; pollBlocking(mp, pollUntil, &gp)) {
    if (gp) {
      *inheritTime = false;
      return gp;
    }
    goto top;
  }
  stopm();
  goto top;
}

// Runs the function the G that just switched out asked for. mcallfn is
// non-null exactly while a G is between mcall and its function's end (the
// preemption handler relies on that).
g* runMcallFn(m* mp) {
  g* (*fn)(g*, m*) = mp->mcallfn;
  g* gp = fn(mp->curg, mp);
  mp->mcallfn = nullptr;
  return gp;
}

// GODEBUG=migrateonpark=1 (default in sanitizer builds): hand our P to
// another M and go idle, so the next goroutines resume on another thread.
// Tests then catch state wrongly kept in thread-locals across a park.
void migrateP(m* mp) {
  // A spinning M (woken by startm while its G sat in exitsyscall0) must look
  // for work first: findRunnable owns the spinning count.
  if (mp->spinning || mp->pp->status.load(std::memory_order_relaxed) != Prunning || sched.gcwaiting.load()) {
    return;
  }
  startm(releasep(), false);
  stopm();
}

// The g0 loop. Never returns.
[[noreturn]] void schedule() {
  m* mp = getm();
  for (;;) {
    if (mp->locks) throw_("schedule: holding locks");
    if (mp->lockedg) {
      stoplockedm();
      g* gp = mp->lockedg;
      // Our locked G was made runnable and its P handed to us.
      execute(mp, gp, false);
    } else {
      bool inheritTime = false;
      g* gp = findRunnable(&inheritTime);
      if (mp->spinning) resetspinning();
      if (gp->lockedm && gp->lockedm != mp) {
        startlockedm(gp);
        continue;
      }
      execute(mp, gp, inheritTime);
    }
    // Back on g0: the G switched out with mcall(fn).
    for (g* gp = runMcallFn(mp); gp; gp = runMcallFn(mp)) execute(mp, gp, true);
    if (debug.migrateonpark && !mp->lockedg && fastrandn(4) == 0) migrateP(mp);
  }
}

}  // namespace

namespace {

bool membarrierOn = false;  // set once in schedinit

// Channel locks release with a plain store while GOMAXPROCS is 1
// (lock_futex.hpp), so plainReleaseLocks follows gomaxprocs.
void setGomaxprocs(int32_t n) {
  gomaxprocs.store(n, std::memory_order_release);
  plainReleaseLocks.store(n == 1 && membarrierOn, std::memory_order_relaxed);
}

}  // namespace

namespace {

// ---- system calls ---------------------------------------------------------------------
//
// entersyscall leaves the P attached in Psyscall state with no M; if the
// call returns quickly, exitsyscall takes it back with one CAS. If it lasts
// longer than a sysmon tick, sysmon's retake CASes the P to idle and hands it
// off, and exitsyscall then looks for an idle P or queues its G and parks the
// M (mirrors proc.go's entersyscall, exitsyscall, exitsyscall0, retake).

// Takes back oldp, or any idle P.
bool exitsyscallfast(p* oldp) {
  if (oldp) {
    uint32_t expect = Psyscall;
    if (oldp->status.compare_exchange_strong(expect, Pidle, std::memory_order_acq_rel)) {
      traceSyscallKeptP(getg());
      acquirep(oldp);
      return true;
    }
  }
  if (sched.npidle.load(std::memory_order_relaxed) > 0 && !sched.gcwaiting.load(std::memory_order_acquire)) {
    lock(&sched.lock);
    p* pp = sched.gcwaiting.load(std::memory_order_relaxed) ? nullptr : pidleget();
    unlock(&sched.lock);
    if (pp) {
      acquirep(pp);
      return true;
    }
  }
  return false;
}

// No P for gp: queue it and park this M (g0).
g* exitsyscall0(g* gp, m* mp) {
  casgstatus(gp, Gsyscall, Grunnable);
  dropg(gp, mp);
  lock(&sched.lock);
  p* pp = sched.gcwaiting.load(std::memory_order_relaxed) ? nullptr : pidleget();
  if (!pp) globrunqput(gp);
  unlock(&sched.lock);
  if (pp) {
    acquirep(pp);
    return gp;
  }
  // A locked M waits in schedule() for whoever picks gp to hand it a P.
  if (!mp->lockedg) stopm();
  return nullptr;
}

struct sysmonSyscall {
  uint32_t tick = 0;  // p.syscalltick when sysmon last saw it change
  int64_t when = 0;
};
std::vector<sysmonSyscall>* sysmonSeen = new std::vector<sysmonSyscall>();  // sysmon only

// Hands off the Ps of Ms that have been in a system call for more than a
// sysmon tick (20 us to 10 ms), and those of Ms blocked outside one
// (retakeStray). Returns how many.
uint32_t retake(int64_t now) {
  constexpr int64_t kIdleSyscallGrace = 10 * 1000 * 1000;
  uint32_t n = 0;
  int32_t procs = gomaxprocs.load(std::memory_order_acquire);
  p** ps = allp;
  if (sysmonSeen->size() < size_t(procs)) sysmonSeen->resize(size_t(procs));
  for (int32_t i = 0; i < procs; i++) {
    p* pp = ps[i];
    uint32_t status = pp->status.load(std::memory_order_acquire);
    if (status == Prunning && retakeStray(pp, now)) n++;
    if (status != Psyscall) continue;
    sysmonSyscall& seen = (*sysmonSeen)[size_t(i)];
    uint32_t t = pp->syscalltick.load(std::memory_order_relaxed);
    if (seen.tick != t) {
      seen.tick = t;
      seen.when = now;
      continue;
    }
    // Nothing else to run and someone is already looking: leave the P with
    // its M a while longer (saves a wake-up on a short call).
    if (runqempty(pp) &&
        sched.nmspinning.load(std::memory_order_relaxed) + sched.npidle.load(std::memory_order_relaxed) > 0 &&
        seen.when + kIdleSyscallGrace > now) {
      continue;
    }
    uint32_t expect = Psyscall;
    int64_t blockedAt = traceBlockTime();
    if (pp->status.compare_exchange_strong(expect, Pidle, std::memory_order_acq_rel)) {
      traceGoSysBlock(pp, blockedAt);
      pp->syscalltick.fetch_add(1, std::memory_order_relaxed);
      n++;
      handoffp(pp);
    }
  }
  return n;
}

// sysmon's network poll: nobody polled for 10 ms (all Ps busy).
void sysmonNetpoll(int64_t now) {
  constexpr int64_t kPollGap = 10 * 1000 * 1000;
  int64_t last = netpollLastpoll.load(std::memory_order_relaxed);
  if (!netpollinited() || last == 0 || last + kPollGap > now) return;
  if (!netpollLastpoll.compare_exchange_strong(last, now)) return;
  gList list = netpoll(0);
  if (list.empty()) return;
  // The Gs are runnable before any M runs them: keep checkdead quiet.
  incidlelocked(-1);
  injectglist(&list);
  incidlelocked(1);
}

}  // namespace

void entersyscall() {
  RuntimeEntry entry;
  g* gp = getg();
  m* mp = gp->mp;
  if (mp->locks) throw_("entersyscall with runtime locks held");
  p* pp = mp->pp;
  traceGoSysCall(gp);
  casgstatus(gp, Grunning, Gsyscall);
  pp->mp = nullptr;
  mp->oldp = pp;
  mp->pp = nullptr;
  pp->status.store(Psyscall, std::memory_order_release);
  if (sched.gcwaiting.load(std::memory_order_acquire)) {
    // A stop-the-world is waiting for this P: stop it now.
    lock(&sched.lock);
    uint32_t expect = Psyscall;
    int64_t blockedAt = traceBlockTime();
    if (sched.stopwait > 0 && pp->status.compare_exchange_strong(expect, Pgcstop)) {
      traceGoSysBlock(pp, blockedAt);
      if (--sched.stopwait == 0) notewakeup(&sched.stopnote);
    }
    unlock(&sched.lock);
  }
}

void exitsyscall() {
  RuntimeEntry entry;
  g* gp = getg();
  m* mp = gp->mp;
  p* oldp = mp->oldp;
  mp->oldp = nullptr;
  if (exitsyscallfast(oldp)) {
    mp->pp->syscalltick.fetch_add(1, std::memory_order_relaxed);
    casgstatus(gp, Gsyscall, Grunning);
    traceGoSysExit(gp);
    return;
  }
  mcall(exitsyscall0);
  getm()->pp->syscalltick.fetch_add(1, std::memory_order_relaxed);
}

// ---- stop/start the world -----------------------------------------------------

namespace {
// Admits one stopper at a time (Go's worldsema): the collector, GOMAXPROCS,
// the tracer and goroutine dumps may all want the world stopped at once.
std::atomic<uint32_t> worldsema{1};
}  // namespace

void stopTheWorld(const char* reason) {
  (void)reason;
  RuntimeEntry entry;
  m* mp = getm();
  if (!mp || !mp->pp) throw_("stopTheWorld: not on a P");
  semacquire(&worldsema);
  mp = getm();  // parking may have moved us
  mp->locks++;  // no preemption of the stopper
  lock(&sched.lock);
  int32_t procs = gomaxprocs.load(std::memory_order_relaxed);
  sched.stopwait = procs;
  sched.gcwaiting.store(1, std::memory_order_release);
  preemptall();
  mp->pp->status.store(Pgcstop, std::memory_order_relaxed);
  sched.stopwait--;
  for (int32_t i = 0; i < procs; i++) {
    p* pp = allp[i];
    uint32_t s = Psyscall;
    int64_t blockedAt = traceBlockTime();
    if (pp->status.compare_exchange_strong(s, Pgcstop)) {
      traceGoSysBlock(pp, blockedAt);
      sched.stopwait--;
    }
  }
  while (p* pp = pidleget()) {
    pp->status.store(Pgcstop, std::memory_order_relaxed);
    sched.stopwait--;
  }
  bool wait = sched.stopwait > 0;
  unlock(&sched.lock);
  if (wait) {
    for (;;) {
      if (notetsleep(&sched.stopnote, 100 * 1000)) {
        noteclear(&sched.stopnote);
        break;
      }
      preemptall();
    }
  }
  if (sched.stopwait != 0) throw_("stopTheWorld: not stopped");
  mp->locks--;
}

void freezetheworld() {
  if (!runtimeStarted()) return;
  if (g* gp = getg()) gp->mp->locks++;  // the dying M itself is never preempted
  for (int i = 0; i < 5; i++) {
    // Nobody waits for the count: it only must never reach 0 (the crash
    // may hold sched.lock, so this is written without it, as Go does).
    sched.stopwait = INT32_MAX;
    sched.gcwaiting.store(1, std::memory_order_release);
    preemptall();
    usleep(1000);
  }
}

namespace {

// Changes the number of Ps to nprocs. World stopped, sched.lock held. Returns
// the list of Ps with local work (to be started).
p* newP(int32_t id, uint32_t status) {
  p* pp = new p();
  pp->id = id;
  pp->status.store(status, std::memory_order_relaxed);
  pp->mcache = allocmcache();
  return pp;
}

// A surplus P at procresize (world stopped): its Gs, free Gs, stack cache,
// mcache, timers, goroutine count and sudogs go to the global structures or
// to P 0, and it is dead (its record stays: late readers of allp).
void pdestroy(p* pp) {
  assertWorldStopped("pdestroy");
  bool dummy;
  inboxToGlobal(pp);
  while (g* gp = runqgetQueued(pp, &dummy)) globrunqput(gp);
  {
    lockGuard guard(&sched.gFreeLock);
    sched.gFree.pushN(pp->gFree, uint32_t(pp->gFreeCount));
    pp->gFreeCount = 0;
  }
  stackcacheRelease(pp);
  freemcache(pp->mcache);
  pp->mcache = nullptr;
  moveTimers(&allp[0]->timers, &pp->timers);
  goroutines.fetch_add(pp->ngoroutines.exchange(0), std::memory_order_relaxed);
  {
    lockGuard guard(&sched.sudoglock);
    while (pp->sudogcount > 0) {
      sudog* s = pp->sudogcache[--pp->sudogcount];
      s->next = sched.sudogcache;
      sched.sudogcache = s;
    }
  }
  pp->status.store(Pdead, std::memory_order_relaxed);
}

p* procresize(int32_t nprocs) {
  assertWorldStopped("procresize");
  assertLockHeld(&sched.lock, "procresize");
  int32_t old = gomaxprocs.load(std::memory_order_relaxed);
  if (old < 0 || nprocs <= 0) throw_("procresize: invalid arg");
  if (nprocs > old) {
    auto** np = new p*[nprocs];
    for (int32_t i = 0; i < old; i++) np[i] = allp[i];
    for (int32_t i = old; i < nprocs; i++) np[i] = newP(i, Pgcstop);
    // The old array stays allocated: a thief that loaded it before the
    // stop may still be reading it.
    retiredAllp->push_back(allp);
    allp = np;
  }
  m* mp = getm();
  for (int32_t i = nprocs; i < old; i++) pdestroy(allp[i]);
  setGomaxprocs(nprocs);
  if (mp->pp && mp->pp->id < nprocs) {
    mp->pp->status.store(Prunning, std::memory_order_relaxed);
  } else {
    if (mp->pp) {
      // To the trace, the caller yields the P that goes and resumes on P 0.
      traceGoSched();
      traceProcStop(mp->pp);
      mp->pp->mp = nullptr;
      mp->pp = nullptr;
    }
    allp[0]->mp = nullptr;
    allp[0]->status.store(Pidle, std::memory_order_relaxed);
    acquirep(allp[0]);
    if (mp->curg) traceGoStart(mp->curg);
  }
  p* runnablePs = nullptr;
  for (int32_t i = nprocs - 1; i >= 0; i--) {
    p* pp = allp[i];
    if (mp->pp == pp) continue;
    pp->status.store(Pidle, std::memory_order_relaxed);
    pp->mp = nullptr;
    if (runqempty(pp)) {
      pidleput(pp);
    } else {
      pp->link = runnablePs;
      runnablePs = pp;
    }
  }
  return runnablePs;
}

}  // namespace

void startTheWorld() {
  RuntimeEntry entry;
  m* mp = getm();
  mp->locks++;
  lock(&sched.lock);
  int32_t procs = newprocs ? newprocs : gomaxprocs.load(std::memory_order_relaxed);
  newprocs = 0;
  p* runnablePs = procresize(procs);
  sched.gcwaiting.store(0, std::memory_order_release);
  unlock(&sched.lock);
  traceGomaxprocs(procs);
  while (p* pp = runnablePs) {
    runnablePs = pp->link;
    pp->link = nullptr;
    startm(pp, false);
  }
  wakep();
  mp->locks--;
  semrelease(&worldsema);
}

// ---- sudog cache -------------------------------------------------------------------

sudog* acquireSudog() {
  assertInRuntime();
  m* mp = getm();
  mp->locks++;  // no P change while we use its cache
  p* pp = mp->pp;
  if (pp->sudogcount == 0) {
    lock(&sched.sudoglock);
    while (pp->sudogcount < 64 && sched.sudogcache) {
      sudog* s = sched.sudogcache;
      sched.sudogcache = s->next;
      s->next = nullptr;
      pp->sudogcache[pp->sudogcount++] = s;
    }
    unlock(&sched.sudoglock);
    if (pp->sudogcount == 0) pp->sudogcache[pp->sudogcount++] = new sudog();
  }
  sudog* s = pp->sudogcache[--pp->sudogcount];
  mp->locks--;
  return s;
}

void releaseSudog(sudog* s) {
  if (s->elem || s->isSelect || s->next || s->prev || s->waitlink || s->c) {
    throw_("runtime: sudog with non-nil field");
  }
  s->gp = nullptr;
  s->success = false;
  s->ticket = 0;
  s->parent = nullptr;
  s->waittail = nullptr;
  assertInRuntime();
  m* mp = getm();
  mp->locks++;
  p* pp = mp->pp;
  if (pp->sudogcount == int32_t(std::size(pp->sudogcache))) {
    // Move half to the central cache.
    lock(&sched.sudoglock);
    while (pp->sudogcount > int32_t(std::size(pp->sudogcache)) / 2) {
      sudog* t = pp->sudogcache[--pp->sudogcount];
      t->next = sched.sudogcache;
      sched.sudogcache = t;
    }
    unlock(&sched.sudoglock);
  }
  pp->sudogcache[pp->sudogcount++] = s;
  mp->locks--;
}

// ---- counters and queries ------------------------------------------------------------

int64_t gcount() {
  int64_t n = goroutines.load(std::memory_order_relaxed);
  int32_t procs = gomaxprocs.load(std::memory_order_acquire);
  p** ps = allp;
  for (int32_t i = 0; i < procs; i++) n += ps[i]->ngoroutines.load(std::memory_order_relaxed);
  return n;
}

g* allgsHead() { return allgs.load(std::memory_order_acquire); }
m* allmHead() {
  m* head = allm.load(std::memory_order_acquire);
  san::acquire(&allm);
  return head;
}
int64_t mcount() {
  lockGuard guard(&sched.lock);
  return sched.mnext - sched.nmfreed;
}
int64_t runtimeNanotimeStart() { return runtimeInitTime; }

// ---- deadlock detection --------------------------------------------------------------

namespace {

// Called with sched.lock held whenever an M goes idle. If no M is running
// Go code and no goroutine can become runnable, the program is deadlocked.
void checkdead() {
  assertLockHeld(&sched.lock, "checkdead");
  if (!mainMode || !mainStarted.load(std::memory_order_relaxed)) return;
  int64_t run = sched.mnext - sched.nmfreed - sched.nmidle - sched.nmidlelocked;
  // Once os/signal watches signals, Go's signal_recv goroutine sits in a
  // syscall for good, an M checkdead counts as running: a signal can still
  // wake a goroutine, so nothing is deadlocked.
  if (run > 0 || signalsWatched()) return;
  if (run < 0) {
    printstr("runtime: checkdead: nmidle=");
    printint(sched.nmidle);
    printstr(" nmidlelocked=");
    printint(sched.nmidlelocked);
    printstr(" mcount=");
    printint(sched.mnext);
    printstr("\n");
    throw_("checkdead: inconsistent counts");
  }
  int64_t grunning = 0;
  for (g* gp = allgsHead(); gp; gp = gp->alllink) {
    if (gp->goid == 0) continue;
    switch (gp->atomicstatus.load(std::memory_order_relaxed)) {
      case Gwaiting:
        grunning++;
        break;
      case Grunnable:
      case Grunning:
      case Gsyscall:
        printstr("runtime: checkdead: find g ");
        printint(gp->goid);
        printstr(" in status ");
        printint(gp->atomicstatus.load());
        printstr("\n");
        throw_("checkdead: runnable g");
    }
  }
  if (grunning == 0) {
    unlock(&sched.lock);
    fatal("no goroutines (main called runtime.Goexit) - deadlock!");
  }
  // A pending timer will make a goroutine runnable (Go checks the same).
  for (int32_t i = 0; i < gomaxprocs.load(std::memory_order_relaxed); i++) {
    if (allp[i]->timers.minWhen.load(std::memory_order_acquire) != 0) return;
  }
  unlock(&sched.lock);
  fatal("all goroutines are asleep - deadlock!");
}

}  // namespace

// ---- start-up ----------------------------------------------------------------------

bool runtimeStarted() { return started.load(std::memory_order_acquire); }

void schedinit() {
  lockGuard guard(&startLock);
  if (started.load(std::memory_order_relaxed)) return;
  runtimeInitTime = nanotime();
  cputicksToNanos(0);  // starts the tick-rate calibration
  osinit();
  parsedebugvars();
  gcinit();
  installTerminateHandler();
  initSignals();
  initPreemption();
  membarrierOn = membarrierRegister();
  initStrayHandoff(membarrierOn);
  int32_t procs = ncpu;
  if (int32_t n = gogetenvGOMAXPROCS(); n > 0) procs = n;
  {
    lockGuard sl(&sched.lock);
    auto** np = new p*[procs];
    for (int32_t i = 0; i < procs; i++) np[i] = newP(i, Pidle);
    allp = np;
    setGomaxprocs(procs);
    for (int32_t i = procs - 1; i >= 0; i--) pidleput(allp[i]);
  }
  startSysmon();
  started.store(true, std::memory_order_release);
}

namespace {

// runtime.main for gort::Main: goroutine 1.
struct MainArgs {
  void (*user_main)();
};
MainArgs mainArgs;

void dolockOSThread();
void dounlockOSThread();

void runtimeMain() {
  mainStarted.store(true, std::memory_order_relaxed);
  // As Go's runtime.main: package inits run locked to the main thread (some
  // C libraries care), with the runtime's own count (lockedInt), so an init
  // that calls runtime::LockOSThread keeps main on the main thread.
  getg()->mp->lockedInt++;
  dolockOSThread();
  doInits();
  getg()->mp->lockedInt--;
  dounlockOSThread();
  mainArgs.user_main();
  leakCheckAtExit();
  exitProcess(0);
}

}  // namespace

[[noreturn]] void mainStart(void (*user_main)()) {
  mainMode = true;
  mainArgs.user_main = user_main;
  // The calling thread becomes m0 with g0_m0 on its own stack.
  m0.g0 = &g0_m0;
  {
    lockGuard guard(&sched.lock);
    mcommoninit(&m0, sched.mnext++);
  }
  setg(&g0_m0);
  minit(&m0);
  schedinit();
  {
    lockGuard guard(&sched.lock);
    p* pp = pidleget();
    acquirep(pp);
  }
  go(runtimeMain);
  mainStarted.store(true, std::memory_order_relaxed);
  schedule();
}

// Embedded mode: run fn(arg) on a goroutine, blocking this thread.
void runBlocking(void (*fn)(void*), void* arg) {
  if (getg()) throw_("gort::Run called from a goroutine or runtime thread");
  ensureStarted();
  mainStarted.store(true, std::memory_order_relaxed);
  note done;
  go([fn, arg, &done] {
    struct Signal {
      note* n;
      ~Signal() { notewakeup(n); }
    } signal{&done};
    fn(arg);
  });
  notesleep(&done);
}

// ---- sysmon and schedtrace ---------------------------------------------------------

namespace {

// schedtrace prints Go's "SCHED" lines (GODEBUG=schedtrace=N, scheddetail=1),
// timed from its first call as Go's are. Called by sysmon only.
void schedtrace(bool detailed) {
  static int64_t starttime = 0;
  int64_t now = nanotime();
  if (starttime == 0) starttime = now;
  std::string out;
  auto add = [&out](auto... parts) { ((out += toStr(parts)), ...); };
  lock(&sched.lock);
  int32_t procs = gomaxprocs.load(std::memory_order_relaxed);
  add("SCHED ", (now - starttime) / 1000000, "ms: gomaxprocs=", procs, " idleprocs=",
      sched.npidle.load(std::memory_order_relaxed), " threads=", sched.mnext - sched.nmfreed,
      " spinningthreads=", sched.nmspinning.load(std::memory_order_relaxed), " idlethreads=", sched.nmidle,
      " runqueue=", sched.runqsize.load(std::memory_order_relaxed));
  if (detailed) {
    add(" gcwaiting=", sched.gcwaiting.load(std::memory_order_relaxed), " nmidlelocked=", sched.nmidlelocked,
        " stopwait=", sched.stopwait, " sysmonwait=", sched.sysmonwait.load(std::memory_order_relaxed), "\n");
  }
  for (int32_t i = 0; i < procs; i++) {
    p* pp = allp[i];
    m* mp = pp->mp;
    uint32_t h = pp->runqhead.load(std::memory_order_relaxed);
    uint32_t t = pp->runqtail.load(std::memory_order_relaxed);
    if (detailed) {
      add("  P", i, ": status=", pp->status.load(std::memory_order_relaxed), " schedtick=", pp->schedtick,
          " syscalltick=", pp->syscalltick.load(std::memory_order_relaxed), " m=", mp ? mp->id : -1,
          " runqsize=", t - h, " gfreecnt=", pp->gFreeCount, " timerslen=", timersLen(&pp->timers), "\n");
    } else {
      add(i == 0 ? " [" : " ", t - h, i == procs - 1 ? "]\n" : "");
    }
  }
  if (detailed) {
    for (m* mp = allmHead(); mp; mp = mp->alllink) {
      add("  M", mp->id, ": p=", mp->pp ? mp->pp->id : -1, " curg=", mp->curg ? mp->curg->goid : -1,
          " mallocing=0 throwing=0 preemptoff= locks=", mp->locks, " dying=0 spinning=",
          mp->spinning ? "true" : "false", " blocked=", mp->blocked ? "true" : "false",
          " lockedg=", mp->lockedg ? mp->lockedg->goid : -1, "\n");
    }
    // allgs is newest first; Go lists the Gs in creation order.
    std::vector<g*> gs;
    for (g* gp = allgsHead(); gp; gp = gp->alllink) {
      if (gp->goid != 0) gs.push_back(gp);
    }
    for (auto it = gs.rbegin(); it != gs.rend(); ++it) {
      g* gp = *it;
      add("  G", gp->goid, ": status=", gp->atomicstatus.load(std::memory_order_relaxed), "(",
          waitReasonString(gp->waitreason), ") m=", gp->mp ? gp->mp->id : -1,
          " lockedm=", gp->lockedm ? gp->lockedm->id : -1, "\n");
    }
  }
  unlock(&sched.lock);
  printstr(out.c_str());
}

void* sysmon(void*) {
  constexpr int64_t kTick = 10 * 1000 * 1000;  // 10 ms
  constexpr int64_t kStackColdAge = 5LL * 1000 * 1000 * 1000;
  int64_t lastTrace = 0;  // Go's first SCHED line comes at once ("SCHED 0ms")
  int64_t lastScavenge = nanotime();
  int64_t lastHeapTick = lastScavenge;
  // Go's back-off: every 20 us while there is work to retake or poll,
  // doubling after 1 ms of idleness up to kTick.
  int64_t delayUs = 20;
  int32_t idle = 0;
  for (;;) {
    if (idle == 0) {
      delayUs = 20;
    } else if (idle > 50) {
      delayUs = std::min<int64_t>(delayUs * 2, kTick / 1000);
    }
    usleep(useconds_t(delayUs));
    sysmonTicks.store(cputicks(), std::memory_order_relaxed);
    int64_t now = nanotime();
    sysmonNetpoll(now);
    // Only retaking counts as work, as in Go: a program that keeps making
    // blocking calls keeps sysmon at 20 us; otherwise it backs off.
    idle = retake(now) != 0 ? 0 : idle + 1;
    if (debug.schedtrace > 0 && now - lastTrace >= int64_t(debug.schedtrace) * 1000000) {
      lastTrace = now;
      schedtrace(debug.scheddetail > 0);
    }
    preemptLongRunning(now);
    // The heap's background work: 1% of a CPU each for the sweeper and
    // the scavenger, while they have any.
    bgsweepTick(now - lastHeapTick);
    scavengeTick(now - lastHeapTick);
    lastHeapTick = now;
    if (now - lastScavenge >= kStackColdAge) {
      lastScavenge = now;
      stackScavenge(now, kStackColdAge);
    }
  }
}

}  // namespace

void startSysmon() {
  pthread_t tid;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  if (pthread_create(&tid, &attr, sysmon, nullptr) != 0) throw_("runtime: cannot start sysmon");
  pthread_attr_destroy(&attr);
}

// ---- LockOSThread ------------------------------------------------------------------

namespace {
void dolockOSThread() {
  g* gp = getg();
  gp->mp->lockedg = gp;
  gp->lockedm = gp->mp;
}
void dounlockOSThread() {
  g* gp = getg();
  m* mp = gp->mp;
  if (mp->lockedInt != 0 || mp->lockedExt != 0) return;
  mp->lockedg = nullptr;
  gp->lockedm = nullptr;
}
g* requireGoroutine(const char* what) {
  g* gp = getg();
  if (!gp || gp == gp->mp->g0) {
    printstr(what);
    printstr(" called outside a goroutine\n");
    throw_("not on a goroutine");
  }
  return gp;
}
}  // namespace

void waitOnGoroutine(void (*fn)(void*), void* arg) {
  gort::Run([fn, arg] { fn(arg); });
}

int setMaxThreads(int n) {
  lockGuard guard(&sched.lock);
  int old = sched.maxmcount;
  sched.maxmcount = n < 1 ? 1 : n;
  checkmcount();
  return old;
}

}  // namespace gort::internal

// ---- package runtime ---------------------------------------------------------------

namespace gort::runtime {

using namespace gort::internal;

void Gosched() {
  requireGoroutine("runtime.Gosched");
  RuntimeEntry entry;
  traceGoSched();
  mcall(gosched_m);
}

void Goexit() {
  requireGoroutine("runtime.Goexit");
  throw GoexitUnwind{};
}

void LockOSThread() {
  m* mp = requireGoroutine("runtime.LockOSThread")->mp;
  if (mp->lockedExt + 1 == 0) throw_("LockOSThread nesting overflow");
  mp->lockedExt++;
  dolockOSThread();
}

void UnlockOSThread() {
  g* gp = getg();
  if (!gp || gp == gp->mp->g0) return;
  m* mp = gp->mp;
  if (mp->lockedExt == 0) return;
  mp->lockedExt--;
  dounlockOSThread();
}

int64_t GoID() {
  g* gp = getg();
  if (!gp || gp == gp->mp->g0) return 0;
  return gp->goid;
}

}  // namespace gort::runtime

// ---- the test seam's run-queue entries (export_test.hpp) ----------------------------

namespace gort::internal::exported {

p* NewTestP() { return new p(); }
void FreeTestP(p* pp) { delete pp; }
void RunqPut(p* pp, g* gp, bool next) { runqput(pp, gp, next); }
g* RunqGet(p* pp, bool* inheritTime) { return runqgetQueued(pp, inheritTime); }
g* RunqSteal(p* pp, p* victim, bool stealRunNext) { return runqsteal(pp, victim, stealRunNext); }
uint32_t RunqLen(p* pp) {
  return pp->runqtail.load(std::memory_order_acquire) - pp->runqhead.load(std::memory_order_acquire);
}
bool RandomizedScheduler() { return randomizeScheduler(); }

std::vector<g*> GlobalRunqTakeAll() {
  assertWorldStopped("GlobalRunqTakeAll");
  lockGuard guard(&sched.lock);
  std::vector<g*> gs;
  while (g* gp = sched.runq.pop()) gs.push_back(gp);
  sched.runqsize.store(0, std::memory_order_relaxed);
  return gs;
}

void GlobalRunqPutAll(const std::vector<g*>& gs) {
  assertWorldStopped("GlobalRunqPutAll");
  lockGuard guard(&sched.lock);
  globrunqputbatch(gs.data(), uint32_t(gs.size()));
}

}  // namespace gort::internal::exported
