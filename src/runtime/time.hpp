// time.hpp: runtime timers (mirrors runtime/time.go after proposal 56295).
//
// Every P owns a 4-ary min-heap of timers ordered by `when`; a timer lives in
// at most one heap. The scheduler of the owning P runs due timers at the top
// of findRunnable, idle Ps steal due timers from busy ones, and the M that
// goes idle last sleeps in the netpoller until the earliest deadline of all
// heaps (proc.cpp, findRunnable). Timer functions run on a g0 with a P held:
// they must not block (they ready a goroutine, start one, or do a
// non-blocking channel send).
//
// Locks. t.mu guards a timer's fields; ts.mu guards a heap and the
// heap-placement fields of the timers in it (t.ts, t.idx). Order
// (lockrank.cpp): netpoll's pd.lock, then t.mu, then ts.mu; and t.mu, then
// t.runLock, then hchan.lock. The
// runner finds timers through the heap, i.e. holding ts.mu, so it takes t.mu
// with trylock and backs off if that fails; everyone else takes t.mu first.
//
// Lifetime. Go's timers are garbage collected; ours are kept alive by
// whoever embeds them. A timer on a goroutine stack (Sleep) or in a never
// freed object (pollDesc) needs nothing more: the runner touches a timer
// only while holding t.mu. A heap object that may be dropped while armed
// (package time's Timer, Ticker, AfterFunc) sets ref/unref: an armed timer
// holds one reference on arg, handed to the runner when a one-shot timer
// fires (released after its function returns) or to timerStop.
//
// Sync timers (channel timers) run their function under t.runLock; stop
// and modify take runLock after taking the timer off its heap and then
// drain the channel, so once they return no send of an earlier arming is
// in flight or left in the buffer: Go 1.23's guarantee that no stale value
// is received after Stop or Reset returns.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "runtime/lock_futex.hpp"

namespace gort::internal {

struct timerHeap;

// f(arg, seq, delay): delay is how late the timer ran (ns). seq is the value
// given when the timer was armed, so f can discard stale firings of an
// object that was re-armed (netpoll deadlines).
using TimerFunc = void (*)(void* arg, uintptr_t seq, int64_t delay);

struct timer {
  mutex mu{LockRank::timer};
  mutex runLock{LockRank::timerRun};            // held while a sync timer's f runs
  int64_t when = 0;         // mu; 0: not armed
  int64_t period = 0;       // mu; > 0: periodic (tickers)
  TimerFunc f = nullptr;    // mu
  void* arg = nullptr;      // mu
  uintptr_t seq = 0;        // mu
  bool isSync = false;      // set once before first use
  // Sync timers only: empties the channel f sends to, called by stop and
  // modify (with t.mu held, no run in flight) so a value sent for an
  // earlier arming is never received after they return.
  void (*drain)(void* arg) = nullptr;
  void (*ref)(void* arg) = nullptr;    // optional, see Lifetime above
  void (*unref)(void* arg) = nullptr;
  timerHeap* ts = nullptr;  // mu and ts->mu: the heap holding it
  int32_t idx = -1;         // ts->mu: position in ts->heap
};

// A heap entry caches `when` so sifting does not touch the timers.
struct timerWhen {
  timer* t;
  int64_t when;
};

// One P's timers (Go: p.timers).
struct timerHeap {
  mutex mu{LockRank::timers};
  std::vector<timerWhen> heap;          // mu
  std::atomic<int64_t> minWhen{0};      // heap[0].when or 0; read without mu
};

// Arms t to run f(arg, seq) at when (and every period ns after, if > 0),
// replacing any earlier arming. Returns whether it was armed before.
bool timerModify(timer* t, int64_t when, int64_t period, TimerFunc f, void* arg, uintptr_t seq);
// Disarms t. Returns whether it was armed (i.e. this call stopped it).
bool timerStop(timer* t);

// Runs ts's due timers at now (0: read the clock). Returns the next `when`
// of ts (0: none) and sets *ran if any timer ran. Called on a g0 holding a P
// (not necessarily ts's owner). *now is updated if it was read.
int64_t checkTimers(timerHeap* ts, int64_t* now, bool* ran);
// Earliest armed `when` over all Ps (0: none); lock-free.
int64_t timeSleepUntil();
// Moves every timer of from into to (procresize, world stopped).
void moveTimers(timerHeap* to, timerHeap* from);
// Count of armed timers (schedtrace's timerslen).
int32_t timersLen(timerHeap* ts);
// Parks the calling goroutine for ns nanoseconds (time.Sleep).
void timeSleep(int64_t ns);

}  // namespace gort::internal
