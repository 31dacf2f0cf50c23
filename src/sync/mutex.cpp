// mutex.cpp: the contended paths of sync::Mutex (mirrors sync/mutex.go; the
// fast paths are inline in gort/sync.hpp).
//
// state_ = waiters << kWaiterShift | kStarving | kWoken | kLocked.
//
// Normal mode. A goroutine that finds the mutex locked may spin a few
// times (syncCanSpin: multicore, GOMAXPROCS > 1, another P running, nothing
// queued on ours) and, while spinning, sets kWoken so Unlock does not wake a
// sleeper that would only lose to it. Then it counts itself a waiter and
// parks on sema_. Unlock wakes one waiter (clearing a waiter and setting
// kWoken) only if no one is already awake and the mutex is still free and
// not starving. The woken goroutine competes again; if it loses it queues
// at the front (lifo) so it keeps its place.
//
// Starvation mode. A waiter that has waited more than 1 ms sets kStarving
// when it next fails. From then on Unlock hands the mutex (not just a
// wake-up) to the front waiter (semrelease with handoff), which owns it on
// waking without touching kLocked (Unlock left it clear; newcomers neither
// take the lock nor spin: they queue). The owner clears kStarving when it
// waited under 1 ms or is the last waiter, since staying in starvation mode
// with no one waiting would force the next goroutines to queue needlessly.
//
// Invariants: kWoken is set by at most one goroutine (a spinner or the
// woken waiter), which clears it on its next successful CAS; in starvation
// mode a handed-over mutex has kLocked and kWoken clear and a non-zero
// waiter count until the receiver fixes the state.
#include "gort/sync.hpp"

#include "runtime/os_linux.hpp"
#include "runtime/panic.hpp"
#include "runtime/sema.hpp"

namespace gort::sync {

namespace {
constexpr int64_t kStarvationThresholdNs = 1'000'000;
}

void Mutex::lockSlow() {
  int64_t waitStart = 0;
  bool starving = false;
  bool awoke = false;
  int iter = 0;
  int32_t old = state_.load(std::memory_order_relaxed);
  for (;;) {
    // Spin only while locked in normal mode: in starvation mode ownership
    // is handed to the waiters, so spinning cannot win.
    if ((old & (kLocked | kStarving)) == kLocked && internal::syncCanSpin(iter)) {
      // Set kWoken so Unlock does not wake another goroutine.
      if (!awoke && !(old & kWoken) && (old >> kWaiterShift) != 0 &&
          state_.compare_exchange_strong(old, old | kWoken, std::memory_order_relaxed)) {
        awoke = true;
      }
      internal::syncDoSpin();
      iter++;
      old = state_.load(std::memory_order_relaxed);
      continue;
    }
    int32_t next = old;
    // A starving mutex belongs to the waiters: do not take it, queue.
    if (!(old & kStarving)) next |= kLocked;
    if (old & (kLocked | kStarving)) next += 1 << kWaiterShift;
    // Switch to starvation mode, but only if the mutex is still locked
    // (Unlock expects waiters in starvation mode).
    if (starving && (old & kLocked)) next |= kStarving;
    if (awoke) {
      // We are the woken goroutine: reset the flag either way.
      if (!(next & kWoken)) internal::throw_("sync: inconsistent mutex state");
      next &= ~kWoken;
    }
    if (!state_.compare_exchange_strong(old, next, std::memory_order_acquire, std::memory_order_relaxed)) {
      continue;  // old was reloaded by the failed CAS
    }
    if (!(old & (kLocked | kStarving))) break;  // took it with the CAS

    // A goroutine that already waited queues at the front.
    const bool lifo = waitStart != 0;
    if (waitStart == 0) waitStart = internal::nanotime();
    internal::semacquire1(&sema_, lifo, internal::waitReason::semacquire, true);
    starving = starving || internal::nanotime() - waitStart > kStarvationThresholdNs;
    old = state_.load(std::memory_order_relaxed);
    if (old & kStarving) {
      // Handed to us: the state is inconsistent (kLocked clear, we still
      // counted as a waiter) until we fix it.
      if ((old & (kLocked | kWoken)) || (old >> kWaiterShift) == 0) {
        internal::throw_("sync: inconsistent mutex state");
      }
      int32_t delta = kLocked - (1 << kWaiterShift);
      if (!starving || (old >> kWaiterShift) == 1) delta -= kStarving;
      state_.fetch_add(delta, std::memory_order_acquire);
      break;
    }
    awoke = true;
    iter = 0;
  }
}

void Mutex::unlockSlow(int32_t now) {
  if (!((now + kLocked) & kLocked)) internal::fatal("sync: unlock of unlocked mutex");
  if (now & kStarving) {
    // Hand the mutex to the front waiter and yield our time slice to it.
    // kLocked stays clear; the waiter sets it. A newcomer still sees
    // kStarving and does not take the mutex.
    internal::semrelease1(&sema_, true);
    return;
  }
  int32_t old = now;
  for (;;) {
    // Nobody to wake, or someone already woken/spinning, or the mutex was
    // taken meanwhile (that goroutine's Unlock will wake), or it turned to
    // starvation mode: nothing to do.
    if ((old >> kWaiterShift) == 0 || (old & (kLocked | kWoken | kStarving))) return;
    // Take one waiter off the count and wake it.
    int32_t next = (old - (1 << kWaiterShift)) | kWoken;
    if (state_.compare_exchange_strong(old, next, std::memory_order_relaxed)) {
      internal::semrelease1(&sema_, false);
      return;
    }
  }
}

}  // namespace gort::sync
