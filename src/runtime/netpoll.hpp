// netpoll.hpp: the network poller (mirrors runtime/netpoll.go).
//
// A goroutine waiting for I/O parks on a pollDesc, never blocking its M.
// Each descriptor is registered once, edge-triggered, for read and write;
// the poller (an M in findRunnable with nothing to do, or sysmon, or any M
// polling without blocking) turns readiness events into runnable goroutines.
//
// Per mode (read, write) a pollDesc holds a semaphore-like word rg/wg:
//   pdNil   no event, nobody waiting
//   pdReady I/O readiness was signalled and not consumed yet
//   pdWait  a goroutine is about to park (set before gopark)
//   G*      the parked goroutine
// Transitions are CASes; the waiter goes nil->wait->G (commit, on g0 after
// it is marked waiting) and back to nil when it resumes; the notifier moves
// any state to ready (I/O) or nil (timeout, close) and readies a G it finds.
//
// The platform back end (netpoll_epoll.cpp) provides netpollinit, open,
// close, netpoll(delay) and netpollBreak; this file is portable.
//
// Locks: pd.lock > timer locks (deadline timers are armed under pd.lock;
// their functions take pd.lock with no timer lock held).
#pragma once

#include <atomic>
#include <cstdint>

#include "runtime/lock_futex.hpp"
#include "runtime/time.hpp"

namespace gort::internal {

struct g;

// Goroutines made runnable by the poller, linked through g.schedlink.
struct gList {
  g* head = nullptr;
  g* tail = nullptr;
  int32_t n = 0;
  void push(g* gp);
  g* pop();
  bool empty() const { return head == nullptr; }
};

// Results of the poll operations (Go's pollNoError ... pollErrNotPollable).
enum pollErr : int { pollNoError = 0, pollErrClosing = 1, pollErrTimeout = 2, pollErrNotPollable = 3 };

// pollDesc.home when it names no P: not yet homed, or no socket (never
// checked again; netpoll.cpp).
constexpr int32_t kAnyHome = -1, kNoHome = -2;

struct pollDesc {
  pollDesc* link = nullptr;          // free list (pollcache.lock)
  int fd = -1;
  std::atomic<uintptr_t> rg{0};      // see above
  std::atomic<uintptr_t> wg{0};
  std::atomic<uint32_t> info{0};     // pollInfo bits, readable without lock
  std::atomic<int32_t> home{kAnyHome};  // P to queue its readied Gs on (netpoll.cpp)
  std::atomic<uint32_t> reads{0};    // read waits, to space out the home checks
  mutex lock{LockRank::pollDesc};    // guards the fields below
  bool closing = false;
  uintptr_t rseq = 0, wseq = 0;      // bumped on deadline change and reuse
  int64_t rd = 0, wd = 0;            // deadlines (nanotime); 0 none, -1 expired
  timer rt, wt;                      // deadline timers
};

// Runtime side of internal/poll (poll_runtime_poll*).
pollDesc* pollOpen(int fd, int* errnoOut);  // registers fd; null on failure
void pollClose(pollDesc* pd);               // after pollUnblock; deregisters
int pollReset(pollDesc* pd, int mode);      // before an operation: clear readiness
int pollWait(pollDesc* pd, int mode);       // park until ready; pollErr
// Deadline d is absolute (nanotime), 0 for none, < 0 already passed.
// mode is 'r', 'w' or 'r'+'w'.
void pollSetDeadline(pollDesc* pd, int64_t d, int mode);
void pollUnblock(pollDesc* pd);  // Close: wake every waiter with pollErrClosing

// Scheduler side.
bool netpollinited();
void netpollGenericInit();
bool netpollAnyWaiters();
// Polls for ready I/O; delay < 0 blocks, 0 does not, > 0 waits up to delay
// ns (or until netpollBreak). Runs on a g0 or sysmon.
gList netpoll(int64_t delay);
void netpollBreak();
// Called by netpoll's back end for each ready descriptor; mode 'r', 'w' or both.
void netpollready(gList* list, pollDesc* pd, int mode);
void netpollSetEventErr(pollDesc* pd);

// Monotonic time of the last poll; 0 while an M blocks in netpoll (Go's
// sched.lastpoll), and the deadline it blocks until (sched.pollUntil).
extern std::atomic<int64_t> netpollLastpoll;
extern std::atomic<int64_t> netpollPollUntil;

// A timer now expires at when: wake the poller if it sleeps past it, or
// wake a P (proc.cpp).
void wakeNetPoller(int64_t when);
// The P whose M last scheduled on CPU cpu, the current one first (proc.cpp);
// -1 if none, or if GOMAXPROCS is 1.
int32_t pollHomeOf(int cpu);

// Platform back end (netpoll_epoll.cpp).
void netpollinit();
int netpollopen(int fd, pollDesc* pd);  // 0 or errno
void netpollclose(int fd);
bool netpollIsPollDescriptor(int fd);

}  // namespace gort::internal
